//! Scripted fake servers: a loopback TcpListener whose every connection runs
//! a closure on its own thread. For behaviour no real server can be made to
//! show on demand: SSLv2/SSLv3 answers, 421, silence, garbage.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};

/// Serves `handler` on a free loopback port until the process ends; returns the port.
pub fn serve(handler: impl Fn(TcpStream, usize) + Send + Sync + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let handler = std::sync::Arc::new(handler);
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(stream) = stream else { continue };
            let handler = handler.clone();
            std::thread::spawn(move || handler(stream, n));
        }
    });
    port
}

/// The server half of an SMTP dialogue up to "220 go ahead", with
/// multi-line replies; `starttls` decides whether EHLO advertises it.
/// Returns false if the client left early.
pub fn smtp_until_starttls(stream: &mut TcpStream, starttls: bool) -> bool {
    smtp_until_starttls_after(
        stream,
        b"220-fake.example ESMTP\r\n220 second banner line\r\n",
        starttls,
    )
}

/// The same dialogue after the given `banner` (whole reply lines).
pub fn smtp_until_starttls_after(stream: &mut TcpStream, banner: &[u8], starttls: bool) -> bool {
    let Ok(clone) = stream.try_clone() else {
        return false;
    };
    let mut reader = BufReader::new(clone);
    if stream.write_all(banner).is_err() {
        return false;
    }
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return false;
        }
        let cmd = line.trim().to_ascii_uppercase();
        let reply: &[u8] = if cmd.starts_with("EHLO") {
            if starttls {
                b"250-fake.example\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
            } else {
                b"250-fake.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
            }
        } else if cmd == "STARTTLS" {
            let _ = stream.write_all(b"220 2.0.0 Ready to start TLS\r\n");
            return true;
        } else {
            b"502 5.5.2 what\r\n"
        };
        if stream.write_all(reply).is_err() {
            return false;
        }
    }
}

/// Reads a TLS ClientHello record: (client_version, offered suites), or None
/// for anything else. An SSLv2 CLIENT-HELLO gives version 0x0002.
pub fn read_client_hello(stream: &mut TcpStream) -> Option<(u16, Vec<u16>)> {
    let mut head = [0u8; 2];
    stream.read_exact(&mut head).ok()?;
    if head[0] & 0x80 != 0 {
        let len = usize::from(head[0] & 0x7f) << 8 | usize::from(head[1]);
        let mut msg = vec![0; len];
        stream.read_exact(&mut msg).ok()?;
        return Some((u16::from_be_bytes([msg[1], msg[2]]), Vec::new()));
    }
    let mut rest = [0u8; 3];
    stream.read_exact(&mut rest).ok()?;
    let len = usize::from(rest[1]) << 8 | usize::from(rest[2]);
    let mut body = vec![0; len];
    stream.read_exact(&mut body).ok()?;
    // handshake header (4), version (2), random (32), session id
    let version = u16::from_be_bytes([body[4], body[5]]);
    let sid = usize::from(body[38]);
    let at = 39 + sid;
    let n = usize::from(u16::from_be_bytes([body[at], body[at + 1]]));
    let suites = body[at + 2..at + 2 + n]
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    Some((version, suites))
}

/// A ServerHello (no extensions) for `version` and `suite`, and ServerHelloDone, in one record.
pub fn server_hello(version: u16, suite: u16) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&version.to_be_bytes());
    body.extend_from_slice(&[0x11; 32]);
    body.push(0); // session id
    body.extend_from_slice(&suite.to_be_bytes());
    body.push(0); // compression
    let mut hs = vec![0x02, 0, (body.len() >> 8) as u8, body.len() as u8];
    hs.extend_from_slice(&body);
    // ServerHelloDone: the flight is complete (the probe counts only complete ones).
    hs.extend_from_slice(&[0x0e, 0, 0, 0]);
    let mut rec = vec![
        0x16,
        (version >> 8) as u8,
        version as u8,
        (hs.len() >> 8) as u8,
        hs.len() as u8,
    ];
    rec.extend_from_slice(&hs);
    rec
}

/// A fatal alert record.
pub fn alert(description: u8) -> Vec<u8> {
    vec![0x15, 0x03, 0x01, 0x00, 0x02, 0x02, description]
}

/// An SSLv2 SERVER-HELLO listing the given cipher kinds.
pub fn sslv2_server_hello(kinds: &[[u8; 3]]) -> Vec<u8> {
    let cert = [0x30, 0x00];
    let mut msg = vec![0x04, 0, 1, 0x00, 0x02];
    msg.extend_from_slice(&(cert.len() as u16).to_be_bytes());
    msg.extend_from_slice(&((kinds.len() * 3) as u16).to_be_bytes());
    msg.extend_from_slice(&16u16.to_be_bytes());
    msg.extend_from_slice(&cert);
    for k in kinds {
        msg.extend_from_slice(k);
    }
    msg.extend_from_slice(&[0x33; 16]);
    let mut rec = vec![0x80 | (msg.len() >> 8) as u8, msg.len() as u8];
    rec.extend_from_slice(&msg);
    rec
}
