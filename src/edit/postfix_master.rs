//! Postfix `master.cf`: one service per logical line (service, type, private,
//! unpriv, chroot, wakeup, maxproc, command and its arguments), continued on
//! lines that start with white space. Arguments `-o name=value` (or
//! `-o { name = value }`) override main.cf for that service.

pub use super::SyntaxError;
use std::fmt;

/// A token of a logical line: where it sits, so an edit rewrites only it.
#[derive(Clone, Debug, PartialEq)]
struct Token {
    line: usize,
    start: usize,
    end: usize,
    text: String,
}

/// One service entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Service {
    /// `smtp`, `submission`, `127.0.0.1:2525`, ...
    pub name: String,
    /// `inet`, `unix`, `pass`, ...
    pub kind: String,
    pub command: String,
    /// 1-based line of the entry's first line, for messages.
    pub line: usize,
    tokens: Vec<Token>,
}

/// An `-o name=value` override of a service.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    pub name: String,
    pub value: String,
    token: usize,
}

impl Service {
    /// The `-o` overrides, in order (the last one of a name wins).
    pub fn overrides(&self) -> Vec<Override> {
        let mut out = Vec::new();
        let mut i = 8;
        while i < self.tokens.len() {
            let text = &self.tokens[i].text;
            let (token, spec) = if text == "-o" {
                i += 1;
                match self.tokens.get(i) {
                    Some(t) => (i, t.text.as_str()),
                    None => break,
                }
            } else if let Some(rest) = text.strip_prefix("-o") {
                (i, rest)
            } else {
                i += 1;
                continue;
            };
            let spec = spec.strip_prefix('{').and_then(|s| s.strip_suffix('}')).unwrap_or(spec);
            if let Some((name, value)) = spec.split_once('=') {
                out.push(Override {
                    name: name.trim().to_string(),
                    value: value.trim().to_string(),
                    token,
                });
            }
            i += 1;
        }
        out
    }

    /// The override in effect for `name`, if any.
    pub fn override_of(&self, name: &str) -> Option<String> {
        self.overrides()
            .into_iter()
            .rev()
            .find(|o| o.name == name)
            .map(|o| o.value)
    }
}

/// A parsed master.cf.
#[derive(Clone, Debug, PartialEq)]
pub struct MasterCf {
    lines: Vec<String>,
    services: Vec<Service>,
}

impl MasterCf {
    pub fn parse(text: &str) -> Result<MasterCf, SyntaxError> {
        let lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
        let mut entries: Vec<(usize, Vec<Token>)> = Vec::new();
        for (index, line) in lines.iter().enumerate() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let tokens = tokenize(index, line).map_err(|message| SyntaxError {
                line: index + 1,
                message,
            })?;
            if line.starts_with([' ', '\t']) {
                match entries.last_mut() {
                    Some((_, t)) => t.extend(tokens),
                    None => {
                        return Err(SyntaxError {
                            line: index + 1,
                            message: "continuation line (it starts with white space) does not follow a service".into(),
                        })
                    }
                }
            } else {
                entries.push((index, tokens));
            }
        }
        let services = entries
            .into_iter()
            .map(|(index, tokens)| {
                if tokens.len() < 8 {
                    return Err(SyntaxError {
                        line: index + 1,
                        message: format!("a service needs 8 fields (service type private unpriv chroot wakeup maxproc command), found {}", tokens.len()),
                    });
                }
                Ok(Service {
                    name: tokens[0].text.clone(),
                    kind: tokens[1].text.clone(),
                    command: tokens[7].text.clone(),
                    line: index + 1,
                    tokens,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(MasterCf { lines, services })
    }

    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// Rewrites the last `-o name=...` of service number `index` to `value`,
    /// keeping the `-o` form it had.
    pub fn set_override(&mut self, index: usize, name: &str, value: &str) {
        let service = &self.services[index];
        let Some(o) = service.overrides().into_iter().rev().find(|o| o.name == name) else {
            return;
        };
        let token = &service.tokens[o.token];
        let old = &token.text;
        let body = old.strip_prefix("-o").unwrap_or(old);
        let new_body = if body.starts_with('{') {
            format!("{{ {name} = {value} }}")
        } else {
            format!("{name}={value}")
        };
        let new = if old.starts_with("-o") {
            format!("-o{new_body}")
        } else {
            new_body
        };
        let line = &mut self.lines[token.line];
        line.replace_range(token.start..token.end, &new);
        *self = MasterCf::parse(&self.to_string()).expect("an edited token keeps the file's syntax");
    }
}

impl MasterCf {
    /// Sets `name` for service number `index`: its last `-o name=...` is
    /// edited in place, or a new `-o` line is added after the entry's last
    /// line, indented like its other continuation lines. A value with white
    /// space is written `-o { name = value }` (Postfix 3.0 and later).
    pub fn set_or_add_override(&mut self, index: usize, name: &str, value: &str) {
        let service = &self.services[index];
        if service.overrides().iter().any(|o| o.name == name) {
            self.set_override(index, name, value);
            return;
        }
        let last_line = service.tokens.last().map_or(0, |t| t.line);
        let indent = service
            .tokens
            .iter()
            .map(|t| t.line)
            .find(|l| *l != service.tokens[0].line)
            .map(|l| {
                let raw = &self.lines[l];
                raw[..raw.len() - raw.trim_start().len()].to_string()
            })
            .unwrap_or_else(|| "  ".into());
        let spec = if value.contains(char::is_whitespace) {
            format!("{{ {name} = {value} }}")
        } else {
            format!("{name}={value}")
        };
        if !self.lines[last_line].ends_with('\n') {
            self.lines[last_line].push('\n');
        }
        self.lines.insert(last_line + 1, format!("{indent}-o {spec}\n"));
        *self = MasterCf::parse(&self.to_string()).expect("an added -o line keeps the file's syntax");
    }
}

/// Splits one physical line into tokens; `{ ... }` is one token.
fn tokenize(index: usize, line: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if bytes[i] == b'{' || (line[i..].starts_with("-o{")) {
            match line[i..].find('}') {
                Some(close) => i += close + 1,
                None => return Err("unbalanced '{' (no closing '}' on this line)".into()),
            }
        } else {
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                i += 1;
            }
        }
        tokens.push(Token {
            line: index,
            start,
            end: i,
            text: line[start..i].to_string(),
        });
    }
    Ok(tokens)
}

impl fmt::Display for MasterCf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.lines.iter().try_for_each(|l| f.write_str(l))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> String {
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/debian-12/master.cf")).unwrap()
    }

