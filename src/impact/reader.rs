//! Reading logs in bounded memory. A log is read in 1 MiB chunks; within a
//! chunk only the lines holding one of the formats' needles are looked at
//! (found with a SIMD substring search over the whole chunk, so the other
//! lines cost nothing but a newline count). No line longer than
//! `MAX_LINE` is ever held: such a line is skipped and counted, however long
//! it is. gzip files are read through `gzip -dc`, journal exports
//! (`journalctl -o export`) field by field, the live journal through
//! `journalctl -o short-iso`. Peers are counted in a `Tally`; lines are not kept.

use std::borrow::Cow;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};

use memchr::memmem::Finder;
use serde::Serialize;

use super::formats::{LogFormat, Sessions};
use super::sources::Source;
use super::{stamp, Tally};

/// The longest line looked at; longer ones are skipped and counted.
pub const MAX_LINE: usize = 64 * 1024;
const CHUNK: usize = 1 << 20;

/// Why a log source could not be read to its end.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read it: {0}")]
    Open(std::io::Error),
    #[error("cannot run {0}: {1}")]
    Spawn(&'static str, std::io::Error),
    #[error("{0}: {1}")]
    Wait(&'static str, std::io::Error),
    #[error("gzip -dc failed ({0}): the file is damaged or truncated; the lines before the damage were read")]
    Gzip(std::process::ExitStatus),
    #[error("journalctl failed ({0})")]
    Journalctl(std::process::ExitStatus),
    #[error("read error after {lines} lines: {source}")]
    After { lines: u64, source: std::io::Error },
    #[error("read error: {0}")]
    Read(std::io::Error),
    #[error("journal export truncated inside a binary field")]
    TruncatedExport,
}

/// What reading one source found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SourceStats {
    pub source: String,
    /// `text`, `gzip`, `journal-export` or `journal`.
    pub kind: &'static str,
    pub lines: u64,
    /// Lines that said something about a peer's TLS.
    pub events: u64,
    /// Lines longer than `MAX_LINE` bytes, skipped.
    pub overlong_lines: u64,
    /// Lines that were not UTF-8 (read with replacement characters).
    pub undecodable_lines: u64,
    /// TLS sessions logged without their protocol (see coverage).
    pub without_protocol: u64,
    /// Lines older than `--since`, skipped.
    pub older_than_since: u64,
    pub error: Option<String>,
}

/// One pass over any number of sources, into one tally.
pub struct Scanner<'t> {
    formats: Vec<&'static dyn LogFormat>,
    /// Each needle, and which formats (bits, by index in `formats`) read the lines it is on.
    finders: Vec<(Finder<'static>, u64)>,
    sessions: Sessions,
    now: i64,
    since: Option<i64>,
    pub tally: &'t mut Tally,
}

