//! The files imapd.conf reads with `@include: FILE`. Cyrus opens the path
//! as written (relative to its working folder; in practice absolute), reads
//! it at that point, refuses a file included twice, and treats a key set in
//! two files like one set twice: fatal. So every key lives in one file, and
//! mailtls reads the included ones for the values in effect but edits only
//! imapd.conf itself: a setting to change in an included file is an error
//! that says where it is.

use std::path::{Path, PathBuf};

use crate::edit::imapd_conf::{ImapdConf, Kind};
use crate::error::{Error, Result};
use crate::mta::read_text;

/// One included file, parsed.
pub struct Included {
    pub path: PathBuf,
    pub conf: ImapdConf,
}

/// Every file `main` includes, depth first, in Cyrus's reading order.
pub fn load(main_path: &Path, main: &ImapdConf) -> Result<Vec<Included>> {
    let mut out = Vec::new();
    let mut seen = vec![main_path.to_path_buf()];
    walk(main_path, main, &mut seen, &mut out)?;
    Ok(out)
}

fn walk(from: &Path, conf: &ImapdConf, seen: &mut Vec<PathBuf>, out: &mut Vec<Included>) -> Result<()> {
    for entry in conf.entries() {
        let Kind::Include { path } = &entry.kind else { continue };
        let path = from.parent().unwrap_or(Path::new("/")).join(path);
        if seen.contains(&path) {
            return Err(Error::Parse {
                path: from.to_path_buf(),
                line: entry.line,
                message: format!("{} is included twice, which Cyrus refuses", path.display()),
            });
        }
        seen.push(path.clone());
        let text = read_text(&path)?;
        let included = ImapdConf::parse(&text).map_err(|e| Error::Parse {
            path: path.clone(),
            line: e.line,
            message: e.message,
        })?;
        walk(&path, &included, seen, out)?;
        out.push(Included { path, conf: included });
    }
    Ok(())
}

/// Where an included file sets `key`: its path, line and value.
pub fn find<'a>(included: &'a [Included], key: &str) -> Option<(&'a Path, usize, &'a str)> {
    included
        .iter()
        .find_map(|i| Some((i.path.as_path(), i.conf.line_of(key)?, i.conf.get(key)?)))
}
