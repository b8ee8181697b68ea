//! Entry points for the fuzz targets in `fuzz/`: each feeds bytes a hostile
//! server might send to the real parser, through `Replay` instead of a
//! socket. They must return (with any error) and never panic or hang.

use std::time::Duration;

use super::answer::{self, Depth};
use super::deadline::Deadline;
use super::dialogue;
use super::wire::Replay;
use super::{Proto, TlsStart};

fn deadline() -> Deadline {
    Deadline::after(Duration::from_secs(5))
}

/// A server's answer to a ClientHello: TLS records, ServerHello, Certificate, alerts.
pub fn tls_answer(bytes: &[u8]) {
    let _ = answer::read(&mut Replay(bytes), deadline(), Depth::Hello);
    let _ = answer::read(&mut Replay(bytes), deadline(), Depth::Flight);
}

/// A server's answer to an SSLv2 CLIENT-HELLO.
pub fn sslv2_answer(bytes: &[u8]) {
    let _ = answer::read_sslv2(&mut Replay(bytes), deadline(), super::sslv2::parse_server_hello);
}

/// Everything a server says before TLS, in each dialogue.
pub fn dialogues(bytes: &[u8]) {
    for starttls in [
        TlsStart::Starttls(Proto::Smtp),
        TlsStart::Starttls(Proto::Imap),
        TlsStart::Starttls(Proto::Pop3),
    ] {
        let _ = dialogue::run(Replay(bytes), starttls, "fuzz.example", deadline());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_well_behaved_smtp_server_gets_to_tls() {
        let bytes = b"220 mx ESMTP\r\n250-mx\r\n250 STARTTLS\r\n220 go ahead\r\n";
        assert!(dialogue::run(Replay(bytes), TlsStart::Starttls(Proto::Smtp), "me", deadline()).is_ok());
    }

    #[test]
    fn hostile_bytes_end_in_errors_not_panics() {
        for bytes in [
            &b""[..],
            b"\x16\x03\x01\xff\xff",
            b"250-a\r\n",
            b"\x80\x02",
            b"\x16\x03\x03\x00\x04\x02\xff\xff\xff",
        ] {
            tls_answer(bytes);
            sslv2_answer(bytes);
            dialogues(bytes);
        }
        assert!(dialogue::run(Replay(b"220-x\r\n"), TlsStart::Starttls(Proto::Smtp), "me", deadline()).is_err());
    }

    #[test]
    fn an_endless_banner_stops_at_the_line_limit() {
        let banner = vec![b'2'; 8 << 20];
        let err = dialogue::run(Replay(&banner), TlsStart::Starttls(Proto::Smtp), "me", deadline()).unwrap_err();
        assert!(err.to_string().contains("a line over"), "{err}");
    }

    #[test]
    fn an_endless_multi_line_reply_stops_at_the_reply_limit() {
        let reply = b"220-mx\r\n".repeat(100_000);
        let err = dialogue::run(Replay(&reply), TlsStart::Starttls(Proto::Smtp), "me", deadline()).unwrap_err();
        assert!(err.to_string().contains("more than"), "{err}");
    }

    #[test]
    fn impossible_lengths_are_garbage() {
        // A handshake record that claims 64 KiB, and a ServerHello that claims more than its record.
        let short = answer::read(
            &mut Replay(b"\x16\x03\x03\x00\x06\x02\xff\xff\xff\x03\x03"),
            deadline(),
            Depth::Hello,
        );
        assert!(short.is_err(), "{short:?}");
        let err = answer::read(&mut Replay(b"\x16\x03\x03\xff\xff\x02"), deadline(), Depth::Hello);
        assert!(matches!(err, Err(answer::AnswerError::Garbage(_))), "{err:?}");
    }
}
