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

/// The template language a line is written in, when it is not config syntax
/// but a generator's (mail stacks ship templates that their tooling renders):
/// Jinja (`{% ... %}`, `{{ ... }}`), ERB (`<%= ... %>`), or Python `%`
/// substitution at the start of a line (`%name`, `%{name}`).
pub fn template_syntax(line: &str) -> Option<&'static str> {
    let t = line.trim();
    if t.contains("{%") || t.contains("{{") {
        Some("Jinja `{% ... %}`/`{{ ... }}`")
    } else if t.contains("<%") {
        Some("ERB `<% ... %>`")
    } else if t.starts_with('%') && t[1..].starts_with(|c: char| c == '{' || c.is_ascii_alphabetic()) {
        Some("`%name` substitution")
    } else {
        None
    }
}

/// A parse error's message, or, when the line is template syntax, why the
/// file cannot be planned.
pub fn syntax_message(line: &str, message: String) -> String {
    match template_syntax(line) {
        Some(kind) => format!(
            "{:?} is {kind}: this file is a template, not the config the server reads; plan the file it generates",
            line.trim()
        ),
        None => message,
    }
}
