//! JUnit XML for CI: the probe's findings and a plan's pending changes as
//! test cases, so a pipeline that checks a config repository or a staging
//! server shows them as test results. A finding of medium or high severity,
//! a profile violation, a target that could not be scanned and a pending
//! change fail; lower findings pass (their message goes to system-out).

use std::fmt::Write as _;

use crate::plan::HostPlan;
use crate::probe::{Severity, TargetReport};

/// Text for an XML attribute or element.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 cannot carry other control characters at all.
            c if c.is_control() && !matches!(c, '\n' | '\t') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

enum Outcome {
    Pass(String),
    Failure { kind: String, message: String },
    Error(String),
}

struct Case {
    class: String,
    name: String,
    outcome: Outcome,
}

fn suite(name: &str, cases: &[Case]) -> String {
    let failures = cases
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Failure { .. }))
        .count();
    let errors = cases.iter().filter(|c| matches!(c.outcome, Outcome::Error(_))).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"mailtls\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\">",
        cases.len()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\">",
        xml(name),
        cases.len()
    );
    for case in cases {
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\"",
            xml(&case.class),
            xml(&case.name)
        );
        match &case.outcome {
            Outcome::Pass(text) if text.is_empty() => out.push_str("/>\n"),
            Outcome::Pass(text) => {
                let _ = writeln!(out, ">\n      <system-out>{}</system-out>\n    </testcase>", xml(text));
            }
            Outcome::Failure { kind, message } => {
                let _ = writeln!(
                    out,
                    ">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>",
                    xml(kind),
                    xml(message),
                    xml(message)
                );
            }
            Outcome::Error(message) => {
                let _ = writeln!(
                    out,
                    ">\n      <error message=\"{}\">{}</error>\n    </testcase>",
                    xml(message),
                    xml(message)
                );
            }
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// One test case per finding of each target; a target without findings
/// gets one passing case, and one that could not be scanned an error.
pub fn probe(reports: &[TargetReport]) -> String {
    let mut cases = Vec::new();
    for r in reports {
        if let Some(error) = &r.error {
            cases.push(Case {
                class: r.target.clone(),
                name: "scan".into(),
                outcome: Outcome::Error(error.clone()),
            });
        }
        for finding in &r.findings {
            let fails = finding.severity >= Severity::Medium || finding.id.starts_with("profile-");
            let outcome = if fails {
                Outcome::Failure {
                    kind: finding.severity.label().to_lowercase(),
                    message: finding.message.clone(),
                }
            } else {
                Outcome::Pass(format!("{}: {}", finding.severity.label(), finding.message))
            };
            cases.push(Case {
                class: r.target.clone(),
                name: finding.id.clone(),
                outcome,
            });
        }
        if r.error.is_none() && r.findings.is_empty() {
            cases.push(Case {
                class: r.target.clone(),
                name: "tls".into(),
                outcome: Outcome::Pass(String::new()),
            });
        }
    }
    suite("mailtls probe", &cases)
}

/// One failing test case per pending change of each server; a server with
/// nothing to change gets one passing case.
pub fn plan(host: &HostPlan, profile: &str) -> String {
    let mut cases = Vec::new();
    let mut lines = host.setting_lines().into_iter();
    for plan in &host.plans {
        let class = format!("{} {}", plan.mta.name(), plan.instance.display());
        for setting in &plan.settings {
            let line = lines.next().unwrap_or_default();
            cases.push(Case {
                class: class.clone(),
                name: setting.name.clone(),
                outcome: Outcome::Failure {
                    kind: "pending-change".into(),
                    message: format!("{line} ({})", setting.file.display()),
                },
            });
        }
        if plan.settings.is_empty() {
            cases.push(Case {
                class,
                name: format!("profile {profile}"),
                outcome: Outcome::Pass(String::new()),
            });
        }
    }
    suite(&format!("mailtls plan (profile {profile})"), &cases)
}

#[cfg(test)]
mod tests {
    use super::xml;

    #[test]
    fn markup_and_control_characters_are_escaped() {
        assert_eq!(xml("a<b>&\"c'\u{1}"), "a&lt;b&gt;&amp;&quot;c&apos;\u{fffd}");
    }
}
