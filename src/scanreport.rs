//! A scanner's report read back: testssl.sh's JSON (`--jsonfile`) or
//! sslyze's (`--json_out`), turned into the findings it raised and what
//! causes each (a protocol, a set of accepted suites, or something no TLS
//! setting changes, such as the certificate). `plan --from-scan` holds the
//! bundled profiles against these findings; nothing here reads a config.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::profile::Profile;
use crate::tls::{CipherSuite, Protocol};

/// What a finding is about, as far as a profile can change it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// A protocol version the server accepts.
    Protocol(Protocol),
    /// Accepted suites (by protocol) that the finding is about.
    Suites(Vec<(Protocol, CipherSuite)>),
    /// Something no TLS protocol or suite setting changes.
    Other,
}

/// What a setting does, for saying which finding it closes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Lever {
    Protocols,
    Suites,
}

#[derive(Clone, Debug, Serialize)]
pub struct ScanFinding {
    /// The scanner's id (testssl: `TLS1`, `LUCKY13`; sslyze: mailtls's name for the check).
    pub id: String,
    pub severity: String,
    pub text: String,
    pub cause: Cause,
}

impl ScanFinding {
    /// Whether a server configured with `profile` would no longer raise it.
    pub fn closed_by(&self, profile: &Profile) -> bool {
        match &self.cause {
            Cause::Protocol(p) => !profile.allows(*p),
            Cause::Suites(list) => list.iter().all(|(p, s)| !allows_suite(profile, *p, *s)),
            Cause::Other => false,
        }
    }

    /// The kind of setting that closes it, if any.
    pub fn lever(&self) -> Option<Lever> {
        match &self.cause {
            Cause::Protocol(_) => Some(Lever::Protocols),
            Cause::Suites(list) if list.iter().all(|(p, _)| *p < Protocol::TlsV1_2) => Some(Lever::Protocols),
            Cause::Suites(_) => Some(Lever::Suites),
            Cause::Other => None,
        }
    }
}

fn allows_suite(profile: &Profile, p: Protocol, s: CipherSuite) -> bool {
    profile.allows(p)
        && if p == Protocol::TlsV1_3 {
            profile.tls13_ciphersuites.contains(&s)
        } else {
            profile.tls12_ciphers.contains(&s)
        }
}

/// A scanner's report: which tool, and its findings.
#[derive(Clone, Debug, Serialize)]
pub struct ScanReport {
    pub tool: &'static str,
    pub findings: Vec<ScanFinding>,
}

impl ScanReport {
    /// Reads a testssl.sh or sslyze JSON report; anything else is an error naming the file.
    pub fn load(path: &Path) -> Result<ScanReport> {
        let fail = |message: String| Error::Usage(format!("--from-scan {}: {message}", path.display()));
        let text = fs_err::read_to_string(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
        let json: Value = serde_json::from_str(&tame_numbers(&text)).map_err(|e| fail(format!("not JSON: {e}")))?;
        if json.get("server_scan_results").is_some() {
            Ok(sslyze(&json))
        } else if let Some(entries) = json.as_array() {
            Ok(testssl(entries))
        } else {
            Err(fail(
                "neither a testssl.sh JSON report (--jsonfile) nor an sslyze one (--json_out)".into(),
            ))
        }
    }

    /// The first bundled profile, in `ORDER`, that closes every finding a
    /// profile can close; None when none does.
    pub fn pick(&self, profiles: &[Profile]) -> Option<Profile> {
        ORDER
            .iter()
            .filter_map(|name| profiles.iter().find(|p| p.name == *name))
            .find(|p| {
                self.findings
                    .iter()
                    .filter(|f| f.cause != Cause::Other)
                    .all(|f| f.closed_by(p))
            })
            .cloned()
    }

    /// Findings no profile can close (they are not about protocols or suites).
    pub fn unclosable(&self) -> Vec<&ScanFinding> {
        self.findings.iter().filter(|f| f.cause == Cause::Other).collect()
    }
}

/// sslyze writes RSA moduli as JSON integers of hundreds of digits, beyond
/// what serde_json reads; numbers are never needed here, so long ones
/// outside strings become 0.
fn tame_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if digits.len() > 200 {
            out.push('0');
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in text.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if c.is_ascii_digit() || (!digits.is_empty() && matches!(c, '.' | 'e' | 'E' | '+' | '-')) {
            digits.push(c);
            continue;
        }
        flush(&mut digits, &mut out);
        if c == '"' {
            in_string = true;
        }
        out.push(c);
    }
    flush(&mut digits, &mut out);
    out
}

