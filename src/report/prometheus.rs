//! The probe's reports as Prometheus metrics in the text exposition format,
//! for node_exporter's textfile collector (write them to a `*.prom` file in
//! its directory). One sample per target, labelled with `target` (and
//! `starttls`).

use std::fmt::Write as _;

use crate::probe::{Severity, TargetReport};
use crate::tls::Protocol;

/// How strong a cipher suite is, by what its IANA name says.
fn tier(name: &str) -> &'static str {
    const BROKEN: [&str; 8] = ["NULL", "EXPORT", "RC4", "_DES_", "DES40", "3DES", "_anon_", "MD5"];
    if BROKEN.iter().any(|b| name.contains(b)) {
        "weak"
    } else if !name.contains("DHE_") && !name.starts_with("TLS_AES_") && !name.starts_with("TLS_CHACHA20_") {
        // Static RSA, ECDH, PSK...: no forward secrecy (TLS 1.3 suites always have it).
        "no_forward_secrecy"
    } else if name.contains("_GCM_") || name.contains("CHACHA20_POLY1305") || name.contains("_CCM") {
        "forward_secret_aead"
    } else {
        "forward_secret_cbc"
    }
}

const TIERS: [&str; 4] = [
    "forward_secret_aead",
    "forward_secret_cbc",
    "no_forward_secrecy",
    "weak",
];

/// A label value with `\`, `"` and newlines escaped, as the format requires.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

struct Family<'a> {
    out: &'a mut String,
    /// The samples of the family being written, held until it ends so a
    /// family without samples is left out, header and all.
    samples: String,
    header: String,
}

impl Family<'_> {
    fn header(&mut self, name: &str, help: &str) {
        self.flush();
        self.header = format!("# HELP {name} {help}\n# TYPE {name} gauge\n");
    }

    fn flush(&mut self) {
        if !self.samples.is_empty() {
            self.out.push_str(&self.header);
            self.out.push_str(&self.samples);
            self.samples.clear();
        }
    }
}

/// The whole exposition for `reports`.
pub fn render(reports: &[TargetReport]) -> String {
    let mut text = String::new();
    let mut f = Family {
        out: &mut text,
        samples: String::new(),
        header: String::new(),
    };
    let target = |r: &TargetReport| format!("target=\"{}\",starttls=\"{}\"", label(&r.target), r.starttls.name());

    f.header(
        "mailtls_scan_success",
        "1 when the target was scanned completely, 0 when the scan failed.",
    );
    for r in reports {
        let _ = writeln!(
            f.samples,
            "mailtls_scan_success{{{}}} {}",
            target(r),
            u8::from(r.error.is_none())
        );
    }
    f.header("mailtls_scan_duration_seconds", "How long the scan of the target took.");
    for r in reports {
        let _ = writeln!(
            f.samples,
            "mailtls_scan_duration_seconds{{{}}} {:.3}",
            target(r),
            r.elapsed_ms as f64 / 1000.0
        );
    }
    f.header(
        "mailtls_protocol_accepted",
        "1 when the target accepts the protocol version.",
    );
    for r in reports {
        for (protocol, report) in &r.protocols {
            let _ = writeln!(
                f.samples,
                "mailtls_protocol_accepted{{{},protocol=\"{}\"}} {}",
                target(r),
                protocol.name(),
                u8::from(report.accepted)
            );
        }
    }
    f.header(
        "mailtls_cipher_suites",
        "Cipher suites the target accepts (all protocol versions), by tier.",
    );
    for r in reports {
        let mut counts = [0usize; 4];
        for (protocol, report) in &r.protocols {
            if *protocol == Protocol::SslV2 {
                counts[3] += report.sslv2_ciphers.len();
            }
            for suite in &report.cipher_suites {
                let name = suite
                    .iana_name()
                    .map(str::to_string)
                    .unwrap_or_else(|| suite.to_string());
                counts[TIERS.iter().position(|t| *t == tier(&name)).unwrap_or(3)] += 1;
            }
        }
        for (tier, count) in TIERS.iter().zip(counts) {
            let _ = writeln!(
                f.samples,
                "mailtls_cipher_suites{{{},tier=\"{tier}\"}} {count}",
                target(r)
            );
        }
    }
    f.header(
        "mailtls_certificate_expiry_timestamp_seconds",
        "When the target's certificate expires (Unix time).",
    );
    for r in reports {
        let not_after = r.certificate.as_ref().and_then(|c| {
            time::OffsetDateTime::parse(&c.not_after, &time::format_description::well_known::Rfc3339).ok()
        });
        if let Some(when) = not_after {
            let _ = writeln!(
                f.samples,
                "mailtls_certificate_expiry_timestamp_seconds{{{}}} {}",
                target(r),
                when.unix_timestamp()
            );
        }
    }
    f.header("mailtls_findings", "Findings about the target, by severity.");
    for r in reports {
        for severity in [Severity::Info, Severity::Low, Severity::Medium, Severity::High] {
            let count = r.findings.iter().filter(|x| x.severity == severity).count();
            let _ = writeln!(
                f.samples,
                "mailtls_findings{{{},severity=\"{}\"}} {count}",
                target(r),
                severity.label().to_lowercase()
            );
        }
    }
    f.header("mailtls_compliant", "1 when the target complies with the profile.");
    for r in reports {
        if let (Some(compliant), Some(profile)) = (r.compliant, &r.profile) {
            let _ = writeln!(
                f.samples,
                "mailtls_compliant{{{},profile=\"{}\"}} {}",
                target(r),
                label(profile),
                u8::from(compliant)
            );
        }
    }
    f.flush();
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_follow_the_suite_names() {
        assert_eq!(tier("TLS_AES_128_GCM_SHA256"), "forward_secret_aead");
        assert_eq!(tier("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"), "forward_secret_aead");
        assert_eq!(tier("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"), "forward_secret_cbc");
        assert_eq!(tier("TLS_RSA_WITH_AES_128_GCM_SHA256"), "no_forward_secrecy");
        assert_eq!(tier("TLS_DH_anon_WITH_AES_128_CBC_SHA"), "weak");
        assert_eq!(tier("TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"), "weak");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
