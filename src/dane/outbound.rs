//! Outbound DANE (`--outbound-dane`): before a server is told to trust the
//! AD bit of its resolver for TLSA records, check that the resolver sets it.
//! A resolver that does not validate would leave every answer "insecure", and
//! Postfix's `dane` level would quietly fall back to opportunistic TLS.
//!
//! The check asks for the SOA record of a signed name (the root zone unless
//! `--dnssec-probe-name` says otherwise) with DO set, and requires AD.

use hickory_proto::rr::RecordType;

use crate::dns::Resolver;
use crate::error::{Error, Result};
use crate::vocabulary::MtaKind;

/// Ok when `resolver` answers `name SOA` with the AD bit; else a refusal.
pub fn resolver_validates(resolver: &Resolver, name: &str) -> Result<()> {
    let name = if name.is_empty() { "." } else { name };
    let answer = resolver.lookup(name, RecordType::SOA);
    if let Some(error) = &answer.error {
        return Err(Error::Refused(format!(
            "the resolver at {} could not be asked whether it validates DNSSEC ({error}): outbound DANE not planned",
            resolver.addr
        )));
    }
    if !answer.secure {
        return Err(Error::Refused(format!(
            "the resolver at {} does not validate DNSSEC (no AD bit): outbound DANE would fail open",
            resolver.addr
        )));
    }
    Ok(())
}

/// What `--outbound-dane` means for a server other than Postfix: a note for
/// the plan, or (Exim) a refusal.
pub fn other_server(mta: MtaKind) -> Result<Option<String>> {
    match mta {
        MtaKind::Postfix => Ok(None),
        MtaKind::Exim => Err(Error::Refused(
            "--outbound-dane is not supported for Exim: mailtls edits Exim's main options only, and DANE needs \
             hosts_try_dane and dnssec_request_domains on the remote_smtp transport"
                .into(),
        )),
        MtaKind::Dovecot | MtaKind::Cyrus => Ok(Some(format!(
            "{mta}: no outbound DANE (it does not deliver mail to other domains); --outbound-dane changes nothing here"
        ))),
        MtaKind::Sendmail | MtaKind::Opensmtpd => Ok(Some(format!(
            "{mta}: mailtls plans no outbound DANE for it; --outbound-dane changes nothing here"
        ))),
    }
}
