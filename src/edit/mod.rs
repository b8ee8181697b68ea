//! Layout-preserving config formats. Each parser keeps every line's original
//! text, so `parse(s).to_string() == s`, and an edit changes only the lines it
//! must. `edit` never touches the filesystem; `journal` and `apply` do.

pub mod dovecot_conf;
pub mod exim_conf;
pub mod imapd_conf;
pub mod postfix_main;
pub mod postfix_master;
pub mod sendmail_mc;
pub mod smtpd_conf;

/// Refuses a value that would break out of its line or smuggle in syntax:
/// newlines and other control characters.
pub fn check_one_line(what: &str, value: &str) -> Result<(), String> {
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(format!(
            "{what} contains a control character ({c:?}); it must be one line of text"
        ));
    }
    Ok(())
}
