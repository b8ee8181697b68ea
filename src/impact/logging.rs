//! `mailtls impact --enable-logging`: the coverage gaps' settings as plans
//! that `apply` backs up, writes, reloads and can roll back like any change.
//! Each server's own plan is asked only for how it reloads and which files it
//! stages; its edits are replaced by the log settings (several on one file
//! are made in turn).

use crate::error::{Error, Result};
use crate::mta::{Instance as Server, Request};
use crate::plan::{FileChange, HostPlan, SettingChange};

use super::formats;

/// One plan per server (a server without gaps gets an empty one).
pub fn plans(servers: &[Box<dyn Server>], request: &Request) -> Result<HostPlan> {
    let mut plans = Vec::new();
    for server in servers {
        let detected = server.detect()?;
        // A server whose log mailtls does not read gets an empty plan.
        let format = formats::of(detected.mta);
        let gaps = format.map_or_else(Vec::new, |f| f.coverage(&detected.config));
        let mut plan = server.plan(request).map_err(|e| {
            Error::Config(format!(
                "{} at {}: cannot work out how to reload it: {e}",
                detected.mta.name(),
                detected.config.display()
            ))
        })?;
        plan.profile = "enable-logging".into();
        // The files stay in the plan unchanged: validation stages them (Postfix checks master.cf too).
        plan.changes.retain(|c| !c.created);
        for change in &mut plan.changes {
            change.after = change.before.clone();
        }
        plan.settings.clear();
        plan.warnings.clear();
        plan.listeners.clear();
        plan.expected_cert_sha256 = None;
        for gap in gaps {
            let Some((path, _, _)) = &gap.change else { continue };
            let index = match plan.changes.iter().position(|c| &c.path == path) {
                Some(i) => i,
                None => {
                    let text = crate::mta::read_text(path)?;
                    plan.changes.push(FileChange {
                        path: path.clone(),
                        before: text.clone(),
                        created: false,
                        after: text,
                    });
                    plan.changes.len() - 1
                }
            };
            let change = &mut plan.changes[index];
            change.after = format
                .and_then(|f| f.enable(&change.after, &gap))
                .ok_or_else(|| Error::Config(format!("{}: cannot set {} in it", path.display(), gap.setting)))?;
            plan.settings.push(SettingChange {
                file: path.clone(),
                name: gap.setting.clone(),
                before: gap.before.clone(),
                after: gap.after.clone(),
            });
        }
        plans.push(plan);
    }
    let defaults = vec![Default::default(); plans.len()];
    Ok(HostPlan::new(plans, defaults))
}
