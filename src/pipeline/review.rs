//! The app's road from dropped files to a saved persona, in steps a person
//! confirms: open the sources ([`open_sources`]) into a [`Draft`], shape its
//! cast ([`Draft::merge`], [`Draft::rename`], [`Draft::split`],
//! [`Draft::set_narrator`]), build the chosen character's dataset
//! ([`Draft::preview`]), review its rows ([`ReviewDataset`]) and keep it all
//! in the library as one unit ([`save_draft`]).

use super::import_all;
use crate::dataset::{self, health, DatasetOptions, HealthReport, Sample, Split};
use crate::extract::{self, ExtractOptions, Extraction, Layout, UtteranceKind};
use crate::ingest::{Document, ImportSummary, IngestOptions};
use crate::jobs::{Error, Job, Result};
use crate::store::{AliasGroup, DatasetRow, Library, NewRow, Persona, SampleFields};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Sources opened and read, their cast being shaped; nothing in the library yet.
pub struct Draft {
    pub files: Vec<PathBuf>,
    pub summaries: Vec<ImportSummary>,
    pub docs: Vec<Document>,
    pub script: Extraction,
    pub cast: Vec<CastGroup>,
    pub title: String,
    /// The dataset of the character picked last, being reviewed.
    pub dataset: Option<ReviewDataset>,
}

/// One character as the person sees it: a display name and the speaker
/// names in the sources that are this character.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CastGroup {
    pub name: String,
    /// Speaker names other than `name` that are this character.
    pub aliases: Vec<String>,
    pub lines: usize,
    pub sample: String,
    pub narrator: bool,
    /// Every speaker name in the sources that belongs to this group.
    #[serde(skip)]
    pub speakers: Vec<String>,
}

/// What the app shows of a draft.
#[derive(Debug, Clone, Serialize)]
pub struct DraftView {
    pub id: u64,
    pub files: Vec<ImportSummary>,
    pub layout: Layout,
    pub utterances: usize,
    pub attributed: usize,
    pub unknown_lines: usize,
    pub unsure: usize,
    pub title: String,
    pub cast: Vec<CastGroup>,
    pub first_person: bool,
}

/// The files a person gave: folders stand for the files in them (not hidden,
/// not nested), in natural order ("ep2" before "ep10").
pub fn source_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| Error::io(p, e))?;
        if !meta.is_dir() {
            out.push(p.clone());
            continue;
        }
        let mut inside: Vec<PathBuf> = std::fs::read_dir(p)
            .map_err(|e| Error::io(p, e))?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|f| f.is_file())
            .filter(|f| {
                !f.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.'))
            })
            .collect();
        if inside.is_empty() {
            return Err(Error::Invalid(format!(
                "the folder {} has no files in it. Choose the book or script files themselves.",
                p.display()
            )));
        }
        inside.sort_by(|a, b| natural_cmp(&a.to_string_lossy(), &b.to_string_lossy()));
        out.extend(inside);
    }
    if out.is_empty() {
        return Err(Error::Invalid(
            "no files given. Drop a book or script, or paste its path.".into(),
        ));
    }
    Ok(out)
}

/// Compare with runs of digits as numbers.
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut x, mut y) = (a.chars().peekable(), b.chars().peekable());
    loop {
        match (x.peek().copied(), y.peek().copied()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, _) => return std::cmp::Ordering::Less,
            (_, None) => return std::cmp::Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let take = |it: &mut std::iter::Peekable<std::str::Chars>| {
                    let mut n = String::new();
                    while let Some(c) = it.peek().copied().filter(char::is_ascii_digit) {
                        n.push(c);
                        it.next();
                    }
                    n
                };
                let (m, n) = (take(&mut x), take(&mut y));
                let (m, n) = (m.trim_start_matches('0'), n.trim_start_matches('0'));
                let o = m.len().cmp(&n.len()).then_with(|| m.cmp(n));
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(&d);
                }
                x.next();
                y.next();
            }
        }
    }
}

