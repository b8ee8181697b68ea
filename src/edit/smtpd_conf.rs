//! OpenSMTPD's `smtpd.conf`: one statement per line, words separated by
//! blanks, `"quoted strings"` as one word, `#` comments. The text is kept as
//! it is; an edit replaces one word or appends words to one line, so
//! `parse(s).to_string() == s` and a change touches one line.

use std::fmt;
use std::ops::Range;

/// One word of a statement, unquoted, with its byte span in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct Word {
    pub text: String,
    span: Range<usize>,
}

/// One statement (a non-blank, non-comment line).
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    /// 1-based line number.
    pub line: usize,
    pub words: Vec<Word>,
    /// Where the statement's text ends (before a comment and the newline).
    end: usize,
}

impl Statement {
    /// Whether the statement starts with these words (`["listen", "on"]`).
    pub fn starts_with(&self, words: &[&str]) -> bool {
        words.len() <= self.words.len() && self.words.iter().zip(words).all(|(w, x)| w.text == *x)
    }

    /// The word after `keyword` (`port` -> `2528`), if the keyword is there.
    pub fn after(&self, keyword: &str) -> Option<&Word> {
        let at = self.words.iter().position(|w| w.text == keyword)?;
        self.words.get(at + 1)
    }

    pub fn has(&self, keyword: &str) -> bool {
        self.words.iter().any(|w| w.text == keyword)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SmtpdConf {
    text: String,
    /// The statements of `text`, tokenised once per parse or edit.
    statements: Vec<Statement>,
}

impl fmt::Display for SmtpdConf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl SmtpdConf {
    pub fn parse(text: &str) -> SmtpdConf {
        SmtpdConf {
            text: text.to_string(),
            statements: tokenize(text),
        }
    }

    pub fn statements(&self) -> Vec<Statement> {
        self.statements.clone()
    }

    /// Tokenises the text again after an edit moved its bytes.
    fn reindex(&mut self) {
        self.statements = tokenize(&self.text);
    }

    /// Sets `keyword "value"` on the statement at `line`: replaces the word
    /// after the keyword, or appends both to the line.
    fn set_option(&mut self, line: usize, keyword: &str, value: &str) {
        let Some(statement) = self.statements().into_iter().find(|s| s.line == line) else {
            return;
        };
        let quoted = format!("\"{value}\"");
        match statement.after(keyword) {
            Some(word) => self.text.replace_range(word.span.clone(), &quoted),
            None => self.text.insert_str(statement.end, &format!(" {keyword} {quoted}")),
        }
        self.reindex();
    }

    /// Appends words to the statement at `line` (`tls pki mailtls`).
    pub fn append_words(&mut self, line: usize, words: &str) {
        if let Some(statement) = self.statements().into_iter().find(|s| s.line == line) {
            self.text.insert_str(statement.end, &format!(" {words}"));
        }
        self.reindex();
    }

    /// Replaces the last word of the statement at `line` with a quoted value.
    fn set_last(&mut self, line: usize, value: &str) {
        if let Some(word) = self
            .statements()
            .into_iter()
            .find(|s| s.line == line)
            .and_then(|s| s.words.last().cloned())
        {
            self.text.replace_range(word.span, &format!("\"{value}\""));
        }
        self.reindex();
    }

    /// Inserts a statement before the first `listen` line (where `pki` and
    /// global options must come), under the anchor comment.
    pub fn insert_before_listen(&mut self, statement: &str, anchor: &str) {
        let at = self
            .statements()
            .into_iter()
            .find(|s| s.starts_with(&["listen"]))
            .map(|s| self.line_start(s.line))
            .unwrap_or(self.text.len());
        let anchor_line = format!("{anchor}\n");
        let text = match self.text[..at].rfind(&anchor_line) {
            Some(_) => format!("{statement}\n"),
            None => format!("{anchor_line}{statement}\n"),
        };
        if at == self.text.len() && !self.text.is_empty() && !self.text.ends_with('\n') {
            self.text.push('\n');
        }
        let at = at.min(self.text.len());
        self.text.insert_str(at, &text);
        self.reindex();
    }

    fn line_start(&self, line: usize) -> usize {
        self.text.split_inclusive('\n').take(line - 1).map(str::len).sum()
    }
}

/// The statements of a file: one per line that has words.
fn tokenize(text: &str) -> Vec<Statement> {
    let mut out = Vec::new();
    let mut offset = 0;
    for (n, line) in text.split_inclusive('\n').enumerate() {
        let start = offset;
        offset += line.len();
        let mut words = Vec::new();
        let mut chars = line.char_indices().peekable();
        let mut end = start + line.trim_end_matches(['\n', '\r']).len();
        while let Some((i, c)) = chars.next() {
            match c {
                '#' => {
                    end = start + line[..i].trim_end().len();
                    break;
                }
                '"' => {
                    let from = i + 1;
                    let mut to = line.len();
                    for (j, c) in chars.by_ref() {
                        if c == '"' {
                            to = j;
                            break;
                        }
                    }
                    words.push(Word {
                        text: line[from..to].to_string(),
                        span: start + i..start + (to + 1).min(line.len()),
                    });
                }
                c if c.is_whitespace() => {}
                _ => {
                    let mut to = i + c.len_utf8();
                    while let Some((j, c)) = chars.peek().copied() {
                        if c.is_whitespace() || c == '#' || c == '"' {
                            break;
                        }
                        to = j + c.len_utf8();
                        chars.next();
                    }
                    words.push(Word {
                        text: line[i..to].to_string(),
                        span: start + i..start + to,
                    });
                }
            }
        }
        if !words.is_empty() {
            end = end.max(words.last().map_or(start, |w| w.span.end));
            out.push(Statement {
                line: n + 1,
                words,
                end,
            });
        }
    }
    out
}

/// A value in smtpd.conf: the word after `keyword` on the statement at
/// `line`, or the statement's last word.
#[derive(Clone, Copy, Debug)]
pub enum SmtpdKey<'a> {
    Option { line: usize, keyword: &'a str },
    Last { line: usize },
}

impl super::SetValue for SmtpdConf {
    type Key<'k> = SmtpdKey<'k>;

    fn set(&mut self, key: SmtpdKey<'_>, value: &str) {
        match key {
            SmtpdKey::Option { line, keyword } => self.set_option(line, keyword, value),
            SmtpdKey::Last { line } => self.set_last(line, value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = "# comment\npki localhost cert \"/etc/c.pem\"\n\
        listen on 127.0.0.1 port 2528 tls pki localhost  # the MTA\n\
        match from any for any reject\n";

    #[test]
    fn round_trips_and_edits_one_line() {
        let mut conf = SmtpdConf::parse(CONF);
        assert_eq!(conf.to_string(), CONF);
        let listen = &conf.statements()[1];
        assert_eq!(listen.after("port").unwrap().text, "2528");
        conf.set_option(3, "protocols", "tlsv1.2,tlsv1.3");
        conf.set_option(3, "ciphers", "HIGH");
        assert_eq!(
            conf.to_string(),
            CONF.replace(
                "pki localhost  #",
                "pki localhost protocols \"tlsv1.2,tlsv1.3\" ciphers \"HIGH\"  #"
            )
        );
        conf.set_option(3, "protocols", "tlsv1.3");
        assert!(conf.to_string().contains("protocols \"tlsv1.3\" ciphers"));
        conf.set_last(2, "/new.pem");
        assert!(conf.to_string().contains("pki localhost cert \"/new.pem\"\n"));
        conf.insert_before_listen("smtp ciphers \"HIGH\"", "# mailtls");
        assert!(conf.to_string().contains("# mailtls\nsmtp ciphers \"HIGH\"\nlisten on"));
    }
}
