//! Making a persona in the library from its source files.

use super::import_all;
use crate::dataset::{self, DatasetOptions};
use crate::extract::{self, ExtractOptions};
use crate::ingest::Document;
use crate::ingest::IngestOptions;
use crate::jobs::{Error, Job, Result};
use crate::store::NewRow;
use serde::Serialize;
use std::path::PathBuf;

/// What a person gives to make a persona from one or more source files.
#[derive(Debug, Clone, Default, serde::Deserialize, Serialize)]
pub struct PersonaRequest {
    pub files: Vec<PathBuf>,
    pub character: String,
    /// The persona's name (default: the character).
    #[serde(default)]
    pub name: Option<String>,
    /// Other names of the character, as the user confirmed them.
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub system: Option<String>,
}

/// What `create_persona` made.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedPersona {
    pub persona: i64,
    pub dataset: i64,
    pub sources: Vec<i64>,
    pub rows: usize,
}

/// Import the sources, find the cast, build the character's dataset and keep
/// it all in the library as one unit: killed at any moment, the library has
/// either the whole persona or none of it.
pub fn create_persona(lib: &mut crate::store::Library, req: &PersonaRequest, job: &Job) -> Result<CreatedPersona> {
    use crate::persona::Persona;
    let (docs, _) = import_all(&req.files, &IngestOptions::default(), job)?;
    job.check()?;
    let script = extract::extract_in(&docs, &ExtractOptions::default(), job)?;
    let opts = DatasetOptions {
        character: req.character.clone(),
        aliases: req.aliases.clone(),
        system_prompt: req.system.clone(),
        source_title: req.title.clone().unwrap_or_default(),
        ..Default::default()
    };
    let data = dataset::build(&script, &opts)?;
    job.check()?;
    let persona = Persona {
        name: req.name.clone().unwrap_or_else(|| req.character.clone()),
        character: req.character.clone(),
        source_title: req.title.clone().unwrap_or_default(),
        system_prompt: data.system_prompt.clone(),
        ..Default::default()
    };
    let groups = alias_groups(&script.cast, &req.character, &req.aliases);
    store_persona(
        lib,
        &NewPersona {
            files: &req.files,
            docs: &docs,
            persona,
            groups,
            rows: data
                .samples
                .iter()
                .map(|sample| NewRow {
                    sample,
                    enabled: true,
                    edited: false,
                })
                .collect(),
            report: serde_json::to_string(&data.report).unwrap_or_default(),
            mix_ratio: crate::store::DEFAULT_MIX_RATIO,
        },
    )
}

/// Everything a new persona brings into the library.
pub(crate) struct NewPersona<'a> {
    pub files: &'a [PathBuf],
    /// The files, imported (same order).
    pub docs: &'a [Document],
    pub persona: crate::persona::Persona,
    pub groups: Vec<crate::store::AliasGroup>,
    /// The dataset's rows; the dataset is named after the character.
    pub rows: Vec<NewRow<'a>>,
    pub report: String,
    pub mix_ratio: f64,
}

/// Keep a new persona with its sources, cast and dataset as one unit:
/// killed at any moment, the library has all of it or none.
pub(crate) fn store_persona(lib: &mut crate::store::Library, new: &NewPersona) -> Result<CreatedPersona> {
    let bytes = new
        .files
        .iter()
        .map(|f| std::fs::read(f).map_err(|e| Error::io(f, e)))
        .collect::<Result<Vec<_>>>()?;
    lib.atomically(|lib| {
        let sources = new
            .docs
            .iter()
            .zip(&bytes)
            .map(|(doc, b)| lib.add_source(doc, b))
            .collect::<Result<Vec<_>>>()?;
        let mut persona = new.persona.clone();
        if persona.greeting.trim().is_empty() {
            persona.greeting = greeting_from(&new.rows);
        }
        let pid = lib.create_persona(&persona, None, &sources)?;
        lib.set_alias_groups(pid, &new.groups)?;
        let did = lib.create_dataset_rows(Some(pid), &new.persona.character, &new.rows, &new.report, new.mix_ratio)?;
        Ok(CreatedPersona {
            persona: pid,
            dataset: did,
            sources,
            rows: new.rows.len(),
        })
    })
}