/// Read the files (folders expand to their files) as one source and find
/// who says what.
pub fn open_sources(paths: &[PathBuf], job: &Job) -> Result<Draft> {
    let files = source_files(paths)?;
    let (docs, summaries) = import_all(&files, &IngestOptions::default(), job)?;
    job.check()?;
    let script = extract::extract_in(&docs, &ExtractOptions::default(), job)?;
    job.report(
        "extract",
        docs.len() as u64,
        Some(docs.len() as u64),
        "files",
        format!("{} lines", script.utterances.len()),
    );
    let cast = cast_groups(&script);
    let title = title_of(&files);
    Ok(Draft {
        files,
        summaries,
        docs,
        script,
        cast,
        title,
        dataset: None,
    })
}

/// File names that say nothing about the book: its folder names it instead.
const GENERIC_STEMS: &[&str] = &[
    "novel",
    "novel text",
    "text",
    "book",
    "script",
    "story",
    "main",
    "index",
    "content",
    "full",
    "正文",
    "全文",
    "剧本",
];

/// A title from the first file's name: "甄嬛传剧本01-10.txt" → "甄嬛传剧本";
/// "Emma/novel_text.txt" → "Emma".
fn title_of(files: &[PathBuf]) -> String {
    let first = files.first();
    let mut stem = first
        .and_then(|f| f.file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let plain = stem.replace(['_', '-'], " ").trim().to_lowercase();
    if GENERIC_STEMS.contains(&plain.as_str()) {
        if let Some(dir) = first.and_then(|f| f.parent()).and_then(|d| d.file_name()) {
            stem = dir.to_string_lossy().into_owned();
        }
    }
    let t = stem
        .trim_end_matches(|c: char| c.is_ascii_digit() || "-_ .".contains(c))
        .replace(['_', '-'], " ");
    let t = t.trim();
    if t.is_empty() {
        stem
    } else {
        t.to_owned()
    }
}

fn cast_groups(script: &Extraction) -> Vec<CastGroup> {
    script
        .cast
        .members
        .iter()
        .map(|m| {
            let speakers = vec![m.name.clone()];
            CastGroup {
                name: m.name.clone(),
                aliases: Vec::new(),
                lines: m.lines,
                sample: sample_line(script, &speakers),
                narrator: m.narrator,
                speakers,
            }
        })
        .collect()
}

/// The first line of some length by one of the speakers, else their first.
fn sample_line(script: &Extraction, speakers: &[String]) -> String {
    let said = || {
        script
            .utterances
            .iter()
            .filter(|u| u.kind == UtteranceKind::Dialogue && u.speaker.as_ref().is_some_and(|s| speakers.contains(s)))
    };
    said()
        .find(|u| u.text.chars().count() >= 12)
        .or_else(|| said().next())
        .map(|u| u.text.chars().take(160).collect())
        .unwrap_or_default()
}

impl Draft {
    pub fn view(&self, id: u64) -> DraftView {
        let attributed = self.script.utterances.iter().filter(|u| u.speaker.is_some()).count();
        DraftView {
            id,
            files: self.summaries.clone(),
            layout: self.script.layout,
            utterances: self.script.utterances.len(),
            attributed,
            unknown_lines: self.script.cast.unknown_lines,
            unsure: self.script.utterances.iter().filter(|u| u.unsure).count(),
            title: self.title.clone(),
            cast: self.cast.clone(),
            // Scripts can have a narrator too (旁白, voice-over), but only a
            // novel's narrator is an "I" who may be one of the characters.
            first_person: self.script.layout == Layout::Novel && self.cast.iter().any(|g| g.narrator),
        }
    }

    fn group(&self, name: &str) -> Result<usize> {
        self.cast.iter().position(|g| g.name == name).ok_or_else(|| {
            Error::Invalid(format!(
                "there is no character \"{name}\" in this cast. Reload the cast and try again."
            ))
        })
    }

    fn resort(&mut self) {
        for i in 0..self.cast.len() {
            let g = &self.cast[i];
            let lines = self.lines_of(&g.speakers);
            let sample = sample_line(&self.script, &g.speakers);
            let g = &mut self.cast[i];
            g.lines = lines;
            g.sample = sample;
            g.aliases = g.speakers.iter().filter(|s| **s != g.name).cloned().collect();
        }
        self.cast
            .sort_by(|a, b| b.lines.cmp(&a.lines).then_with(|| a.name.cmp(&b.name)));
    }

    fn lines_of(&self, speakers: &[String]) -> usize {
        self.script
            .cast
            .members
            .iter()
            .filter(|m| speakers.contains(&m.name))
            .map(|m| m.lines)
            .sum()
    }

    /// Make several characters one, under the name `into` (one of them).
    pub fn merge(&mut self, names: &[String], into: &str) -> Result<()> {
        let keep = self.group(into)?;
        let mut moved = Vec::new();
        for n in names.iter().filter(|n| *n != into) {
            let i = self.group(n)?;
            moved.push(i);
        }
        if moved.is_empty() {
            return Err(Error::Invalid("choose at least two characters to merge.".into()));
        }
        let mut speakers = Vec::new();
        let mut narrator = false;
        for &i in &moved {
            speakers.extend(self.cast[i].speakers.clone());
            narrator |= self.cast[i].narrator;
        }
        self.cast[keep].speakers.extend(speakers);
        self.cast[keep].narrator |= narrator;
        moved.sort_unstable();
        for i in moved.into_iter().rev() {
            self.cast.remove(i);
        }
        self.resort();
        Ok(())
    }

    /// Show a character under another name (the lines stay theirs).
    pub fn rename(&mut self, name: &str, new_name: &str) -> Result<()> {
        let new_name = new_name.trim();
        if new_name.is_empty() {
            return Err(Error::Invalid("a character needs a name.".into()));
        }
        let i = self.group(name)?;
        if new_name != name && self.cast.iter().any(|g| g.name == new_name) {
            return Err(Error::Invalid(format!(
                "\"{new_name}\" is already in the cast. Merge the two instead of renaming."
            )));
        }
        self.cast[i].name = new_name.to_owned();
        self.resort();
        Ok(())
    }

    /// Take one speaker name out of a character, as a character of its own.
    pub fn split(&mut self, name: &str, alias: &str) -> Result<()> {
        let i = self.group(name)?;
        let g = &mut self.cast[i];
        if g.speakers.len() < 2 || !g.speakers.iter().any(|s| s == alias) {
            return Err(Error::Invalid(format!(
                "\"{alias}\" is not another name of \"{name}\", so there is nothing to split off."
            )));
        }
        g.speakers.retain(|s| s != alias);
        if g.name == alias {
            g.name = g.speakers[0].clone();
        }
        let is_narrator = |names: &[String]| {
            self.script
                .cast
                .members
                .iter()
                .any(|m| m.narrator && names.contains(&m.name))
        };
        let narrator = is_narrator(&[alias.to_owned()]);
        self.cast[i].narrator = is_narrator(&self.cast[i].speakers);
        self.cast.push(CastGroup {
            name: alias.to_owned(),
            aliases: Vec::new(),
            lines: 0,
            sample: String::new(),
            narrator,
            speakers: vec![alias.to_owned()],
        });
        self.resort();
        Ok(())
    }

    /// Say who the first-person narrator ("I") of a novel is: the narrator's
    /// lines join that character, or the narrator takes the name.
    pub fn set_narrator(&mut self, name: Option<&str>) -> Result<()> {
        let Some(n) = self.cast.iter().position(|g| g.narrator) else {
            return Err(Error::Invalid("this source has no first-person narrator.".into()));
        };
        let Some(name) = name.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(());
        };
        let narrator = self.cast[n].name.clone();
        self.script.narrator_named(&self.cast[n].speakers);
        if self.cast.iter().any(|g| g.name == name) {
            if name != narrator {
                self.merge(&[narrator], name)?;
            }
            Ok(())
        } else {
            self.rename(&narrator, name)
        }
    }

    /// Build the dataset of one character and keep it for review.
    pub fn preview(&mut self, character: &str) -> Result<&ReviewDataset> {
        let g = &self.cast[self.group(character)?];
        let opts = DatasetOptions {
            character: g.name.clone(),
            aliases: g.speakers.clone(),
            source_title: self.title.clone(),
            ..Default::default()
        };
        let data = dataset::build(&self.script, &opts)?;
        let mut rows: Vec<ReviewRow> = data
            .samples
            .iter()
            .enumerate()
            .map(|(i, s)| ReviewRow::from_sample(i as i64 + 1, i as i64, s))
            .collect();
        flag(&mut rows);
        self.dataset = Some(ReviewDataset {
            character: g.name.clone(),
            persona_id: None,
            system_prompt: data.system_prompt,
            mix_ratio: crate::store::DEFAULT_MIX_RATIO,
            rows,
            report: data.report,
        });
        Ok(self.dataset.as_ref().expect("just set"))
    }
}

