//! Reports for the tools admins already run: Prometheus's text exposition
//! format (node_exporter's textfile collector), JUnit XML (CI) and a
//! Nagios/Icinga plugin result (`nagios`, which `probe` calls itself). They
//! format the probe's `TargetReport`s and a `HostPlan`; they scan, plan and
//! write nothing themselves.

pub mod junit;
pub mod nagios;
pub mod prometheus;

use crate::error::{Error, Result};
use crate::plan::HostPlan;
use crate::probe::TargetReport;

/// `--output`: a report format besides the human text and `--json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// Prometheus text exposition format, for node_exporter's textfile collector.
    Prometheus,
    /// JUnit XML: one test case per finding (probe) or pending change (plan).
    Junit,
}

/// The probe's reports in `format`.
pub fn probe(format: ReportFormat, reports: &[TargetReport]) -> String {
    match format {
        ReportFormat::Prometheus => prometheus::render(reports),
        ReportFormat::Junit => junit::probe(reports),
    }
}

/// A plan in `format` (JUnit only: a plan has no metrics).
pub fn plan(format: ReportFormat, host: &HostPlan, profile: &str) -> Result<String> {
    match format {
        ReportFormat::Junit => Ok(junit::plan(host, profile)),
        ReportFormat::Prometheus => Err(Error::Usage(
            "--output prometheus is for `mailtls probe`; `plan` reports as --output junit or --json".into(),
        )),
    }
}