impl<'t> Scanner<'t> {
    pub fn new(formats: Vec<&'static dyn LogFormat>, now: i64, since: Option<i64>, tally: &'t mut Tally) -> Self {
        // Scanning a chunk costs one pass per needle: needles that contain
        // "TLS" or "SSL" are searched as those (the parsers check the rest).
        let mut needles: Vec<(&'static str, u64)> = Vec::new();
        for (i, format) in formats.iter().enumerate() {
            for needle in format.needles() {
                let needle = ["TLS", "SSL_"]
                    .into_iter()
                    .find(|c| needle.contains(c))
                    .unwrap_or(needle);
                match needles.iter_mut().find(|(n, _)| *n == needle) {
                    Some((_, mask)) => *mask |= 1 << i,
                    None => needles.push((needle, 1 << i)),
                }
            }
        }
        // A needle that contains another is found by that one: one pass less.
        while let Some(i) =
            (0..needles.len()).find(|&i| (0..needles.len()).any(|j| j != i && needles[i].0.contains(needles[j].0)))
        {
            let (needle, mask) = needles.remove(i);
            for (n, m) in needles.iter_mut() {
                if needle.contains(*n) {
                    *m |= mask;
                }
            }
        }
        Scanner {
            formats,
            finders: needles.into_iter().map(|(n, mask)| (Finder::new(n), mask)).collect(),
            sessions: Sessions::default(),
            now,
            since,
            tally,
        }
    }

    /// Reads one source to its end; a source that cannot be read says why in `error`.
    pub fn scan(&mut self, source: &Source) -> SourceStats {
        let mut stats = SourceStats {
            source: source.describe(),
            kind: "text",
            ..Default::default()
        };
        let result = match source {
            Source::File(path) => self.scan_file(path, &mut stats),
            Source::Journal(matches) => self.scan_journal(matches, &mut stats),
        };
        if let Err(e) = result {
            stats.error = Some(e.to_string());
        }
        stats
    }

    fn scan_file(&mut self, path: &Path, stats: &mut SourceStats) -> Result<(), ReadError> {
        let mut file = std::fs::File::open(path).map_err(ReadError::Open)?;
        // Peek at the first bytes (a FIFO cannot seek back: they are chained in front again).
        let mut head = [0u8; 9];
        let mut got = 0;
        while got < head.len() {
            match file.read(&mut head[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ReadError::Open(e)),
            }
        }
        let head = &head[..got];
        if head.starts_with(&[0x1f, 0x8b]) {
            stats.kind = "gzip";
            drop(file);
            let mut child = Command::new("gzip")
                .arg("-dc")
                .arg(path)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| ReadError::Spawn("gzip -dc", e))?;
            let stdout = child.stdout.take().expect("piped");
            let bar = read_bar(&stats.source, None);
            let read = self.scan_text(with_bar(stdout, &bar), stats);
            finish(bar);
            let status = child.wait().map_err(|e| ReadError::Wait("gzip -dc", e))?;
            read?;
            if !status.success() {
                return Err(ReadError::Gzip(status));
            }
            return Ok(());
        }
        // Regular files only: a FIFO's length says nothing.
        let len = file.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
        let bar = len
            .filter(|n| *n >= BAR_FROM)
            .and_then(|n| read_bar(&stats.source, Some(n)));
        let reader = with_bar(std::io::Cursor::new(head.to_vec()).chain(file), &bar);
        let read = if head.starts_with(b"__CURSOR=") || head.starts_with(b"__REALTIM") {
            stats.kind = "journal-export";
            self.scan_export(reader, stats)
        } else {
            self.scan_text(reader, stats)
        };
        finish(bar);
        read
    }

