//! Where output goes: with `--json`, one JSON document on stdout and human
//! text on stderr; without, human text on stdout. Color only on a terminal
//! (or `--color always`), never when NO_COLOR is set. A spinner on stderr
//! (a terminal only) shows progress; text said meanwhile prints above it.
//! Text from outside is escaped where it is printed (`escape`); as a safety
//! net every line said here is escaped again, keeping only mailtls's own
//! colors.

use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use crate::cli::{ColorChoice, Global};
use crate::escape::escape_lines;

pub struct Output {
    pub json: bool,
    pub color: bool,
    pub verbose: u8,
    spinner: Mutex<Option<indicatif::ProgressBar>>,
}

impl Output {
    pub fn new(global: &Global) -> Output {
        let terminal = if global.json {
            std::io::stderr().is_terminal()
        } else {
            std::io::stdout().is_terminal()
        };
        let color = match global.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        };
        Output {
            json: global.json,
            color,
            verbose: global.verbose,
            spinner: Mutex::new(None),
        }
    }

    /// Human text: stdout, or stderr when stdout carries JSON.
    pub fn say(&self, text: &str) {
        let text = self.terminal_safe(text);
        self.above_spinner(|| {
            if self.json {
                let _ = writeln!(std::io::stderr(), "{text}");
            } else {
                let _ = writeln!(std::io::stdout(), "{text}");
            }
        });
    }

    /// Warnings always go to stderr.
    pub fn warn(&self, text: &str) {
        self.above_spinner(|| {
            let _ = writeln!(std::io::stderr(), "{}", self.paint(&format!("warning: {text}"), "33"));
        });
    }

    /// Shows (or relabels) the spinner: "Reloading postfix…". Nothing when stderr is not a terminal.
    pub fn progress(&self, message: &str) {
        if !std::io::stderr().is_terminal() {
            return;
        }
        let mut spinner = self.spinner.lock().unwrap_or_else(|p| p.into_inner());
        let bar = spinner.get_or_insert_with(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        bar.set_message(message.to_string());
    }

    /// Removes the spinner, if one is shown.
    pub fn progress_done(&self) {
        if let Some(bar) = self.spinner.lock().unwrap_or_else(|p| p.into_inner()).take() {
            bar.finish_and_clear();
        }
    }

    fn above_spinner(&self, print: impl FnOnce()) {
        match &*self.spinner.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }

    /// The JSON result, when `--json` was given.
    pub fn result(&self, value: &serde_json::Value) {
        if self.json {
            let _ = writeln!(
                std::io::stdout(),
                "{}",
                serde_json::to_string_pretty(value).expect("JSON values serialize")
            );
        }
    }

    /// `text` (escaped) in an SGR color: "1" bold, "31" red, "33" yellow, "36" cyan.
    pub fn paint(&self, text: &str, code: &str) -> String {
        let text = escape_lines(text);
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.into_owned()
        }
    }

    /// The safety net under every line said: control characters escaped,
    /// except, when coloring, the SGR color sequences (`ESC [ digits ; m`)
    /// `paint` makes. Those can only recolor text; values from outside are
    /// escaped before they get here, so their ESC bytes never reach this.
    fn terminal_safe<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if !self.color {
            return escape_lines(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find('\x1b') {
            out.push_str(&escape_lines(&rest[..at]));
            let after = &rest[at + 1..];
            let sgr = after.strip_prefix('[').and_then(|params| {
                let end = params.find(|c: char| !(c.is_ascii_digit() || c == ';'))?;
                params[end..].starts_with('m').then_some(end + 2)
            });
            match sgr {
                Some(len) => {
                    out.push_str(&rest[at..at + 1 + len]);
                    rest = &rest[at + 1 + len..];
                }
                None => {
                    out.push_str("\\x1b");
                    rest = after;
                }
            }
        }
        out.push_str(&escape_lines(rest));
        Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(color: bool) -> Output {
        Output {
            json: false,
            color,
            verbose: 0,
            spinner: Mutex::new(None),
        }
    }

    #[test]
    fn the_safety_net_keeps_only_colors() {
        let colored = output(true);
        let painted = colored.paint("weak: \x1b]52;c;cm0gLXJm\x07", "33");
        assert_eq!(painted, "\x1b[33mweak: \\x1b]52;c;cm0gLXJm\\x07\x1b[0m");
        assert_eq!(colored.terminal_safe(&painted), painted);
        assert_eq!(
            colored.terminal_safe("a\x1b[2Jb\x1b]0;t\x07\x1b[1m"),
            "a\\x1b[2Jb\\x1b]0;t\\x07\x1b[1m"
        );
        assert_eq!(output(false).terminal_safe("\x1b[1mx\nnext"), "\\x1b[1mx\nnext");
    }
}
