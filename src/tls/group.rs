//! Named groups (elliptic curves, finite-field groups and post-quantum
//! hybrids) for key exchange: the IANA TLS Supported Groups registry, with
//! the names servers' configs use.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A named group code point as it travels on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Group(pub u16);

/// One row: code point, the name reports use, and the names configs use.
struct GroupInfo {
    group: Group,
    name: &'static str,
    aliases: &'static [&'static str],
}

static GROUPS: &[GroupInfo] = &[
    GroupInfo {
        group: Group(0x0001),
        name: "sect163k1",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0002),
        name: "sect163r1",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0003),
        name: "sect163r2",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0004),
        name: "sect193r1",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0005),
        name: "sect193r2",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0006),
        name: "sect233k1",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0007),
        name: "sect233r1",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0008),
        name: "sect239k1",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0009),
        name: "sect283k1",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x000a),
        name: "sect283r1",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x000b),
        name: "sect409k1",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x000c),
        name: "sect409r1",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x000d),
        name: "sect571k1",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x000e),
        name: "sect571r1",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x000f),
        name: "secp160k1",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0010),
        name: "secp160r1",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0011),
        name: "secp160r2",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0012),
        name: "secp192k1",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0013),
        name: "secp192r1",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0014),
        name: "secp224k1",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0015),
        name: "secp224r1",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0016),
        name: "secp256k1",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0017),
        name: "secp256r1",
        aliases: &["prime256v1", "P-256"],
    },
    GroupInfo {
        group: Group(0x0018),
        name: "secp384r1",
        aliases: &["P-384"],
    },
    GroupInfo {
        group: Group(0x0019),
        name: "secp521r1",
        aliases: &["P-521"],
    },
    GroupInfo {
        group: Group(0x001a),
        name: "brainpoolP256r1",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x001b),
        name: "brainpoolP384r1",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x001c),
        name: "brainpoolP512r1",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x001d),
        name: "X25519",
        aliases: &["x25519"],
    },
    GroupInfo {
        group: Group(0x001e),
        name: "X448",
        aliases: &["x448"],
    },
    GroupInfo {
        group: Group(0x001f),
        name: "brainpoolP256r1tls13",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0020),
        name: "brainpoolP384r1tls13",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0021),
        name: "brainpoolP512r1tls13",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0022),
        name: "GC256A",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0023),
        name: "GC256B",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0024),
        name: "GC256C",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0025),
        name: "GC256D",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0026),
        name: "GC512A",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0027),
        name: "GC512B",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0028),
        name: "GC512C",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0029),
        name: "curveSM2",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0100),
        name: "ffdhe2048",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0101),
        name: "ffdhe3072",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0102),
        name: "ffdhe4096",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0103),
        name: "ffdhe6144",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0104),
        name: "ffdhe8192",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0200),
        name: "MLKEM512",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0201),
        name: "MLKEM768",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x0202),
        name: "MLKEM1024",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x11eb),
        name: "SecP256r1MLKEM768",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x11ec),
        name: "X25519MLKEM768",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x11ed),
        name: "SecP384r1MLKEM1024",
        aliases: &[],
    },
    GroupInfo {
        group: Group(0x6399),
        name: "X25519Kyber768Draft00",
        aliases: &[],
    },
];

impl Group {
    pub const SECP256R1: Self = Self(0x0017);
    pub const SECP384R1: Self = Self(0x0018);
    pub const X25519: Self = Self(0x001d);

    /// Every group the registry knows, in code point order.
    pub fn known() -> impl Iterator<Item = Group> {
        GROUPS.iter().map(|g| g.group)
    }

    fn info(self) -> Option<&'static GroupInfo> {
        GROUPS.iter().find(|g| g.group == self)
    }

    /// The name OpenSSL configs use (Postfix's tls_eecdh_auto_curves, Dovecot's ssl_curve_list).
    pub fn openssl_name(self) -> Option<&'static str> {
        self.info().map(|g| {
            if g.group == Group::SECP256R1 {
                "prime256v1"
            } else {
                g.name
            }
        })
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.info() {
            Some(g) => f.write_str(g.name),
            None => write!(f, "0x{:04x}", self.0),
        }
    }
}

impl FromStr for Group {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GROUPS
            .iter()
            .find(|g| g.name == s || g.aliases.contains(&s))
            .map(|g| g.group)
            .ok_or_else(|| {
                let names: Vec<_> = GROUPS.iter().map(|g| g.name).collect();
                format!("unknown group {s:?} (expected one of {})", names.join(", "))
            })
    }
}

impl Serialize for Group {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Group {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}
