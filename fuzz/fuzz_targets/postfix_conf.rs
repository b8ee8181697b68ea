//! main.cf and master.cf: whatever parses must print back byte for byte,
//! and an edit must leave a file that parses again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailtls::edit::postfix_main::MainCf;
use mailtls::edit::postfix_master::{MasterCf, ServiceOverride};
use mailtls::edit::{Named, SetValue};

fuzz_target!(|text: &str| {
    if let Ok(mut main) = MainCf::parse(text) {
        assert_eq!(main.to_string(), text);
        main.set(Named::new("smtpd_tls_protocols", "# mailtls"), ">=TLSv1.2");
        let edited = main.to_string();
        assert_eq!(MainCf::parse(&edited).expect("an edited main.cf parses").get("smtpd_tls_protocols").as_deref(), Some(">=TLSv1.2"));
    }
    if let Ok(mut master) = MasterCf::parse(text) {
        assert_eq!(master.to_string(), text);
        for index in 0..master.services().len() {
            let names: Vec<String> = master.services()[index].overrides().into_iter().map(|o| o.name).collect();
            for name in names {
                master.set(ServiceOverride { service: index, name: &name }, "x");
            }
        }
        MasterCf::parse(&master.to_string()).expect("an edited master.cf parses");
    }
});
