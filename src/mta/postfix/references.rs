//! Postfix `$name` / `${name}` references in TLS settings: where a value
//! really comes from, so that mailtls judges the effective value, leaves a
//! compliant reference alone, and changes the parameter a weak reference
//! points to rather than flattening the reference into a literal.

use crate::edit::SetValue;
use std::path::Path;

use crate::edit::postfix_main::MainCf;
use crate::plan::SettingChange;

/// How deep a chain of `a = $b`, `b = $c` is followed (Postfix itself stops loops).
const MAX_DEPTH: usize = 16;

/// Where a setting's value comes from.
#[derive(Debug, PartialEq)]
pub enum Source {
    /// A literal value, no reference.
    Literal,
    /// A reference to a parameter mailtls sets itself from the same profile.
    Hardened(String),
    /// A chain of references ending at `name`, set in main.cf to the literal `value`.
    Parameter { name: String, value: String },
    /// An expression mixing references and text: its value with every reference expanded.
    Expression(String),
    /// A reference to a parameter main.cf does not set (a Postfix default or a typo).
    Unresolved(String),
}

impl Source {
    /// What `value` refers to, given main.cf and the parameters mailtls hardens.
    pub fn of(value: &str, main: &MainCf, hardened: &[&str]) -> Source {
        let mut current = value.trim().to_string();
        if !current.contains('$') {
            return Source::Literal;
        }
        for _ in 0..MAX_DEPTH {
            let Some(name) = sole_reference(&current) else {
                return Source::Expression(expand(&current, main));
            };
            if hardened.contains(&name) {
                return Source::Hardened(name.to_string());
            }
            match main.get(name) {
                None => return Source::Unresolved(name.to_string()),
                Some(v) if v.contains('$') => current = v,
                Some(v) => {
                    return Source::Parameter {
                        name: name.to_string(),
                        value: v,
                    }
                }
            }
        }
        Source::Unresolved(current)
    }
}

/// `name` when `value` is exactly `$name` or `${name}`.
fn sole_reference(value: &str) -> Option<&str> {
    let rest = value.strip_prefix('$')?;
    let name = match rest.strip_prefix('{') {
        Some(inner) => inner.strip_suffix('}')?,
        None => rest,
    };
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).then_some(name)
}

/// Expands every `$name` and `${name}` from main.cf, recursively, as Postfix does
/// (a name main.cf does not set is left as written).
pub fn expand(value: &str, main: &MainCf) -> String {
    let mut text = value.to_string();
    for _ in 0..MAX_DEPTH {
        if !text.contains('$') {
            break;
        }
        let mut out = String::new();
        let mut rest = text.as_str();
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let (name, tail) = match after.strip_prefix('{') {
                Some(inner) => match inner.find('}') {
                    Some(end) => (&inner[..end], &inner[end + 1..]),
                    None => (inner, ""),
                },
                None => {
                    let end = after
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .unwrap_or(after.len());
                    (&after[..end], &after[end..])
                }
            };
            match main.get(name) {
                Some(v) => out.push_str(&v),
                None => out.push_str(&rest[at..rest.len() - tail.len()]),
            }
            rest = tail;
        }
        out.push_str(rest);
        if out == text {
            break;
        }
        text = out;
    }
    text
}

/// Sets `name` in main.cf (in place, or in mailtls's block) and records the change.
pub fn set_main(
    main: &mut MainCf,
    settings: &mut Vec<SettingChange>,
    path: &Path,
    anchor: &str,
    name: &str,
    value: &str,
) {
    let before = main.get(name);
    if before.as_deref() != Some(value) {
        main.set(crate::edit::Named::new(name, anchor), value);
        settings.push(SettingChange {
            file: path.to_path_buf(),
            name: name.into(),
            before,
            after: value.into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn main(text: &str) -> MainCf {
        MainCf::parse(text).unwrap()
    }

    #[test]
    fn a_chain_of_references_ends_at_the_parameter_holding_the_value() {
        let m = main("a = $b\nb = ${c}\nc = >=TLSv1.2\n");
        assert_eq!(
            Source::of("$a", &m, &[]),
            Source::Parameter {
                name: "c".into(),
                value: ">=TLSv1.2".into()
            }
        );
        assert_eq!(Source::of(">=TLSv1.2", &m, &[]), Source::Literal);
        assert_eq!(
            Source::of("$smtpd_tls_protocols", &m, &["smtpd_tls_protocols"]),
            Source::Hardened("smtpd_tls_protocols".into())
        );
        assert_eq!(Source::of("$nowhere", &m, &[]), Source::Unresolved("nowhere".into()));
        assert_eq!(
            Source::of("$c, !TLSv1.3", &m, &[]),
            Source::Expression(">=TLSv1.2, !TLSv1.3".into())
        );
    }

    #[test]
    fn a_loop_is_unresolved_not_endless() {
        let m = main("a = $b\nb = $a\n");
        assert!(matches!(Source::of("$a", &m, &[]), Source::Unresolved(_)));
        assert!(expand("$a", &m).contains('$'), "a loop stays unexpanded");
    }
}
