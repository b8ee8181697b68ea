//! TLS vocabulary shared by profiles, backends and the probe: protocol
//! versions and the cipher suite registry. Nothing here does I/O.

pub mod group;
pub mod suite;
pub mod version;

pub use group::Group;
pub use suite::CipherSuite;
pub use version::Protocol;