/// Which bundled profile to prefer: the default first, then the baselines
/// from the widest to the narrowest, `modern` last.
const ORDER: &[&str] = &[
    "intermediate",
    "ncsc-nl-2025",
    "nist-sp800-52r2",
    "bsi-tr-02102-2",
    "modern",
];

/// The suites of a suite-level finding, by what the scanner names it for.
fn implicated(id: &str) -> Option<fn(&str) -> bool> {
    let cbc = |n: &str| n.contains("_CBC_");
    let id = id.to_ascii_uppercase();
    Some(match id.as_str() {
        "CIPHERLIST_3DES_IDEA" | "SWEET32" => |n: &str| n.contains("3DES") || n.contains("IDEA"),
        "CIPHERLIST_OBSOLETED" | "CIPHERLIST_AVERAGE" | "LUCKY13" | "BEAST_CBC_TLS1" | "BEAST" => cbc,
        "CIPHERLIST_NULL" => |n: &str| n.contains("NULL"),
        "CIPHERLIST_ANULL" => |n: &str| n.contains("_anon_") || n.contains("NULL"),
        "CIPHERLIST_EXPORT" | "FREAK" => |n: &str| n.contains("EXPORT"),
        "CIPHERLIST_LOW" => |n: &str| n.contains("_DES_") || n.contains("RC2") || n.contains("EXPORT"),
        "RC4" => |n: &str| n.contains("RC4"),
        "LOGJAM" | "LOGJAM-COMMON_PRIMES" => |n: &str| n.starts_with("TLS_DHE_") || n.starts_with("TLS_DH_"),
        "FS" | "FS_CIPHERS" => |n: &str| n.starts_with("TLS_RSA_"),
        _ => return None,
    })
}

fn protocol_of_id(id: &str) -> Option<Protocol> {
    Some(match id {
        "SSLv2" => Protocol::SslV2,
        "SSLv3" => Protocol::SslV3,
        "TLS1" => Protocol::TlsV1_0,
        "TLS1_1" => Protocol::TlsV1_1,
        _ => return None,
    })
}

/// testssl.sh: a flat list of `{id, severity, finding}`; `-E` adds one
/// `cipher-PROTO_xHEX` entry per accepted suite.
fn testssl(entries: &[Value]) -> ScanReport {
    let field = |e: &Value, k: &str| e.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let mut accepted: Vec<(Protocol, CipherSuite)> = Vec::new();
    for e in entries {
        let id = field(e, "id");
        let Some(rest) = id.strip_prefix("cipher-") else {
            continue;
        };
        let Some((proto, hex)) = rest.rsplit_once("_x") else {
            continue;
        };
        let protocol = match proto {
            "ssl3" => Protocol::SslV3,
            "tls1" => Protocol::TlsV1_0,
            "tls1_1" => Protocol::TlsV1_1,
            "tls1_2" => Protocol::TlsV1_2,
            "tls1_3" => Protocol::TlsV1_3,
            _ => continue,
        };
        if let Ok(code) = u16::from_str_radix(hex, 16) {
            accepted.push((protocol, CipherSuite(code)));
        }
    }
    let mut findings = Vec::new();
    for e in entries {
        let (id, severity) = (field(e, "id"), field(e, "severity"));
        if !matches!(severity.as_str(), "LOW" | "MEDIUM" | "HIGH" | "CRITICAL") || id.starts_with("cipher-") {
            continue;
        }
        let cause = if let Some(p) = protocol_of_id(&id) {
            Cause::Protocol(p)
        } else if let Some(matches) = implicated(&id) {
            let mut list: Vec<(Protocol, CipherSuite)> = accepted
                .iter()
                .copied()
                .filter(|(_, s)| s.iana_name().is_some_and(matches))
                .collect();
            if id.starts_with("BEAST") {
                list.retain(|(p, _)| *p <= Protocol::TlsV1_0);
            }
            if list.is_empty() {
                Cause::Other
            } else {
                Cause::Suites(list)
            }
        } else {
            Cause::Other
        };
        findings.push(ScanFinding {
            id,
            severity,
            text: field(e, "finding"),
            cause,
        });
    }
    ScanReport {
        tool: "testssl.sh",
        findings,
    }
}