    fn scan_journal(&mut self, matches: &[String], stats: &mut SourceStats) -> Result<(), ReadError> {
        stats.kind = "journal";
        let mut command = Command::new("journalctl");
        command.args(["-o", "short-iso", "--no-pager", "-q"]);
        if let Some(since) = self.since {
            command.arg(format!("--since=@{since}"));
        }
        let mut child = command
            .args(matches)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| ReadError::Spawn("journalctl", e))?;
        let stdout = child.stdout.take().expect("piped");
        let bar = read_bar(&stats.source, None);
        let read = self.scan_text(with_bar(stdout, &bar), stats);
        finish(bar);
        let status = child.wait().map_err(|e| ReadError::Wait("journalctl", e))?;
        read?;
        if !status.success() {
            return Err(ReadError::Journalctl(status));
        }
        Ok(())
    }

    /// Newline-separated text, in chunks, never holding more than `CHUNK` bytes.
    pub fn scan_text(&mut self, mut reader: impl Read, stats: &mut SourceStats) -> Result<(), ReadError> {
        let mut buf = vec![0u8; CHUNK];
        let mut len = 0;
        // Inside a line already counted as over-long: drop bytes up to its newline.
        let mut skipping = false;
        loop {
            let mut eof = false;
            while len < buf.len() {
                match reader.read(&mut buf[len..]) {
                    Ok(0) => {
                        eof = true;
                        break;
                    }
                    Ok(n) => len += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        return Err(ReadError::After {
                            lines: stats.lines,
                            source: e,
                        })
                    }
                }
            }
            let mut start = 0;
            if skipping {
                match memchr::memchr(b'\n', &buf[..len]) {
                    Some(nl) => {
                        skipping = false;
                        stats.lines += 1;
                        start = nl + 1;
                    }
                    None => {
                        len = 0;
                        if eof {
                            stats.lines += 1;
                            return Ok(());
                        }
                        continue;
                    }
                }
            }
            let data = &buf[start..len];
            match memchr::memrchr(b'\n', data) {
                Some(last) => {
                    let (complete, tail) = (start + last + 1, len);
                    self.region(&buf[start..complete], stats);
                    if eof && complete < tail {
                        self.region(&buf[complete..tail], stats);
                        stats.lines += 1;
                        return Ok(());
                    }
                    buf.copy_within(complete..tail, 0);
                    len = tail - complete;
                }
                None if eof => {
                    if !data.is_empty() {
                        self.region(data, stats);
                        stats.lines += 1;
                    }
                    return Ok(());
                }
                None => {
                    buf.copy_within(start..len, 0);
                    len -= start;
                }
            }
            if eof {
                return Ok(());
            }
            if len > MAX_LINE {
                // No newline within MAX_LINE bytes: this line is skipped, however long it is.
                stats.overlong_lines += 1;
                skipping = true;
                len = 0;
            }
        }
    }

    /// Complete lines (the last may lack its newline at the end of input).
    fn region(&mut self, region: &[u8], stats: &mut SourceStats) {
        let mut line_start = 0;
        for nl in memchr::memchr_iter(b'\n', region) {
            stats.lines += 1;
            if nl - line_start > MAX_LINE {
                stats.overlong_lines += 1;
            }
            line_start = nl + 1;
        }
        if region.len() - line_start > MAX_LINE {
            stats.overlong_lines += 1;
        }
        let mut next: Vec<Option<usize>> = self.finders.iter().map(|(f, _)| f.find(region)).collect();
        while let Some(hit) = next.iter().flatten().min().copied() {
            let start = memchr::memrchr(b'\n', &region[..hit]).map_or(0, |i| i + 1);
            let end = memchr::memchr(b'\n', &region[hit..]).map_or(region.len(), |i| hit + i);
            // Only the formats whose needles are on this line read it.
            let mask = self
                .finders
                .iter()
                .zip(&next)
                .filter(|(_, p)| p.is_some_and(|p| p < end))
                .fold(0, |mask, ((_, m), _)| mask | m);
            if end - start <= MAX_LINE {
                self.line(&region[start..end], mask, stats);
            }
            let from = end + 1;
            if from >= region.len() {
                break;
            }
            for ((finder, _), position) in self.finders.iter().zip(next.iter_mut()) {
                if position.is_some_and(|p| p < from) {
                    *position = finder.find(&region[from..]).map(|p| p + from);
                }
            }
        }
    }

    fn line(&mut self, bytes: &[u8], mask: u64, stats: &mut SourceStats) {
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => {
                stats.undecodable_lines += 1;
                String::from_utf8_lossy(bytes)
            }
        };
        let text = text.trim_end_matches('\r');
        let time = stamp::parse(bytes, self.now);
        if let (Some(since), Some(t)) = (self.since, time) {
            if t < since {
                stats.older_than_since += 1;
                return;
            }
        }
        for (i, format) in self.formats.iter().enumerate() {
            if mask & (1 << i) == 0 {
                continue;
            }
            if let Some(event) = format.parse(text, &mut self.sessions) {
                stats.events += 1;
                self.tally.add(&event, time);
                return;
            }
            if format.lacks_protocol(text) {
                // That format's line, only without the protocol: no other's.
                stats.without_protocol += 1;
                return;
            }
        }
    }

    /// `journalctl -o export`: entries of `KEY=value` lines (or `KEY`, a
    /// 64-bit little-endian length and binary data) ended by a blank line.
    /// Each entry becomes the line syslog would have written.
    fn scan_export(&mut self, reader: impl Read, stats: &mut SourceStats) -> Result<(), ReadError> {
        let mut reader = BufReader::with_capacity(64 * 1024, reader);
        let mut entry = ExportEntry::default();
        let mut field = Vec::new();
        loop {
            let (eof, overlong) = bounded_line(&mut reader, &mut field).map_err(ReadError::Read)?;
            if overlong {
                stats.overlong_lines += 1;
            } else if field.is_empty() {
                if let Some(line) = entry.line() {
                    stats.lines += 1;
                    let mask = self
                        .finders
                        .iter()
                        .filter(|(f, _)| f.find(line.as_bytes()).is_some())
                        .fold(0, |mask, (_, m)| mask | m);
                    if mask != 0 {
                        self.line(line.as_bytes(), mask, stats);
                    }
                }
                entry = ExportEntry::default();
            } else if let Some(eq) = memchr::memchr(b'=', &field) {
                entry.set(&field[..eq], &field[eq + 1..]);
            } else {
                // A binary field: its name, then the length and the data.
                let mut size = [0u8; 8];
                if reader.read_exact(&mut size).is_err() {
                    return Err(ReadError::TruncatedExport);
                }
                let size = u64::from_le_bytes(size);
                let mut data = Vec::new();
                if size as usize <= MAX_LINE {
                    (&mut reader)
                        .take(size)
                        .read_to_end(&mut data)
                        .map_err(ReadError::Read)?;
                    entry.set(&field, &data);
                } else {
                    stats.overlong_lines += 1;
                    std::io::copy(&mut (&mut reader).take(size), &mut std::io::sink()).map_err(ReadError::Read)?;
                }
                let mut newline = [0u8; 1];
                let _ = reader.read_exact(&mut newline);
            }
            if eof {
                if let Some(line) = entry.line() {
                    stats.lines += 1;
                    self.line(line.as_bytes(), u64::MAX, stats);
                }
                return Ok(());
            }
        }
    }
}

