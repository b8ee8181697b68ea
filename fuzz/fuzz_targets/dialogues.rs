//! A hostile server's side of the SMTP, IMAP and POP3 dialogues before TLS.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    mailtls::probe::fuzzing::dialogues(bytes);
});
