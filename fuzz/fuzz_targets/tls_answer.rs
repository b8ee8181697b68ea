//! A hostile server's answer to a ClientHello (TLS records, handshake
//! messages, alerts, SSLv2): errors are fine, panics and hangs are not.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    mailtls::probe::fuzzing::tls_answer(bytes);
    mailtls::probe::fuzzing::sslv2_answer(bytes);
});