/// Files smaller than this are read without a progress bar (it would only flicker).
const BAR_FROM: u64 = 8 << 20;

/// A progress bar on stderr while one source is read, only when stderr is a
/// terminal: bytes of `len` with an ETA for a file, a byte counter for a
/// stream (gzip -dc, journalctl). Drawn by indicatif, as `Output`'s spinner.
fn read_bar(source: &str, len: Option<u64>) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let (bar, template) = match len {
        Some(n) => (
            indicatif::ProgressBar::new(n),
            "Reading {msg} {wide_bar} {bytes}/{total_bytes} {eta}",
        ),
        None => (indicatif::ProgressBar::new_spinner(), "Reading {msg} {spinner} {bytes}"),
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.set_message(crate::escape::escape(source).into_owned());
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    Some(bar)
}

/// `reader`, counting its bytes into `bar` when there is one.
fn with_bar<'a>(reader: impl Read + 'a, bar: &Option<indicatif::ProgressBar>) -> Box<dyn Read + 'a> {
    match bar {
        Some(bar) => Box::new(bar.wrap_read(reader)),
        None => Box::new(reader),
    }
}

fn finish(bar: Option<indicatif::ProgressBar>) {
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}

/// Reads one line into `out` (without its newline), keeping at most
/// `MAX_LINE` bytes: returns (end of input, the line was longer).
fn bounded_line(reader: &mut impl BufRead, out: &mut Vec<u8>) -> std::io::Result<(bool, bool)> {
    out.clear();
    let mut overlong = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok((true, overlong));
        }
        let (take, done) = match memchr::memchr(b'\n', available) {
            Some(nl) => (nl, true),
            None => (available.len(), false),
        };
        if !overlong && out.len() + take <= MAX_LINE {
            out.extend_from_slice(&available[..take]);
        } else {
            overlong = true;
            out.clear();
        }
        reader.consume(if done { take + 1 } else { take });
        if done {
            return Ok((false, overlong));
        }
    }
}

#[derive(Default)]
struct ExportEntry {
    message: Option<String>,
    identifier: Option<String>,
    pid: Option<String>,
    host: Option<String>,
    realtime: Option<i64>,
}

impl ExportEntry {
    fn set(&mut self, key: &[u8], value: &[u8]) {
        let text = || String::from_utf8_lossy(value).into_owned();
        match key {
            b"MESSAGE" => self.message = Some(text()),
            b"SYSLOG_IDENTIFIER" => self.identifier = Some(text()),
            b"SYSLOG_PID" | b"_PID" if self.pid.is_none() => self.pid = Some(text()),
            b"_HOSTNAME" => self.host = Some(text()),
            b"__REALTIME_TIMESTAMP" => {
                self.realtime = std::str::from_utf8(value).ok().and_then(|v| v.parse::<i64>().ok())
            }
            _ => {}
        }
    }