/// One row as the review shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReviewRow {
    pub id: i64,
    pub position: i64,
    pub instruction: String,
    pub input: String,
    pub output: String,
    pub history: Vec<(String, String)>,
    pub scene: Option<i64>,
    pub confidence: Option<f64>,
    pub split: String,
    pub enabled: bool,
    pub edited: bool,
    /// "duplicate", "short", "unsure": what the filters and fixes look at.
    pub flags: Vec<&'static str>,
    #[serde(skip)]
    pub system: String,
}

impl ReviewRow {
    fn from_sample(id: i64, position: i64, s: &Sample) -> Self {
        ReviewRow {
            id,
            position,
            instruction: s.instruction.clone(),
            input: s.input.clone(),
            output: s.output.clone(),
            history: s.history.clone(),
            scene: s.scene.map(|v| v as i64),
            confidence: s.confidence.map(|c| (c as f64 * 1000.0).round() / 1000.0),
            split: if s.split == Split::Validation {
                "validation"
            } else {
                "train"
            }
            .into(),
            enabled: true,
            edited: false,
            flags: Vec::new(),
            system: s.system.clone(),
        }
    }

    fn from_stored(r: DatasetRow) -> Self {
        ReviewRow {
            id: r.id,
            position: r.position,
            instruction: r.sample.instruction,
            input: r.sample.input,
            output: r.sample.output,
            history: r.sample.history,
            scene: r.scene,
            confidence: r.confidence.map(|c| (c * 1000.0).round() / 1000.0),
            split: r.split,
            enabled: r.enabled,
            edited: r.edited,
            flags: Vec::new(),
            system: r.sample.system,
        }
    }