    #[test]
    fn round_trips_the_debian_fixture() {
        let text = fixture();
        let cf = MasterCf::parse(&text).unwrap();
        assert_eq!(cf.to_string(), text);
        let smtp = &cf.services()[0];
        assert_eq!(
            (smtp.name.as_str(), smtp.kind.as_str(), smtp.command.as_str()),
            ("smtp", "inet", "smtpd")
        );
        let relay = cf.services().iter().find(|s| s.name == "relay").unwrap();
        assert_eq!(
            relay.override_of("syslog_name").as_deref(),
            Some("postfix/$service_name")
        );
    }

    #[test]
    fn overrides_in_every_form_are_read_and_edited_in_place() {
        let text = "submission inet n - y - - smtpd\n  -o smtpd_tls_security_level=encrypt\n  -o { smtpd_tls_protocols = >=TLSv1 }\n  -osmtpd_tls_ciphers=medium # tail\n";
        let mut cf = MasterCf::parse(text).unwrap();
        let s = &cf.services()[0];
        assert_eq!(s.override_of("smtpd_tls_protocols").as_deref(), Some(">=TLSv1"));
        assert_eq!(s.override_of("smtpd_tls_ciphers").as_deref(), Some("medium"));
        cf.set_override(0, "smtpd_tls_protocols", ">=TLSv1.2");
        cf.set_override(0, "smtpd_tls_ciphers", "high");
        assert_eq!(
            cf.to_string(),
            "submission inet n - y - - smtpd\n  -o smtpd_tls_security_level=encrypt\n  -o { smtpd_tls_protocols = >=TLSv1.2 }\n  -osmtpd_tls_ciphers=high # tail\n"
        );
    }

    #[test]
    fn a_new_override_is_added_after_the_entry_with_its_indentation() {
        let text = "smtp      inet  n       -       y       -       -       smtpd\nsubmission inet n - y - - smtpd\n    -o syslog_name=postfix/submission\n#  -o smtpd_sasl_auth_enable=yes\npickup unix n - y 60 1 pickup";
        let mut cf = MasterCf::parse(text).unwrap();
        cf.set_or_add_override(0, "smtpd_tls_protocols", ">=TLSv1");
        cf.set_or_add_override(1, "tls_eecdh_auto_curves", "X25519 prime256v1");
        cf.set_or_add_override(1, "syslog_name", "postfix/sub");
        cf.set_or_add_override(2, "smtpd_tls_ciphers", "high");
        assert_eq!(
            cf.to_string(),
            "smtp      inet  n       -       y       -       -       smtpd\n  -o smtpd_tls_protocols=>=TLSv1\nsubmission inet n - y - - smtpd\n    -o syslog_name=postfix/sub\n    -o { tls_eecdh_auto_curves = X25519 prime256v1 }\n#  -o smtpd_sasl_auth_enable=yes\npickup unix n - y 60 1 pickup\n  -o smtpd_tls_ciphers=high\n"
        );
        assert_eq!(
            cf.services()[1].override_of("tls_eecdh_auto_curves").as_deref(),
            Some("X25519 prime256v1")
        );
    }

    #[test]
    fn short_entries_and_orphan_continuations_are_errors() {
        assert_eq!(MasterCf::parse("smtp inet n - y\n").unwrap_err().line, 1);
        assert_eq!(MasterCf::parse("# c\n  -o a=b\n").unwrap_err().line, 2);
    }
}
