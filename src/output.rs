//! Where output goes: with `--json`, one JSON document on stdout and human
//! text on stderr; without, human text on stdout. Color only on a terminal
//! (or `--color always`), never when NO_COLOR is set.

use std::io::{IsTerminal, Write};

use crate::cli::{ColorChoice, Global};

pub struct Output {
    pub json: bool,
    pub color: bool,
    pub verbose: u8,
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
        }
    }

    /// Human text: stdout, or stderr when stdout carries JSON.
    pub fn say(&self, text: &str) {
        if self.json {
            let _ = writeln!(std::io::stderr(), "{text}");
        } else {
            let _ = writeln!(std::io::stdout(), "{text}");
        }
    }

    /// Warnings always go to stderr.
    pub fn warn(&self, text: &str) {
        let _ = writeln!(std::io::stderr(), "{}", self.paint(&format!("warning: {text}"), "33"));
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

    pub fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}