/// A first message for the chat window when the persona has none: the
/// character's first enabled reply of a comfortable length, in their own words.
fn greeting_from(rows: &[NewRow]) -> String {
    rows.iter()
        .filter(|r| r.enabled)
        .map(|r| r.sample.output.trim())
        .find(|o| (8..=160).contains(&o.chars().count()))
        .unwrap_or("")
        .to_owned()
}

/// The cast to store with a new persona: the character's group exactly as the
/// user confirmed it (their names, in their order), then up to 29 other
/// speakers with their suggested aliases, unconfirmed.
fn alias_groups(cast: &extract::Cast, character: &str, aliases: &[String]) -> Vec<crate::store::AliasGroup> {
    use crate::store::AliasGroup;
    let is_character = |name: &str| name == character || aliases.iter().any(|a| a == name);
    let lines = |name: &str| {
        cast.members
            .iter()
            .filter(|m| m.name == name)
            .map(|m| m.lines as i64)
            .sum::<i64>()
    };
    let own = if aliases.is_empty() {
        let suggested = cast
            .members
            .iter()
            .find(|m| m.name == character)
            .map(|m| m.suggested_aliases.iter().map(|s| s.alias.clone()).collect())
            .unwrap_or_default();
        AliasGroup {
            id: 0,
            main_name: character.to_owned(),
            aliases: suggested,
            gender: None,
            lines: lines(character),
            confirmed: false,
        }
    } else {
        AliasGroup {
            id: 0,
            main_name: character.to_owned(),
            aliases: aliases.to_vec(),
            gender: None,
            lines: std::iter::once(character)
                .chain(aliases.iter().map(String::as_str))
                .map(lines)
                .sum(),
            confirmed: true,
        }
    };
    let others = cast
        .members
        .iter()
        .filter(|m| !is_character(&m.name))
        .take(29)
        .map(|m| AliasGroup {
            id: 0,
            main_name: m.name.clone(),
            aliases: m
                .suggested_aliases
                .iter()
                .map(|s| s.alias.clone())
                .filter(|a| !is_character(a))
                .collect(),
            gender: None,
            lines: m.lines as i64,
            confirmed: false,
        });
    std::iter::once(own).chain(others).collect()
}

/// A persona as the library screen shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PersonaCard {
    pub id: i64,
    pub name: String,
    pub character: String,
    pub source_title: String,
    /// A `data:` URL of the persona's own picture (none: the app shows an initial).
    pub avatar: Option<String>,
    /// The persona's newest dataset.
    pub dataset_id: Option<i64>,
    pub dataset_rows: i64,
    pub enabled_rows: i64,
    pub adapters: usize,
    pub last_chat: Option<i64>,
    pub created_at: i64,
}

/// Every persona with what the library screen shows of it, newest first.
pub fn persona_cards(lib: &crate::store::Library) -> Result<Vec<PersonaCard>> {
    let datasets = lib.datasets()?;
    let adapters = lib.adapters()?;
    let chats = lib.last_chats()?;
    let mut cards: Vec<PersonaCard> = lib
        .personas()?
        .into_iter()
        .map(|p| {
            let ds = datasets
                .iter()
                .filter(|d| d.persona_id == Some(p.id))
                .max_by_key(|d| d.id);
            let avatar = p.avatar.clone().filter(|a| a.starts_with("data:image/"));
            PersonaCard {
                id: p.id,
                avatar,
                dataset_id: ds.map(|d| d.id),
                dataset_rows: ds.map_or(0, |d| d.rows),
                enabled_rows: ds.map_or(0, |d| d.enabled_rows),
                adapters: adapters.iter().filter(|a| a.persona_id == Some(p.id)).count(),
                last_chat: chats.iter().find(|c| c.0 == p.id).map(|c| c.1),
                created_at: p.created_at,
                name: p.persona.name,
                character: p.persona.character,
                source_title: p.persona.source_title,
            }
        })
        .collect();
    cards.sort_by_key(|c| std::cmp::Reverse(c.id));
    Ok(cards)
}
