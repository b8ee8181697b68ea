//! The time at the start of a log line, as seconds since the epoch (UTC):
//! syslog's "Dec  1 02:56:08" (no year: the latest year that does not put it
//! in the future), RFC 3339 as rsyslog and `journalctl -o short-iso` write it
//! ("2026-12-01T02:56:08.123+00:00"), and Exim's "2026-12-01 02:56:08".
//! Local times are read as UTC: a few hours do not change who negotiated what.

/// Reads the time a line starts with; `now` settles syslog's missing year.
pub fn parse(line: &[u8], now: i64) -> Option<i64> {
    match line.first()? {
        b'0'..=b'9' => iso(line),
        _ => syslog(line, now),
    }
}

fn iso(line: &[u8]) -> Option<i64> {
    // YYYY-MM-DD[T ]HH:MM:SS
    if line.len() < 19 || line[4] != b'-' || line[7] != b'-' || !matches!(line[10], b'T' | b' ') {
        return None;
    }
    let year = number(&line[0..4])?;
    let month = number(&line[5..7])?;
    let day = number(&line[8..10])?;
    let seconds = clock(&line[11..19])?;
    let mut t = days_from_civil(year, month, day)? * 86_400 + seconds;
    // An offset after the optional fraction: Z, +HH:MM or +HHMM.
    let mut rest = &line[19..];
    if rest.first() == Some(&b'.') {
        let digits = rest[1..].iter().take_while(|b| b.is_ascii_digit()).count();
        rest = &rest[1 + digits..];
    }
    if let Some(sign @ (b'+' | b'-')) = rest.first() {
        let hours = rest.get(1..3).and_then(number);
        let minutes = match rest.get(3) {
            Some(b':') => rest.get(4..6).and_then(number),
            _ => rest.get(3..5).and_then(number),
        };
        if let (Some(h), Some(m)) = (hours, minutes) {
            let offset = h * 3600 + m * 60;
            t += if *sign == b'+' { -offset } else { offset };
        }
    }
    Some(t)
}

fn syslog(line: &[u8], now: i64) -> Option<i64> {
    // "Mmm dD HH:MM:SS" or "Mmm DD HH:MM:SS"
    if line.len() < 15 || line[3] != b' ' || line[6] != b' ' {
        return None;
    }
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
    ];
    let month = MONTHS.iter().position(|m| m[..] == line[0..3])? as i64 + 1;
    let day = match line[4] {
        b' ' => number(&line[5..6])?,
        _ => number(&line[4..6])?,
    };
    let seconds = clock(&line[7..15])?;
    let this_year = year_of(now);
    // The latest year that does not put the line more than a day in the future.
    [this_year, this_year - 1].into_iter().find_map(|year| {
        let t = days_from_civil(year, month, day)? * 86_400 + seconds;
        (t <= now + 86_400).then_some(t)
    })
}

/// `civil_year(now)`, remembered for the last `now` asked (every line of a
/// scan asks with the same one); one atomic word holds both, `now << 16 | year`.
fn year_of(now: i64) -> i64 {
    use std::sync::atomic::{AtomicI64, Ordering};
    static CACHE: AtomicI64 = AtomicI64::new(-1);
    let cached = CACHE.load(Ordering::Relaxed);
    if cached >= 0 && cached >> 16 == now {
        return cached & 0xffff;
    }
    let year = civil_year(now);
    if (0..1 << 46).contains(&now) && (0..=0xffff).contains(&year) {
        CACHE.store(now << 16 | year, Ordering::Relaxed);
    }
    year
}

fn clock(text: &[u8]) -> Option<i64> {
    if text[2] != b':' || text[5] != b':' {
        return None;
    }
    let (h, m, s) = (number(&text[0..2])?, number(&text[3..5])?, number(&text[6..8])?);
    (h < 24 && m < 60 && s < 61).then_some(h * 3600 + m * 60 + s)
}

fn number(text: &[u8]) -> Option<i64> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(text.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> Option<i64> {
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

fn civil_year(t: i64) -> i64 {
    let days = t.div_euclid(86_400) + 719_468;
    let era = days.div_euclid(146_097);
    let doe = days - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    yoe + era * 400 + i64::from(month <= 2)
}

/// RFC 3339 in UTC, for reports.
pub fn format(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_000_000; // 2026-11-28

    #[test]
    fn every_layout() {
        let iso = parse(b"2026-11-28T10:00:00+00:00 host x", NOW).unwrap();
        assert_eq!(format(iso), "2026-11-28T10:00:00Z");
        assert_eq!(parse(b"2026-11-28T12:00:00.123456+02:00 h", NOW), Some(iso));
        assert_eq!(parse(b"2026-11-28T10:00:00+0000 h", NOW), Some(iso));
        assert_eq!(parse(b"2026-11-28 10:00:00 1abc <= x", NOW), Some(iso));
        assert_eq!(parse(b"Nov 28 10:00:00 host postfix", NOW), Some(iso));
        assert_eq!(
            format(parse(b"Dec  1 02:56:08 h", NOW).unwrap()),
            "2025-12-01T02:56:08Z"
        );
        assert_eq!(
            format(parse(b"Jan 05 02:56:08 h", NOW).unwrap()),
            "2026-01-05T02:56:08Z"
        );
        assert_eq!(parse(b"Foo 05 02:56:08 h", NOW), None);
        assert_eq!(parse(b"2026-13-05 02:56:08", NOW), None);
        assert_eq!(parse(b"", NOW), None);
    }
}
