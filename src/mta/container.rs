//! Mail stacks that run in containers (docker-mailserver, Mailu, mailcow):
//! which container runtime to drive, which container or compose service holds
//! a server, and the command that makes it read its override files again.
//! This module only builds commands; running them is `reload`'s business.
//! The compose file is read with a small line reader that knows the few keys
//! used here (`services`, `image`, `container_name`, `volumes`), not YAML.

use std::path::{Component, Path, PathBuf};

use crate::mta::Reload;

/// `--container-runtime`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Runtime {
    Docker,
    Podman,
}

impl Runtime {
    pub fn program(self) -> &'static str {
        match self {
            Runtime::Docker => "docker",
            Runtime::Podman => "podman",
        }
    }

    /// The flag's choice, else the first of docker and podman installed, else docker.
    pub fn choose(flag: Option<Runtime>) -> Runtime {
        flag.or_else(|| {
            [Runtime::Docker, Runtime::Podman]
                .into_iter()
                .find(|r| crate::mta::find_program(r.program()).is_some())
        })
        .unwrap_or(Runtime::Docker)
    }
}

/// What the user said about containers (`--container`, `--container-runtime`).
#[derive(Clone, Debug, Default)]
pub struct Choice {
    pub runtime: Option<Runtime>,
    /// The container's name, overriding what the compose file says.
    pub name: Option<String>,
}

/// The compose file names `docker compose` and `podman compose` look for, in their order.
const COMPOSE_FILES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

/// One service of a compose file, as far as mailtls needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    pub image: String,
    pub container_name: Option<String>,
    /// `host:container` bind mounts, the host side as written.
    pub volumes: Vec<(String, String)>,
}

/// A compose project: its folder and services.
#[derive(Clone, Debug)]
pub struct Compose {
    pub root: PathBuf,
    pub services: Vec<Service>,
}

impl Compose {
    /// The compose file in `dir`, if there is one.
    pub fn read(dir: &Path) -> Option<Compose> {
        let file = COMPOSE_FILES.iter().map(|f| dir.join(f)).find(|f| f.is_file())?;
        let text = crate::mta::read_text(&file).ok()?;
        Some(Compose {
            root: dir.to_path_buf(),
            services: services(&text),
        })
    }

    /// The nearest compose project at or above `path` (up to five folders up)
    /// with a service that mounts `path` at `target`: that service.
    pub fn mounting(path: &Path, target: &str) -> Option<(Compose, Service)> {
        path.ancestors().take(6).find_map(|dir| {
            let compose = Compose::read(dir)?;
            let service = compose
                .services
                .iter()
                .find(|s| {
                    s.volumes
                        .iter()
                        .any(|(host, inside)| inside.trim_end_matches('/') == target && same_place(dir, host, path))
                })?
                .clone();
            Some((compose, service))
        })
    }
}

/// Whether a volume's host side (relative to the compose folder, or absolute)
/// names `path`. One that does not exist here (a checkout moved, or Mailu's
/// `$ROOT/overrides/postfix`) counts when its last two folder names match.
fn same_place(root: &Path, host: &str, path: &Path) -> bool {
    let host = Path::new(host.trim_end_matches('/'));
    let full = normalize(&root.join(host));
    if full == normalize(path) {
        return true;
    }
    let tail = |p: &Path| -> Vec<std::ffi::OsString> {
        let mut names: Vec<_> = p.iter().rev().take(2).map(|c| c.to_os_string()).collect();
        names.reverse();
        names
    };
    !full.exists() && tail(host) == tail(path)
}

/// `a/./b/../c` -> `a/c`, without touching the filesystem.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The services of a compose file: keys indented once under `services:`, and
/// below each its `image`, `container_name` and `volumes` list.
fn services(text: &str) -> Vec<Service> {
    let mut out: Vec<Service> = Vec::new();
    let mut in_services = false;
    let mut service_indent = None;
    let mut in_volumes = false;
    for raw in text.lines() {
        let line = raw.split(" #").next().unwrap_or("").trim_end();
        let content = line.trim_start();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = line.len() - content.len();
        if indent == 0 {
            in_services = content == "services:";
            service_indent = None;
            continue;
        }
        if !in_services {
            continue;
        }
        let at_service = *service_indent.get_or_insert(indent);
        if indent < at_service {
            continue;
        }
        if indent == at_service {
            if let Some(name) = content.strip_suffix(':') {
                out.push(Service {
                    name: unquote(name).to_string(),
                    ..Service::default()
                });
            }
            in_volumes = false;
            continue;
        }
        let Some(service) = out.last_mut() else { continue };
        if let Some(item) = content.strip_prefix("- ") {
            if in_volumes {
                let item = unquote(item.trim());
                let mut parts = item.splitn(3, ':');
                if let (Some(host), Some(inside)) = (parts.next(), parts.next()) {
                    service.volumes.push((host.to_string(), inside.to_string()));
                }
            }
            continue;
        }
        let (key, value) = content.split_once(':').unwrap_or((content, ""));
        let value = unquote(value.trim());
        in_volumes = key == "volumes";
        match key {
            "image" => service.image = value.to_string(),
            "container_name" => service.container_name = Some(value.to_string()),
            _ => {}
        }
    }
    out
}

