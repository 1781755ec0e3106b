//! The opt-in check for a newer release: nothing touches the network unless
//! the person turned it on (the setting lives in the app's data folder).

use crate::jobs::{write_atomic, Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Where releases are announced (GitHub's "latest release" API); tests and
/// mirrors point `DRAMATIS_UPDATE_URL` elsewhere.
pub const RELEASES_URL: &str = "https://api.github.com/repos/dramatis-app/dramatis/releases/latest";
pub const URL_VAR: &str = "DRAMATIS_UPDATE_URL";

/// The app's update setting.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct UpdatePrefs {
    /// Off until the person turns it on.
    #[serde(default)]
    pub check: bool,
}

const FILE: &str = "updates.json";

pub fn load_prefs(data_dir: &Path) -> UpdatePrefs {
    std::fs::read_to_string(data_dir.join(FILE))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

pub fn save_prefs(data_dir: &Path, prefs: UpdatePrefs) -> Result<()> {
    let text = serde_json::to_string(&prefs).map_err(|e| Error::Invalid(e.to_string()))?;
    write_atomic(&data_dir.join(FILE), text.as_bytes())
}

/// What the check found.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UpdateInfo {
    pub current: String,
    pub latest: String,
    pub newer: bool,
    /// The release page.
    pub url: String,
}

/// `v1.2.3` / `1.2.3-beta` → (1, 2, 3); missing parts count as 0.
fn version(v: &str) -> Option<(u64, u64, u64)> {
    let core = v.trim().trim_start_matches(['v', 'V']).split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>());
    let major = parts.next()?.ok()?;
    let minor = parts.next().unwrap_or(Ok(0)).ok()?;
    let patch = parts.next().unwrap_or(Ok(0)).ok()?;
    Some((major, minor, patch))
}

/// Ask the release feed for the newest version, only when `prefs.check` is
/// on; `None` (and no network call) when it is off.
pub fn check(prefs: UpdatePrefs, current: &str) -> Result<Option<UpdateInfo>> {
    if !prefs.check {
        return Ok(None);
    }
    let url = std::env::var(URL_VAR).unwrap_or_else(|_| RELEASES_URL.into());
    let offline = |e: String| {
        Error::Invalid(format!(
            "could not check for a new version ({e}). Check your connection, or turn the check off in Settings."
        ))
    };
    let mut resp = ureq::get(&url)
        .header("User-Agent", concat!("dramatis/", env!("CARGO_PKG_VERSION")))
        .header("Accept", "application/vnd.github+json")
        .call()
        .map_err(|e| offline(e.to_string()))?;
    let text = resp.body_mut().read_to_string().map_err(|e| offline(e.to_string()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| offline(format!("an unexpected answer: {e}")))?;
    let latest = v["tag_name"].as_str().unwrap_or_default().to_owned();
    let (Some(l), Some(c)) = (version(&latest), version(current)) else {
        return Err(offline(format!("no version number in the answer ({latest:?})")));
    };
    Ok(Some(UpdateInfo {
        current: current.into(),
        newer: l > c,
        url: v["html_url"].as_str().unwrap_or_default().to_owned(),
        latest,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_by_number() {
        assert_eq!(version("v0.10.2"), Some((0, 10, 2)));
        assert_eq!(version("1.2"), Some((1, 2, 0)));
        assert_eq!(version("2.0.0-beta.1"), Some((2, 0, 0)));
        assert!(version("v0.10.0") > version("0.9.9"));
        assert_eq!(version("nightly"), None);
    }

    #[test]
    fn off_means_no_network_call() {
        // An address nothing listens on: a call would fail.
        std::env::set_var(URL_VAR, "http://127.0.0.1:9/never");
        assert_eq!(check(UpdatePrefs { check: false }, "0.1.0").unwrap(), None);
        assert!(check(UpdatePrefs { check: true }, "0.1.0").is_err());
    }
}
