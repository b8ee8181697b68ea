//! The integration tests, as one binary: the support code (private daemons
//! on loopback, certificates, the `Mailtls` test builder) is compiled once,
//! and each module is what used to be a test file of its own. Run one with
//! `cargo test --test it MODULE::` (for example `cargo test --test it crash::`).
//!
//! Tests run in parallel threads of this one process: none changes the
//! process's environment or working directory, ports come from
//! `support::free_port`, and every file a test writes is under its own
//! temporary folder.

mod cmd;
mod support;

mod ansible;
mod baselines;
mod config_paths;
mod crash;
mod cyrus_e2e;
mod cyrus_plan;
mod dane;
mod distributions;
mod dovecot_e2e;
mod dovecot_versions;
mod exim_e2e;
mod exim_plan;
mod faults;
mod from_scan;
mod guided_terminal;
mod hostile_input;
mod impact_daemons;
mod impact_fixtures;
mod impact_syslog;
mod listener_floors_e2e;
mod listener_floors_plan;
mod monitoring_tools;
mod nagios;
mod nagios_unknown;
mod opensmtpd_e2e;
mod opensmtpd_plan;
mod outbound_dane;
mod package;
mod plan_fixtures;
mod postfix_e2e;
mod postfix_references;
mod probe_command;
mod probe_dovecot;
mod probe_exact;
mod probe_postfix;
mod probe_scripted;
mod probe_support;
mod profiles;
mod progress_terminal;
mod real_world;
mod release_build;
mod report_formats;
mod sendmail_e2e;
mod sendmail_plan;
mod setting_defaults;
mod stacks;