    fn sample(&self) -> Sample {
        Sample {
            system: self.system.clone(),
            instruction: self.instruction.clone(),
            input: self.input.clone(),
            output: self.output.clone(),
            history: self.history.clone(),
            scene: self.scene.map(|v| v as usize),
            split: if self.split == "validation" {
                Split::Validation
            } else {
                Split::Train
            },
            confidence: self.confidence.map(|c| c as f32),
        }
    }
}

/// Replies this short (approximate tokens) are flagged for review.
pub const SHORT_REPLY_TOKENS: usize = 2;

/// Mark duplicates (a reply that an earlier row already has), short replies
/// and unsure attributions.
fn flag(rows: &mut [ReviewRow]) {
    let mut seen = std::collections::HashSet::new();
    for r in rows.iter_mut() {
        r.flags.clear();
        let norm: String = r
            .output
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect();
        if !seen.insert(norm) {
            r.flags.push("duplicate");
        }
        if health::approx_tokens(&r.output) <= SHORT_REPLY_TOKENS {
            r.flags.push("short");
        }
        if r.confidence.is_some_and(|c| (c as f32) < extract::UNSURE_BELOW) {
            r.flags.push("unsure");
        }
    }
}

/// A dataset under review: a draft's, or one from the library. Its rows'
/// flags are kept current: set when it is made and after every change to a
/// reply or to the set of rows.
#[derive(Debug, Clone)]
pub struct ReviewDataset {
    pub character: String,
    pub persona_id: Option<i64>,
    pub system_prompt: String,
    pub mix_ratio: f64,
    pub rows: Vec<ReviewRow>,
    pub report: HealthReport,
}

/// Which dataset a review action is about.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DatasetTarget {
    Draft(u64),
    Dataset(i64),
}

/// What the app shows of a dataset under review.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetView {
    pub target: DatasetTarget,
    pub character: String,
    pub persona_id: Option<i64>,
    pub system_prompt: String,
    pub mix_ratio: f64,
    pub rows: Vec<ReviewRow>,
    pub count: usize,
    pub enabled: usize,
    pub duplicates: usize,
    pub short: usize,
    pub unsure: usize,
    pub report: HealthReport,
}

/// A change to one row.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RowPatch {
    pub enabled: Option<bool>,
    pub output: Option<String>,
    #[serde(default)]
    pub deleted: bool,
}

