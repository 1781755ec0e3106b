//! Persona packs: a folder with source files and `persona.json` settings.

use crate::jobs::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A persona: who the character is and how the chat opens. The one shape
/// every edge converts from and to: the library row ([`crate::store::PersonaRecord`]),
/// a pack's `persona.json` ([`crate::store::pack::PackPersona`]), a persona
/// folder's settings ([`PersonaSettings`]) and a character card
/// ([`crate::store::card`]) each carry one, with their own extras around it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Persona {
    /// The name the person gave the persona (shown in the library and chat).
    pub name: String,
    /// The speaker as written in the source.
    pub character: String,
    #[serde(default)]
    pub source_title: String,
    #[serde(default)]
    pub system_prompt: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub greeting: String,
}

/// The settings of a persona folder, as kept in its `persona.json`: the
/// persona and the files and names to build its dataset from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PersonaSettings {
    #[serde(flatten)]
    pub persona: Persona,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub language: String,
    /// Source files, relative to the pack folder, in reading order.
    pub files: Vec<String>,
}

/// A persona pack on disk.
#[derive(Debug, Clone)]
pub struct PersonaPack {
    pub dir: PathBuf,
    pub settings: PersonaSettings,
}

impl PersonaPack {
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join("persona.json");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let settings: PersonaSettings = serde_json::from_str(&text).map_err(|e| Error::Format {
            path: path.clone(),
            detail: format!(
                "line {}: {e}. Fix persona.json (fields: name, character, files, …).",
                e.line()
            ),
        })?;
        if settings.files.is_empty() {
            return Err(Error::Format {
                path,
                detail: "\"files\" lists no source files".into(),
            });
        }
        for f in &settings.files {
            if Path::new(f).is_absolute() || f.contains("..") {
                return Err(Error::Format {
                    path,
                    detail: format!("the file \"{f}\" must be a plain path inside the pack"),
                });
            }
        }
        Ok(PersonaPack {
            dir: dir.into(),
            settings,
        })
    }

    pub fn source_paths(&self) -> Vec<PathBuf> {
        self.settings.files.iter().map(|f| self.dir.join(f)).collect()
    }
}

/// A file-name-safe form of a name (keeps letters of any script).
pub fn slug(name: &str) -> String {
    let s: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_lowercase().next().unwrap_or(c)
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_matches('_').to_owned();
    if s.is_empty() {
        "persona".into()
    } else {
        s
    }
}
