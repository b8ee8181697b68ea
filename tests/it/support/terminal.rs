//! A terminal for tests: a pane in a private tmux server (its own socket),
//! read back as the screen a user sees or, recorded, as the raw bytes the
//! program wrote to the terminal. Killed on drop.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmux server of our own (its own socket) running one pane; killed on drop.
pub struct Pane {
    socket: String,
}

impl Pane {
    /// Runs `command` in a 200x50 pane; when it ends the pane prints `[exit N]` and stays.
    pub fn start(name: &str, command: &str) -> Pane {
        Pane::launch(name, &format!("{command}; echo \"[exit $?]\"; sleep 600"))
    }

    /// Runs `command` in a pane as `start` does, recording every byte written
    /// to the terminal (escape codes and lines later erased included) into
    /// `raw`, from before the command's first byte.
    pub fn recorded(name: &str, command: &str, raw: &Path) -> Pane {
        let go = raw.with_extension("go");
        let wait = format!("while [ ! -e '{}' ]; do sleep 0.05; done", go.display());
        let pane = Pane::launch(name, &format!("{wait}; {command}; echo \"[exit $?]\"; sleep 600"));
        let pipe = format!("cat >> '{}'", raw.display());
        assert!(pane.tmux().args(["pipe-pane", "-o", &pipe]).status().unwrap().success());
        std::fs::write(&go, "").unwrap();
        pane
    }

    fn launch(name: &str, script: &str) -> Pane {
        let pane = Pane {
            socket: format!("mailtls-test-{}-{name}", std::process::id()),
        };
        let status = pane
            .tmux()
            .args(["new-session", "-d", "-x", "200", "-y", "50", "sh", "-c", script])
            .status()
            .expect("tmux runs (scripts/test-deps installs it)");
        assert!(status.success(), "tmux new-session failed");
        pane
    }

    pub fn tmux(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket, "-f", "/dev/null"]);
        c
    }

    /// Everything the pane showed so far, scrolled-off lines included, wrapped lines joined.
    pub fn screen(&self) -> String {
        let out = self
            .tmux()
            .args(["capture-pane", "-p", "-J", "-S", "-"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Polls the screen until `done` holds; panics with the screen after 90 s.
    pub fn wait_until(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            if screen.contains("[exit ") || Instant::now() > deadline {
                panic!("waited for {what}; the screen shows:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn wait_for(&self, text: &str, times: usize) -> String {
        self.wait_until(text, |s| s.matches(text).count() >= times)
    }

    /// Sends keys by tmux name (`Enter`, `Up`) or literal text (`-l`).
    pub fn keys(&self, keys: &[&str]) {
        assert!(self.tmux().arg("send-keys").args(keys).status().unwrap().success());
    }

    pub fn text(&self, text: &str) {
        assert!(self.tmux().args(["send-keys", "-l", text]).status().unwrap().success());
    }

    /// Waits for the command to end; returns its exit code and the screen.
    pub fn finish(&self) -> (i32, String) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let screen = self.screen();
            if let Some(code) = screen.split("[exit ").nth(1).and_then(|r| r.split(']').next()) {
                return (code.parse().unwrap(), screen);
            }
            assert!(Instant::now() < deadline, "mailtls did not finish:\n{screen}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").status();
    }
}