fn unquote(s: &str) -> &str {
    s.trim().trim_matches(|c| c == '"' || c == '\'')
}

/// Where a server runs: a compose service, or a container by name.
#[derive(Clone, Debug)]
pub struct Target {
    pub compose: Option<(PathBuf, String)>,
    pub container: Option<String>,
}

impl Target {
    pub fn of(found: Option<(Compose, Service)>) -> Target {
        match found {
            Some((compose, service)) => Target {
                container: service.container_name.clone(),
                compose: Some((compose.root, service.name)),
            },
            None => Target {
                compose: None,
                container: None,
            },
        }
    }

    /// The command that restarts it, or why none can be built (no compose file
    /// and no `--container`): the stacks apply their override files only when
    /// the container starts, so `exec`ing a reload inside would not read them.
    /// A container's name (`--container`, or the compose file's `container_name`)
    /// is restarted by name; otherwise the compose service, in its project folder.
    pub fn restart(&self, choice: &Choice) -> Result<Reload, String> {
        let runtime = Runtime::choose(choice.runtime);
        let program = runtime.program().to_string();
        if let Some(name) = choice.name.clone().or_else(|| self.container.clone()) {
            return Ok(Reload::Argv(vec![program, "restart".into(), name]));
        }
        let Some((root, service)) = &self.compose else {
            return Err("no compose file mounts this folder and --container was not given".into());
        };
        // `--project-directory`, not `cd`: an argv, no shell between mailtls and the path.
        Ok(Reload::Argv(vec![
            program,
            "compose".into(),
            "--project-directory".into(),
            root.display().to_string(),
            "restart".into(),
            service.clone(),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DMS: &str = "services:\n  mailserver:\n    image: ghcr.io/docker-mailserver/docker-mailserver:latest\n    container_name: mailserver\n    ports:\n      - \"25:25\"    # SMTP\n    volumes:\n      - ./docker-data/dms/mail-data/:/var/mail/\n      - ./docker-data/dms/config/:/tmp/docker-mailserver/\n      - /etc/localtime:/etc/localtime:ro\n    restart: always\n";

    #[test]
    fn a_compose_file_gives_images_names_and_mounts() {
        let s = services(DMS);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].name, "mailserver");
        assert_eq!(s[0].container_name.as_deref(), Some("mailserver"));
        assert!(s[0].image.contains("docker-mailserver"));
        assert_eq!(
            s[0].volumes[1],
            (
                "./docker-data/dms/config/".to_string(),
                "/tmp/docker-mailserver/".to_string()
            )
        );
        assert_eq!(s[0].volumes.len(), 3, "ports are not volumes: {:?}", s[0].volumes);
    }

    #[test]
    fn the_service_mounting_a_folder_is_found_from_below() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("compose.yaml"), DMS).unwrap();
        let config = root.path().join("docker-data/dms/config");
        std::fs::create_dir_all(&config).unwrap();
        let (compose, service) = Compose::mounting(&config, "/tmp/docker-mailserver").unwrap();
        assert_eq!(compose.root, root.path());
        assert_eq!(service.name, "mailserver");
        assert!(Compose::mounting(&root.path().join("docker-data"), "/tmp/docker-mailserver").is_none());
    }

    #[test]
    fn restart_commands_follow_the_runtime_and_the_name() {
        let target = Target {
            compose: Some((PathBuf::from("/srv/mail"), "smtp".into())),
            container: None,
        };
        let podman = Choice {
            runtime: Some(Runtime::Podman),
            name: None,
        };
        assert_eq!(
            target.restart(&podman).unwrap(),
            Reload::Argv(
                [
                    "podman",
                    "compose",
                    "--project-directory",
                    "/srv/mail",
                    "restart",
                    "smtp"
                ]
                .map(String::from)
                .to_vec()
            )
        );
        let named = Choice {
            runtime: Some(Runtime::Docker),
            name: Some("mailu-smtp-1".into()),
        };
        assert_eq!(
            target.restart(&named).unwrap(),
            Reload::Argv(["docker", "restart", "mailu-smtp-1"].map(String::from).to_vec())
        );
        let nowhere = Target::of(None);
        assert!(nowhere.restart(&Choice::default()).is_err());
    }
}