    /// `2026-12-01T02:56:08Z host ident[pid]: message`.
    fn line(&self) -> Option<String> {
        let message = self.message.as_ref()?;
        let when = self
            .realtime
            .map_or_else(|| "-".to_string(), |us| stamp::format(us / 1_000_000));
        Some(format!(
            "{when} {} {}[{}]: {message}",
            self.host.as_deref().unwrap_or("-"),
            self.identifier.as_deref().unwrap_or("-"),
            self.pid.as_deref().unwrap_or("0"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::impact::formats::FORMATS;

    const TLS1: &str = "Dec  1 02:56:08 mx postfix/smtpd[1]: Anonymous TLS connection established from unknown[127.0.0.2]: TLSv1 with cipher ECDHE-RSA-AES256-SHA (256/256 bits)\n";

    fn scan(input: impl Read) -> (SourceStats, Tally) {
        let mut tally = Tally::default();
        let mut stats = SourceStats::default();
        Scanner::new(FORMATS.to_vec(), 1_796_000_000, None, &mut tally)
            .scan_text(input, &mut stats)
            .unwrap();
        (stats, tally)
    }

    #[test]
    fn one_pass_per_needle_that_contains_no_other() {
        let mut tally = Tally::default();
        let scanner = Scanner::new(FORMATS.to_vec(), 1_796_000_000, None, &mut tally);
        let needles: Vec<&[u8]> = scanner.finders.iter().map(|(f, _)| f.needle()).collect();
        // Cyrus's "STARTTLS failed: " is found by "TLS"; its peer lines need their own passes.
        assert_eq!(
            needles,
            [&b"TLS"[..], b"address=", b"SSL", b"pop3s failed: ", b"login: "]
        );
        // "SSL_accept error" (Postfix) is found by OpenSMTPD's "SSL".
        let postfix = FORMATS
            .iter()
            .position(|f| f.mta() == crate::mta::MtaKind::Postfix)
            .unwrap();
        assert_ne!(scanner.finders[2].1 & (1 << postfix), 0);
        let line = "Dec  1 02:56:08 mx postfix/smtpd[1]: SSL_accept error from unknown[127.0.0.9]: -1\n";
        let (stats, tally) = scan(line.as_bytes());
        assert_eq!((stats.events, tally.len()), (1, 1));
    }

    #[test]
    fn long_lines_are_skipped_and_counted_across_chunks() {
        // A 3 MiB line with no newline, between two good lines, and junk with NULs.
        let input = TLS1
            .as_bytes()
            .chain(std::io::repeat(b'x').take(3 << 20))
            .chain(&b"\nbinary \x00\xff\xfe TLS connection established from \xff[\n"[..])
            .chain(TLS1.as_bytes())
            .chain(&b"Dec  1 02:56:08 mx postfix/smtpd[1]: Anonymous TLS connection est"[..]);
        let (stats, tally) = scan(input);
        assert_eq!(stats.lines, 5);
        assert_eq!(stats.overlong_lines, 1);
        assert_eq!(stats.undecodable_lines, 1);
        assert_eq!(stats.events, 2);
        assert_eq!(tally.len(), 1);
    }

    #[test]
    fn a_line_longer_than_max_but_inside_one_chunk_is_skipped() {
        let long = format!("{}{}\n", TLS1.trim_end(), " TLS".repeat(MAX_LINE));
        let (stats, _) = scan(long.as_bytes().chain(TLS1.as_bytes()));
        assert_eq!((stats.lines, stats.overlong_lines, stats.events), (2, 1, 1));
    }

    #[test]
    fn journal_export_entries_become_lines() {
        let mut export = Vec::new();
        export.extend_from_slice(b"__CURSOR=s=1\n__REALTIME_TIMESTAMP=1764557768000000\n_HOSTNAME=mx\nSYSLOG_IDENTIFIER=postfix/smtpd\n_PID=9\nMESSAGE=Anonymous TLS connection established from unknown[127.0.0.2]: TLSv1.2 with cipher AES256-SHA (256/256 bits)\n\n");
        export.extend_from_slice(b"__CURSOR=s=2\nSYSLOG_IDENTIFIER=postfix/smtpd\nMESSAGE\n");
        let binary = b"Anonymous TLS connection established from unknown[127.0.0.3]: TLSv1.3 with cipher TLS_AES_128_GCM_SHA256 (128/128 bits)\x00";
        export.extend_from_slice(&(binary.len() as u64).to_le_bytes());
        export.extend_from_slice(binary);
        export.extend_from_slice(b"\n\n");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("export");
        std::fs::write(&path, export).unwrap();
        let mut tally = Tally::default();
        let stats = Scanner::new(FORMATS.to_vec(), 1_796_000_000, None, &mut tally).scan(&Source::File(path));
        assert_eq!(
            (stats.kind, stats.lines, stats.events, stats.error),
            ("journal-export", 2, 2, None)
        );
    }
}