/// A row after a change, with the dataset's new counts.
#[derive(Debug, Clone, Serialize)]
pub struct RowChange {
    pub row: Option<ReviewRow>,
    pub count: usize,
    pub enabled: usize,
}

/// A one-click fix from the health report.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum HealthFix {
    /// Disable every row whose reply an earlier row already has.
    Duplicates,
    /// Disable every short reply.
    Short,
}

impl ReviewDataset {
    pub fn view(&self, target: DatasetTarget) -> DatasetView {
        let rows = self.rows.clone();
        let has = |f: &str| rows.iter().filter(|r| r.flags.contains(&f)).count();
        DatasetView {
            target,
            character: self.character.clone(),
            persona_id: self.persona_id,
            system_prompt: self.system_prompt.clone(),
            mix_ratio: self.mix_ratio,
            count: rows.len(),
            enabled: rows.iter().filter(|r| r.enabled).count(),
            duplicates: has("duplicate"),
            short: has("short"),
            unsure: has("unsure"),
            report: self.report.clone(),
            rows,
        }
    }

    /// Load a dataset of the library for review.
    pub fn open(lib: &Library, dataset: i64) -> Result<Self> {
        let rec = lib.dataset(dataset)?;
        let persona = rec.persona_id.map(|p| lib.persona(p)).transpose()?;
        let report = serde_json::from_str(&lib.dataset_report(dataset)?).unwrap_or_default();
        let mut rows: Vec<ReviewRow> = lib
            .dataset_rows(dataset)?
            .into_iter()
            .map(ReviewRow::from_stored)
            .collect();
        flag(&mut rows);
        let system_prompt = persona
            .as_ref()
            .map(|p| p.persona.system_prompt.clone())
            .or_else(|| rows.first().map(|r| r.system.clone()))
            .unwrap_or_default();
        Ok(ReviewDataset {
            character: persona.map(|p| p.persona.character).unwrap_or(rec.name),
            persona_id: rec.persona_id,
            system_prompt,
            mix_ratio: rec.mix_ratio,
            rows,
            report,
        })
    }

    fn counts(&self, row: Option<ReviewRow>) -> RowChange {
        RowChange {
            row,
            count: self.rows.len(),
            enabled: self.rows.iter().filter(|r| r.enabled).count(),
        }
    }

    /// Apply a change to one row of this copy (and to the library when the
    /// dataset is saved there).
    pub fn update_row(&mut self, lib: Option<&mut Library>, id: i64, patch: &RowPatch) -> Result<RowChange> {
        let i = self
            .rows
            .iter()
            .position(|r| r.id == id)
            .ok_or_else(|| Error::Invalid(format!("there is no row {id} in this dataset")))?;
        if let Some(out) = &patch.output {
            if out.trim().is_empty() {
                return Err(Error::Invalid(
                    "a reply cannot be empty. Disable or delete the row instead.".into(),
                ));
            }
        }
        if let Some(lib) = lib {
            lib.atomically(|lib| {
                if patch.deleted {
                    return lib.delete_row(id);
                }
                if let Some(e) = patch.enabled {
                    lib.set_row_enabled(id, e)?;
                }
                if let Some(out) = &patch.output {
                    let r = &self.rows[i];
                    lib.edit_row(
                        id,
                        &SampleFields {
                            system: r.system.clone(),
                            instruction: r.instruction.clone(),
                            input: r.input.clone(),
                            output: out.clone(),
                            history: r.history.clone(),
                        },
                    )?;
                }
                Ok(())
            })?;
        }
        if patch.deleted {
            self.rows.remove(i);
            // A duplicate may have lost the row it repeated.
            flag(&mut self.rows);
            return Ok(self.counts(None));
        }
        let r = &mut self.rows[i];
        if let Some(e) = patch.enabled {
            r.enabled = e;
        }
        if let Some(out) = &patch.output {
            r.output = out.clone();
            r.edited = true;
            flag(&mut self.rows);
        }
        Ok(self.counts(Some(self.rows[i].clone())))
    }

