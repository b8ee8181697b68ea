//! Where output goes: with `--json`, one JSON document on stdout and human
//! text on stderr; without, human text on stdout. Color only on a terminal
//! (or `--color always`), never when NO_COLOR is set. A spinner on stderr
//! (a terminal only) shows progress; text said meanwhile prints above it.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use crate::cli::{ColorChoice, Global};

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

    pub fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}
