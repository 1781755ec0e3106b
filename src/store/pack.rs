//! Persona packs: one zip with the persona's settings, its dataset rows, the
//! adapter files (PEFT layout), the base-model reference, metrics and,
//! optionally, conversations. Import checks everything first (names, sizes,
//! checksums) and then writes in one transaction: a broken pack changes nothing.

use super::{checksum, Library, Persona};
use crate::jobs::{write_atomic, Error, Result};
use rusqlite::params;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::{Component, Path};

pub const PACK_FORMAT: &str = "dramatis-persona-pack";
/// Largest single file in a pack (adapter weights), and largest pack in all.
const MAX_ENTRY: u64 = 1 << 30;
const MAX_TOTAL: u64 = 4 << 30;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub persona: PackPersona,
    #[serde(default)]
    pub base_model: Option<String>,
    pub files: Vec<PackFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackPersona {
    pub name: String,
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

impl From<&Persona> for PackPersona {
    fn from(p: &Persona) -> Self {
        PackPersona {
            name: p.name.clone(),
            character: p.character.clone(),
            source_title: p.source_title.clone(),
            system_prompt: p.system_prompt.clone(),
            description: p.description.clone(),
            greeting: p.greeting.clone(),
        }
    }
}

impl From<&PackPersona> for Persona {
    fn from(p: &PackPersona) -> Self {
        Persona {
            name: p.name.clone(),
            character: p.character.clone(),
            source_title: p.source_title.clone(),
            system_prompt: p.system_prompt.clone(),
            description: p.description.clone(),
            greeting: p.greeting.clone(),
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackFile {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

/// A dataset row as stored in a pack.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PackRow {
    system: String,
    instruction: String,
    input: String,
    output: String,
    history: Vec<(String, String)>,
    split: String,
    enabled: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PackMessage {
    role: String,
    content: String,
    settings: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PackConversation {
    title: String,
    messages: Vec<PackMessage>,
}

/// What an export should carry besides the persona and its datasets.
#[derive(Debug, Clone, Default)]
pub struct PackOptions {
    pub conversations: bool,
    pub base_model: Option<String>,
}

/// Names inside a pack: relative, forward slashes, no `..`, known files only.
fn safe_name(name: &str) -> bool {
    const TOP: &[&str] = &[
        "manifest.json",
        "persona.json",
        "dataset.json",
        "conversations.json",
        "metrics.json",
    ];
    let p = Path::new(name);
    let plain = !name.is_empty()
        && !name.contains(['\\', ':'])
        && !name.starts_with('/')
        && p.components().all(|c| matches!(c, Component::Normal(_)));
    plain && (TOP.contains(&name) || (name.starts_with("adapter/") && p.components().count() == 2))
}

impl Library {
    /// Write a persona pack (zip) for `persona` to `out`, atomically.
    pub fn export_pack(&self, persona: i64, out: &Path, opts: &PackOptions) -> Result<Manifest> {
        let p = self.persona(persona)?;
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        let settings = PackPersona::from(&p);
        files.push((
            "persona.json".into(),
            serde_json::to_vec_pretty(&settings).unwrap_or_default(),
        ));
        let mut rows = Vec::new();
        for d in self.datasets()?.into_iter().filter(|d| d.persona_id == Some(persona)) {
            for r in self.dataset_rows(d.id)? {
                rows.push(PackRow {
                    system: r.sample.system,
                    instruction: r.sample.instruction,
                    input: r.sample.input,
                    output: r.sample.output,
                    history: r.sample.history,
                    split: r.split,
                    enabled: r.enabled,
                });
            }
        }
        files.push((
            "dataset.json".into(),
            serde_json::to_vec_pretty(&rows).unwrap_or_default(),
        ));
        if opts.conversations {
            let mut convs = Vec::new();
            for c in self
                .conversations()?
                .into_iter()
                .filter(|c| c.persona_id == Some(persona))
            {
                let messages = self
                    .messages(c.id)?
                    .into_iter()
                    .map(|m| PackMessage {
                        role: m.role,
                        content: m.content,
                        settings: m.settings,
                    })
                    .collect();
                convs.push(PackConversation {
                    title: c.title,
                    messages,
                });
            }
            files.push((
                "conversations.json".into(),
                serde_json::to_vec_pretty(&convs).unwrap_or_default(),
            ));
        }
        // The newest adapter of the persona, in PEFT layout.
        let adapter: Option<String> = self
            .conn
            .query_row(
                "SELECT path FROM adapters WHERE persona_id = ?1 ORDER BY id DESC LIMIT 1",
                [persona],
                |r| r.get(0),
            )
            .ok();
        if let Some(dir) = adapter.map(std::path::PathBuf::from).filter(|d| d.is_dir()) {
            let mut entries: Vec<_> = std::fs::read_dir(&dir)
                .map_err(|e| Error::io(&dir, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            entries.sort();
            for f in entries {
                let name = f
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                files.push((
                    format!("adapter/{name}"),
                    std::fs::read(&f).map_err(|e| Error::io(&f, e))?,
                ));
            }
        }
        let manifest = Manifest {
            format: PACK_FORMAT.into(),
            version: 1,
            persona: settings,
            base_model: opts.base_model.clone(),
            files: files
                .iter()
                .map(|(n, b)| PackFile {
                    path: n.clone(),
                    sha256: checksum(b),
                    bytes: b.len() as u64,
                })
                .collect(),
        };
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut buf);
            let o = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
            let werr = |e: zip::result::ZipError| Error::write(out, std::io::Error::other(e.to_string()));
            z.start_file("manifest.json", o).map_err(werr)?;
            z.write_all(&serde_json::to_vec_pretty(&manifest).unwrap_or_default())
                .map_err(|e| Error::write(out, e))?;
            for (n, b) in &files {
                z.start_file(n.as_str(), o).map_err(werr)?;
                z.write_all(b).map_err(|e| Error::write(out, e))?;
            }
            z.finish().map_err(werr)?;
        }
        write_atomic(out, &buf.into_inner())?;
        Ok(manifest)
    }

    /// Import a persona pack; returns the new persona's id.
    pub fn import_pack(&mut self, pack: &Path) -> Result<i64> {
        let bad = |d: String| Error::Format {
            path: pack.into(),
            detail: format!("{d}. The pack was not imported; nothing changed"),
        };
        let bytes = std::fs::read(pack).map_err(|e| Error::io(pack, e))?;
        let mut z =
            zip::ZipArchive::new(std::io::Cursor::new(&bytes)).map_err(|e| bad(format!("not a readable zip ({e})")))?;
        // Read and check every entry before touching the library.
        let mut entries: std::collections::BTreeMap<String, Vec<u8>> = Default::default();
        let mut total = 0u64;
        for i in 0..z.len() {
            let mut f = z.by_index(i).map_err(|e| bad(format!("damaged entry ({e})")))?;
            let name = f.name().to_owned();
            if f.is_dir() {
                continue;
            }
            if !safe_name(&name) {
                return Err(bad(format!(
                    "it holds a file with an unsafe or unknown name: \"{name}\""
                )));
            }
            if f.size() > MAX_ENTRY {
                return Err(bad(format!("\"{name}\" is larger than 1 GB")));
            }
            let mut data = Vec::with_capacity(f.size().min(1 << 24) as usize);
            (&mut f)
                .take(MAX_ENTRY + 1)
                .read_to_end(&mut data)
                .map_err(|e| bad(format!("\"{name}\" is damaged ({e})")))?;
            total += data.len() as u64;
            if data.len() as u64 > MAX_ENTRY || total > MAX_TOTAL {
                return Err(bad("it unpacks to more than the size limit (a zip bomb?)".into()));
            }
            entries.insert(name, data);
        }
        let manifest: Manifest = entries
            .get("manifest.json")
            .ok_or_else(|| bad("it has no manifest.json; is it a Dramatis persona pack?".into()))
            .and_then(|m| serde_json::from_slice(m).map_err(|e| bad(format!("manifest.json is not valid ({e})"))))?;
        if manifest.format != PACK_FORMAT || manifest.version != 1 {
            return Err(bad(format!(
                "it is a \"{}\" version {} pack; this Dramatis reads {PACK_FORMAT} version 1",
                manifest.format, manifest.version
            )));
        }
        for f in &manifest.files {
            let data = entries
                .get(&f.path)
                .ok_or_else(|| bad(format!("\"{}\" is listed but missing", f.path)))?;
            if checksum(data) != f.sha256 || data.len() as u64 != f.bytes {
                return Err(bad(format!(
                    "\"{}\" does not match its checksum (damaged or changed)",
                    f.path
                )));
            }
        }
        if let Some(extra) = entries
            .keys()
            .find(|k| *k != "manifest.json" && !manifest.files.iter().any(|f| &f.path == *k))
        {
            return Err(bad(format!("\"{extra}\" is in the pack but not in its manifest")));
        }
        let rows: Vec<PackRow> = match entries.get("dataset.json") {
            Some(d) => serde_json::from_slice(d).map_err(|e| bad(format!("dataset.json is not valid ({e})")))?,
            None => Vec::new(),
        };
        let convs: Vec<PackConversation> = match entries.get("conversations.json") {
            Some(d) => serde_json::from_slice(d).map_err(|e| bad(format!("conversations.json is not valid ({e})")))?,
            None => Vec::new(),
        };
        // Adapter files go to the library's folder first (atomically), rows after.
        let adapter_files: Vec<(&String, &Vec<u8>)> =
            entries.iter().filter(|(k, _)| k.starts_with("adapter/")).collect();
        let adapter_dir = if adapter_files.is_empty() {
            None
        } else {
            let dir = self.files_dir().join(format!("adapter-{}", &checksum(&bytes)[..16]));
            for (name, data) in &adapter_files {
                write_atomic(&dir.join(&name["adapter/".len()..]), data)?;
            }
            Some(dir)
        };
        let persona = Persona::from(&manifest.persona);
        let result = self.import_rows(
            &persona,
            &rows,
            &convs,
            adapter_dir.as_deref(),
            manifest.base_model.as_deref(),
        );
        if result.is_err() {
            if let Some(d) = &adapter_dir {
                let _ = std::fs::remove_dir_all(d);
            }
        }
        result
    }

    fn import_rows(
        &mut self,
        persona: &Persona,
        rows: &[PackRow],
        convs: &[PackConversation],
        adapter_dir: Option<&Path>,
        base_model: Option<&str>,
    ) -> Result<i64> {
        let path = self.path.clone();
        let e = |err| super::db_error(&path, err);
        let tx = self.conn.transaction().map_err(e)?;
        tx.execute(
            "INSERT INTO personas (name, character, source_title, system_prompt, description, greeting, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![persona.name, persona.character, persona.source_title, persona.system_prompt, persona.description, persona.greeting, super::now()],
        )
        .map_err(e)?;
        let pid = tx.last_insert_rowid();
        if !rows.is_empty() {
            tx.execute(
                "INSERT INTO datasets (persona_id, name, created_at) VALUES (?1, ?2, ?3)",
                params![pid, persona.character, super::now()],
            )
            .map_err(e)?;
            let did = tx.last_insert_rowid();
            for (i, r) in rows.iter().enumerate() {
                tx.execute(
                    "INSERT INTO dataset_rows (dataset_id, position, system, instruction, input, output, history, split, enabled) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![did, i as i64, r.system, r.instruction, r.input, r.output, serde_json::to_string(&r.history).unwrap_or_default(), if r.split == "validation" { "validation" } else { "train" }, r.enabled],
                )
                .map_err(e)?;
            }
        }
        for c in convs {
            tx.execute(
                "INSERT INTO conversations (persona_id, title, created_at) VALUES (?1, ?2, ?3)",
                params![pid, c.title, super::now()],
            )
            .map_err(e)?;
            let cid = tx.last_insert_rowid();
            for m in &c.messages {
                tx.execute(
                    "INSERT INTO messages (conversation_id, role, content, settings, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![cid, m.role, m.content, m.settings, super::now()],
                )
                .map_err(e)?;
            }
        }
        if let Some(dir) = adapter_dir {
            let sum = super::checksum_file(dir)?;
            tx.execute(
                "INSERT INTO adapters (persona_id, path, checksum, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![pid, dir.display().to_string(), sum, super::now()],
            )
            .map_err(e)?;
        }
        if let Some(m) = base_model {
            tx.execute(
                "INSERT INTO models (kind, reference, added_at) SELECT ?1, ?2, ?3 WHERE NOT EXISTS (SELECT 1 FROM models WHERE reference = ?2)",
                params![if m.ends_with(".gguf") { "gguf" } else { "hub" }, m, super::now()],
            )
            .map_err(e)?;
        }
        tx.commit().map_err(e)?;
        Ok(pid)
    }
}