    /// Disable the rows a health fix names; returns how many changed.
    pub fn fix(&mut self, lib: Option<&mut Library>, fix: HealthFix) -> Result<usize> {
        let want = match fix {
            HealthFix::Duplicates => "duplicate",
            HealthFix::Short => "short",
        };
        let hit = |r: &ReviewRow| r.enabled && r.flags.contains(&want);
        let ids: Vec<i64> = self.rows.iter().filter(|r| hit(r)).map(|r| r.id).collect();
        if let Some(lib) = lib {
            lib.set_rows_enabled(&ids, false)?;
        }
        for r in self.rows.iter_mut().filter(|r| hit(r)) {
            r.enabled = false;
        }
        Ok(ids.len())
    }

    /// The persona's system prompt, used by every row.
    pub fn set_system(&mut self, lib: Option<&mut Library>, system: &str) -> Result<()> {
        let system = system.trim();
        if let (Some(lib), Some(pid)) = (lib, self.persona_id) {
            lib.set_system_prompt(pid, system)?;
        }
        self.system_prompt = system.to_owned();
        for r in &mut self.rows {
            r.system = system.to_owned();
        }
        Ok(())
    }

    pub fn set_mix(&mut self, lib: Option<(&mut Library, i64)>, ratio: f64) -> Result<()> {
        if !(0.0..=0.9).contains(&ratio) {
            return Err(Error::Invalid(format!(
                "the mix ratio {ratio} must be between 0 and 0.9 (0.2 means 20% general samples)"
            )));
        }
        if let Some((lib, id)) = lib {
            lib.set_dataset_mix(id, ratio)?;
        }
        self.mix_ratio = ratio;
        Ok(())
    }

    /// The enabled rows as samples, the persona's system prompt in each.
    pub fn samples(&self) -> Vec<Sample> {
        self.rows
            .iter()
            .filter(|r| r.enabled)
            .map(|r| {
                let mut s = r.sample();
                s.system = self.system_prompt.clone();
                s
            })
            .collect()
    }
}

/// Formats a reviewed dataset can be written in.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Alpaca,
    Sharegpt,
    /// Alpaca files with `dataset_info.json` and a LoRA training config.
    Llamafactory,
}