/// One sslyze-derived finding: its id, what it is about, which suites.
type SuiteCheck = (&'static str, &'static str, fn(&str) -> bool);

/// sslyze: accepted suites per protocol; it grades nothing, so the findings
/// are mailtls's reading of them: a protocol below TLS 1.2, and suites
/// without forward secrecy, with CBC, with 3DES or RC4.
fn sslyze(json: &Value) -> ScanReport {
    let scan = &json["server_scan_results"][0]["scan_result"];
    let commands = [
        ("ssl_2_0_cipher_suites", Protocol::SslV2),
        ("ssl_3_0_cipher_suites", Protocol::SslV3),
        ("tls_1_0_cipher_suites", Protocol::TlsV1_0),
        ("tls_1_1_cipher_suites", Protocol::TlsV1_1),
        ("tls_1_2_cipher_suites", Protocol::TlsV1_2),
        ("tls_1_3_cipher_suites", Protocol::TlsV1_3),
    ];
    let mut accepted: BTreeMap<Protocol, Vec<CipherSuite>> = BTreeMap::new();
    for (key, protocol) in commands {
        let list = scan[key]["result"]["accepted_cipher_suites"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for s in list {
            if let Some(suite) = s["cipher_suite"]["name"].as_str().and_then(CipherSuite::from_name) {
                accepted.entry(protocol).or_default().push(suite);
            }
        }
    }
    let mut findings = Vec::new();
    for (key, protocol) in commands {
        if protocol < Protocol::TlsV1_2 && accepted.contains_key(&protocol) {
            findings.push(ScanFinding {
                id: key.to_string(),
                severity: "MEDIUM".into(),
                text: format!("{protocol} accepted"),
                cause: Cause::Protocol(protocol),
            });
        }
    }
    let checks: [SuiteCheck; 4] = [
        (
            "no-forward-secrecy",
            "suites without forward secrecy (RSA key exchange)",
            |n| n.starts_with("TLS_RSA_"),
        ),
        ("cbc", "CBC suites (LUCKY13-class padding oracles)", |n| {
            n.contains("_CBC_")
        }),
        ("3des", "3DES suites (SWEET32)", |n| n.contains("3DES")),
        ("rc4", "RC4 suites", |n| n.contains("RC4")),
    ];
    for (id, what, matches) in checks {
        let list: Vec<(Protocol, CipherSuite)> = accepted
            .iter()
            .filter(|(p, _)| **p >= Protocol::TlsV1_2)
            .flat_map(|(p, suites)| suites.iter().map(move |s| (*p, *s)))
            .filter(|(_, s)| s.iana_name().is_some_and(matches))
            .collect();
        if !list.is_empty() {
            findings.push(ScanFinding {
                id: id.to_string(),
                severity: "MEDIUM".into(),
                text: format!("{} {what} in TLS 1.2", list.len()),
                cause: Cause::Suites(list),
            });
        }
    }
    ScanReport {
        tool: "sslyze",
        findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_numbers_outside_strings_are_tamed_and_strings_kept() {
        let big = "9".repeat(400);
        let text = format!("{{\"n\": {big}, \"s\": \"{big}\\\"x\", \"m\": -12.5e3}}");
        let v: Value = serde_json::from_str(&tame_numbers(&text)).unwrap();
        assert_eq!(v["n"], 0);
        assert_eq!(v["s"].as_str().unwrap().len(), 402);
        assert_eq!(v["m"], -12500.0);
    }
}
