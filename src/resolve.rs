//! The second step of argument parsing: raw clap values become a loaded
//! profile, an opened server and checked paths. Commands receive these.

use crate::cli::TargetArgs;
use crate::edit::check_one_line;
use crate::error::{Error, Result};
use crate::mta::{Instance, Request};
use crate::profile::Profile;

/// A target resolved: the server instances and what to do to them.
pub struct Resolved {
    pub(crate) servers: Vec<Box<dyn Instance>>,
    pub(crate) request: Request,
}

pub fn target(args: &TargetArgs, reload_command: Option<&str>) -> Result<Resolved> {
    let profile = Profile::load(args.profile.as_deref().unwrap_or(crate::profile::DEFAULT))?;
    let floors = crate::floors::Floors::resolve(&profile, &args.listener_profile, &args.except)?;
    let paths = [("--cert", args.cert.as_ref()), ("--key", args.key.as_ref())]
        .into_iter()
        .filter_map(|(o, p)| p.map(|p| (o, p)))
        .chain(args.config.iter().map(|p| ("--config", p)));
    for (option, path) in paths {
        check_one_line(option, &path.to_string_lossy()).map_err(|e| Error::Usage(e.to_string()))?;
    }
    if let Some(cmd) = reload_command {
        check_one_line("--reload-command", cmd).map_err(|e| Error::Usage(e.to_string()))?;
    }
    let servers = crate::mta::open_all(args.mta, &args.config)?;
    if args.outbound_dane {
        let resolver = crate::dns::Resolver::from_option(args.guard.dns.resolver.as_deref()).map_err(Error::Usage)?;
        crate::dane::outbound::resolver_validates(&resolver, &args.dnssec_probe_name)?;
    }
    let cert = args.cert.clone().zip(args.key.clone());
    Ok(Resolved {
        servers,
        request: Request {
            profile,
            floors,
            cert,
            reload_command: reload_command.map(str::to_string),
            outbound_dane: args.outbound_dane,
            container: crate::mta::container::Choice {
                runtime: args.container_runtime,
                name: args.container.clone(),
            },
        },
    })
}
