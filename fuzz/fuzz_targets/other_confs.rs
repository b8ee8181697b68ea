//! dovecot.conf, Exim, sendmail.mc, smtpd.conf and imapd.conf: whatever
//! parses must print back byte for byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailtls::edit::dovecot_conf::{DovecotConf, DovecotKey};
use mailtls::edit::exim_conf::EximConf;
use mailtls::edit::imapd_conf::ImapdConf;
use mailtls::edit::sendmail_mc::McFile;
use mailtls::edit::smtpd_conf::SmtpdConf;
use mailtls::edit::{Named, SetValue};

fuzz_target!(|text: &str| {
    if let Ok(mut conf) = DovecotConf::parse(text) {
        assert_eq!(conf.to_string(), text);
        conf.set(DovecotKey::Named(Named::new("ssl_min_protocol", "# mailtls")), "TLSv1.2");
        DovecotConf::parse(&conf.to_string()).expect("an edited dovecot.conf parses");
    }
    if let Ok(conf) = EximConf::parse(text) {
        assert_eq!(conf.to_string(), text);
    }
    if let Ok(mut conf) = ImapdConf::parse(text) {
        assert_eq!(conf.to_string(), text);
        conf.set(Named::new("tls_versions", "# mailtls"), "tls1_2 tls1_3");
        let edited = ImapdConf::parse(&conf.to_string()).expect("an edited imapd.conf parses");
        assert_eq!(edited.get("tls_versions"), Some("tls1_2 tls1_3"));
    }
    assert_eq!(McFile::parse(text).to_string(), text);
    assert_eq!(SmtpdConf::parse(text).to_string(), text);
});