/// Write the enabled rows to `dir`; returns the files written.
pub fn export_dataset(ds: &ReviewDataset, format: ExportFormat, dir: &Path) -> Result<Vec<PathBuf>> {
    let samples = ds.samples();
    if samples.is_empty() {
        return Err(Error::Invalid(
            "every row is disabled, so there is nothing to export. Enable some rows first.".into(),
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let name = crate::persona::slug(&ds.character);
    let (fmt, conversations) = match format {
        ExportFormat::Sharegpt => (
            dataset::io::Format::ShareGpt,
            samples.iter().map(dataset::io::sample_to_conversation).collect(),
        ),
        _ => (dataset::io::Format::Alpaca, Vec::new()),
    };
    let exported = dataset::io::export(dir, &name, fmt, false, &samples, &conversations)?;
    let mut files: Vec<PathBuf> = std::iter::once(exported.train)
        .chain(exported.validation)
        .chain(std::iter::once(exported.dataset_info))
        .collect();
    if format == ExportFormat::Llamafactory {
        let yaml = dataset::configs::llamafactory_yaml(
            "HuggingFaceTB/SmolLM2-135M-Instruct",
            &format!("{name}_train"),
            &dir.display().to_string(),
            &format!("saves/{name}-lora"),
        );
        let p = dir.join(format!("{name}_lora_sft.yaml"));
        crate::jobs::write_atomic(&p, yaml.as_bytes())?;
        files.push(p);
    }
    Ok(files)
}

/// What saving a draft made.
#[derive(Debug, Clone, Serialize)]
pub struct SavedPersona {
    pub persona: i64,
    pub dataset: i64,
}

/// Keep a draft's sources, cast and reviewed dataset in the library as a new
/// persona, all or nothing.
pub fn save_draft(lib: &mut Library, draft: &Draft, name: Option<&str>) -> Result<SavedPersona> {
    let ds = draft
        .dataset
        .as_ref()
        .ok_or_else(|| Error::Invalid("pick a character first: there is no dataset to save yet.".into()))?;
    if ds.rows.is_empty() {
        return Err(Error::Invalid("the dataset has no rows to save.".into()));
    }
    let persona = Persona {
        name: name
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or(&ds.character)
            .to_owned(),
        character: ds.character.clone(),
        source_title: draft.title.clone(),
        system_prompt: ds.system_prompt.clone(),
        ..Default::default()
    };
    let own = draft.cast.iter().filter(|g| g.name == ds.character);
    let others = draft.cast.iter().filter(|g| g.name != ds.character).take(29);
    let groups: Vec<AliasGroup> = own
        .chain(others)
        .map(|g| AliasGroup {
            id: 0,
            main_name: g.name.clone(),
            aliases: g.speakers.iter().filter(|s| **s != g.name).cloned().collect(),
            gender: None,
            lines: g.lines as i64,
            confirmed: g.name == ds.character,
        })
        .collect();
    let samples: Vec<Sample> = ds
        .rows
        .iter()
        .map(|r| {
            let mut s = r.sample();
            s.system = ds.system_prompt.clone();
            s
        })
        .collect();
    let rows: Vec<NewRow> = ds
        .rows
        .iter()
        .zip(&samples)
        .map(|(r, s)| NewRow {
            sample: s,
            enabled: r.enabled,
            edited: r.edited,
        })
        .collect();
    let made = super::persona::store_persona(
        lib,
        &super::persona::NewPersona {
            files: &draft.files,
            docs: &draft.docs,
            persona,
            groups,
            rows,
            report: serde_json::to_string(&ds.report).unwrap_or_default(),
            mix_ratio: ds.mix_ratio,
        },
    )?;
    Ok(SavedPersona {
        persona: made.persona,
        dataset: made.dataset,
    })
}

#[cfg(test)]
mod tests {
    use super::{natural_cmp, open_sources, title_of};
    use crate::jobs::Job;
    use std::path::PathBuf;

    #[test]
    fn naming_the_narrator_makes_their_lines_sure() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("My Story.txt");
        let mut text = String::new();
        for i in 0..30 {
            text.push_str(&format!(
                "\"Where is the ship number {i}?\" I said.\n\n\"It went west,\" said Martha. \"Far to the west.\"\n\n"
            ));
        }
        std::fs::write(&path, text).unwrap();
        let mut d = open_sources(std::slice::from_ref(&path), &Job::silent()).unwrap();
        let unsure_i = |d: &super::Draft| {
            d.script
                .utterances
                .iter()
                .filter(|u| u.speaker.as_deref() == Some("I") && u.unsure)
                .count()
        };
        assert!(unsure_i(&d) >= 30, "an unnamed narrator's lines are unsure");
        assert!(d.view(1).first_person);
        d.set_narrator(Some("Captain Hale")).unwrap();
        assert_eq!(unsure_i(&d), 0);
        assert!(d.cast.iter().any(|g| g.name == "Captain Hale" && g.narrator));
        assert!(d
            .script
            .utterances
            .iter()
            .filter(|u| u.speaker.as_deref() == Some("Martha"))
            .any(|u| u.confidence > 0.9));
    }

    #[test]
    fn one_i_quote_does_not_make_a_first_person_novel() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Their Story.txt");
        let mut text = String::from("\"Where is it?\" I said.\n\n");
        for i in 0..40 {
            text.push_str(&format!("\"It went west {i} times,\" said Martha. \"Far away.\"\n\n"));
        }
        std::fs::write(&path, text).unwrap();
        let d = open_sources(std::slice::from_ref(&path), &Job::silent()).unwrap();
        assert!(d.script.utterances.iter().any(|u| u.speaker.as_deref() == Some("I")));
        assert!(!d.view(1).first_person, "no narrator question for one quote");
    }

    #[test]
    fn titles_come_from_file_names_or_their_folder() {
        let t = |p: &str| title_of(&[PathBuf::from(p)]);
        assert_eq!(t("/s/甄嬛传剧本01-10.txt"), "甄嬛传剧本");
        assert_eq!(t("/s/Emma/novel_text.txt"), "Emma");
        assert_eq!(t("/s/Pride_and_Prejudice.txt"), "Pride and Prejudice");
    }

    #[test]
    fn natural_order_puts_numbers_in_order() {
        let mut v = vec!["ep10.txt", "ep2.txt", "ep1.txt", "a.txt"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["a.txt", "ep1.txt", "ep2.txt", "ep10.txt"]);
    }
}
