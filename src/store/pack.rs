//! Persona packs: one zip with the persona's settings, its dataset rows, the
//! adapter files (PEFT layout), the base-model reference, metrics and,
//! optionally, conversations. Import checks everything first (names, sizes,
//! checksums) and then writes in one transaction: a broken pack changes nothing.

use super::{checksum, AliasGroup, Library, Persona};
use crate::jobs::{write_atomic, Error, Result};
use rusqlite::params;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::Path;

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

/// A pack's persona: the persona and its confirmed cast.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackPersona {
    #[serde(flatten)]
    pub persona: Persona,
    /// The cast as the user confirmed it (alias groups); older packs have none.
    #[serde(default)]
    pub cast: Vec<PackAliasGroup>,
}

/// One alias group of the cast, as a pack carries it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PackAliasGroup {
    pub main_name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub gender: Option<String>,
    #[serde(default)]
    pub lines: i64,
    #[serde(default)]
    pub confirmed: bool,
}

impl From<&AliasGroup> for PackAliasGroup {
    fn from(g: &AliasGroup) -> Self {
        PackAliasGroup {
            main_name: g.main_name.clone(),
            aliases: g.aliases.clone(),
            gender: g.gender.clone(),
            lines: g.lines,
            confirmed: g.confirmed,
        }
    }
}

impl From<&PackAliasGroup> for AliasGroup {
    fn from(g: &PackAliasGroup) -> Self {
        AliasGroup {
            id: 0,
            main_name: g.main_name.clone(),
            aliases: g.aliases.clone(),
            gender: g.gender.clone(),
            lines: g.lines,
            confirmed: g.confirmed,
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

/// The top-level files a pack may hold besides `adapter/<file>`.
const TOP: &[&str] = &[
    "manifest.json",
    "persona.json",
    "dataset.json",
    "conversations.json",
    "metrics.json",
];
/// Longest file name accepted inside `adapter/` (most file systems allow 255 bytes).
const MAX_NAME: usize = 200;
/// More entries than this is not a pack Dramatis wrote.
const MAX_ENTRIES: usize = 1000;
/// The manifest and the JSON files are read into memory: keep them bounded.
const MAX_MANIFEST: u64 = 4 << 20;
const MAX_JSON: u64 = 256 << 20;

/// Whether `name` is one file of a pack: a known top-level file, or one plain
/// file name inside `adapter/`. Checked component by component, the way every
/// platform would read it: no empty, `.` or `..` parts, no absolute paths or
/// drive letters, no backslashes, control characters or NUL, no names that
/// Windows reserves, nothing over-long.
pub fn safe_name(name: &str) -> bool {
    if TOP.contains(&name) {
        return true;
    }
    let parts: Vec<&str> = name.split('/').collect();
    match parts.as_slice() {
        ["adapter", file] => plain_file_name(file),
        _ => false,
    }
}

fn plain_file_name(file: &str) -> bool {
    const RESERVED: &[&str] = &[
        "con", "prn", "aux", "nul", "com1", "com2", "com3", "lpt1", "lpt2", "lpt3",
    ];
    let stem = file.split('.').next().unwrap_or("").to_ascii_lowercase();
    !file.is_empty()
        && file.len() <= MAX_NAME
        && file != "."
        && file != ".."
        && !file.starts_with('.')
        && !file.ends_with(['.', ' '])
        && !file.contains(['\\', ':', '/', '*', '?', '"', '<', '>', '|'])
        && !file.chars().any(char::is_control)
        && !RESERVED.contains(&stem.as_str())
}

impl Library {
    /// Write a persona pack (zip) for `persona` to `out`, atomically.
    pub fn export_pack(&self, persona: i64, out: &Path, opts: &PackOptions) -> Result<Manifest> {
        let p = self.persona(persona)?;
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        let settings = PackPersona {
            persona: p.persona,
            cast: self.alias_groups(persona)?.iter().map(PackAliasGroup::from).collect(),
        };
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

    /// Import a persona pack (.zip) or a character card (.png or .json),
    /// whichever the file is; returns the new persona's id.
    pub fn import_persona_file(&mut self, file: &Path) -> Result<i64> {
        const MAX_CARD: u64 = 64 << 20;
        let mut head = [0u8; 4];
        let mut f = std::fs::File::open(file).map_err(|e| Error::io(file, e))?;
        let n = f.read(&mut head).map_err(|e| Error::io(file, e))?;
        if head[..n].starts_with(b"PK") {
            return self.import_pack(file);
        }
        let ext = file.extension().map(|e| e.to_string_lossy().to_ascii_lowercase());
        if ext.as_deref() == Some("zip") {
            return Err(Error::Format {
                path: file.into(),
                detail: "this is not a zip file, so not a Dramatis persona pack (it may be damaged or renamed). Export the pack again, or choose the .zip that Dramatis wrote".into(),
            });
        }
        let size = f.metadata().map_err(|e| Error::io(file, e))?.len();
        if size > MAX_CARD {
            return Err(Error::Format {
                path: file.into(),
                detail: "this file is too large to be a character card; choose a persona pack (.zip) or a card (.png or .json)".into(),
            });
        }
        let bytes = std::fs::read(file).map_err(|e| Error::io(file, e))?;
        let card = super::card::read_card(&bytes, file)?;
        let p = super::card::persona_from_card(&card, file)?;
        self.create_persona(&p, None, &[])
    }

    /// Import a persona pack; returns the new persona's id. Every entry name
    /// is checked before anything is read, only the files the manifest lists
    /// are read, each streamed against its declared size and checksum; adapter
    /// files go into a folder of their own, rows last, in one transaction.
    pub fn import_pack(&mut self, pack: &Path) -> Result<i64> {
        let bad = |d: String| Error::Format {
            path: pack.into(),
            detail: format!("{d}. The pack was not imported; nothing changed"),
        };
        let file = std::fs::File::open(pack).map_err(|e| Error::io(pack, e))?;
        let mut z = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| {
            bad(format!(
                "it is not a readable zip file ({e}); is it a Dramatis persona pack?"
            ))
        })?;
        if z.len() > MAX_ENTRIES {
            return Err(bad(format!("it holds {} files; a persona pack holds a few", z.len())));
        }
        // 1. Names only: nothing is decompressed yet.
        let mut names = std::collections::BTreeSet::new();
        for i in 0..z.len() {
            let name = z.name_for_index(i).unwrap_or_default().to_owned();
            if name == "adapter/" {
                continue; // the folder's own entry
            }
            if !safe_name(&name) {
                return Err(bad(format!("it holds a file with an unsafe or unknown name: {name:?}")));
            }
            if !names.insert(name.clone()) {
                return Err(bad(format!("it holds \"{name}\" twice")));
            }
        }
        // 2. The manifest, bounded.
        if !names.contains("manifest.json") {
            return Err(bad("it has no manifest.json; is it a Dramatis persona pack?".into()));
        }
        let m = read_member(&mut z, "manifest.json", MAX_MANIFEST, None).map_err(&bad)?;
        let manifest: Manifest =
            serde_json::from_slice(&m).map_err(|e| bad(format!("manifest.json is not valid ({e})")))?;
        if manifest.format != PACK_FORMAT || manifest.version != 1 {
            return Err(bad(format!(
                "it is a \"{}\" version {} pack; this Dramatis reads {PACK_FORMAT} version 1",
                manifest.format, manifest.version
            )));
        }
        // 3. What the manifest lists is exactly what the zip holds, within the limits.
        let mut listed = std::collections::BTreeSet::new();
        let mut total = 0u64;
        for f in &manifest.files {
            if !safe_name(&f.path) || f.path == "manifest.json" {
                return Err(bad(format!(
                    "its manifest lists an unsafe or unknown name: {:?}",
                    f.path
                )));
            }
            if !listed.insert(f.path.as_str()) {
                return Err(bad(format!("its manifest lists \"{}\" twice", f.path)));
            }
            let limit = if f.path.starts_with("adapter/") {
                MAX_ENTRY
            } else {
                MAX_JSON
            };
            total = total.saturating_add(f.bytes);
            if f.bytes > limit || total > MAX_TOTAL {
                return Err(bad(format!(
                    "\"{}\" would unpack to more than the size limit (a zip bomb?)",
                    f.path
                )));
            }
            if !names.contains(&f.path) {
                return Err(bad(format!("\"{}\" is listed but missing", f.path)));
            }
        }
        if let Some(extra) = names
            .iter()
            .find(|n| *n != "manifest.json" && !listed.contains(n.as_str()))
        {
            return Err(bad(format!("\"{extra}\" is in the pack but not in its manifest")));
        }
        // 4. The JSON files, each checked against the manifest.
        let mut json = std::collections::BTreeMap::new();
        for f in manifest.files.iter().filter(|f| !f.path.starts_with("adapter/")) {
            json.insert(
                f.path.as_str(),
                read_member(&mut z, &f.path, f.bytes, Some(f)).map_err(&bad)?,
            );
        }
        let rows: Vec<PackRow> = match json.get("dataset.json") {
            Some(d) => serde_json::from_slice(d).map_err(|e| bad(format!("dataset.json is not valid ({e})")))?,
            None => Vec::new(),
        };
        let convs: Vec<PackConversation> = match json.get("conversations.json") {
            Some(d) => serde_json::from_slice(d).map_err(|e| bad(format!("conversations.json is not valid ({e})")))?,
            None => Vec::new(),
        };
        // 5. Adapter files stream into a new folder that only this import uses.
        let adapter_files: Vec<&PackFile> = manifest
            .files
            .iter()
            .filter(|f| f.path.starts_with("adapter/"))
            .collect();
        let adapter_dir = if adapter_files.is_empty() {
            None
        } else {
            let dir = self.new_files_folder("adapter")?;
            let copied = adapter_files.iter().try_for_each(|f| {
                let dest = dir.join(&f.path["adapter/".len()..]);
                stream_member(&mut z, f, &dest).map_err(|e| match e {
                    StreamError::Pack(d) => bad(d),
                    StreamError::Write(e) => Error::write(&dest, e),
                })
            });
            if let Err(e) = copied {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
            Some(dir)
        };
        let result = self.import_rows(
            &manifest.persona.persona,
            &manifest.persona.cast,
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
        cast: &[PackAliasGroup],
        rows: &[PackRow],
        convs: &[PackConversation],
        adapter_dir: Option<&Path>,
        base_model: Option<&str>,
    ) -> Result<i64> {
        let path = self.path.clone();
        let e = |err| super::db_error(&path, err);
        let tx = self.conn.savepoint().map_err(e)?;
        tx.execute(
            "INSERT INTO personas (name, character, source_title, system_prompt, description, greeting, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![persona.name, persona.character, persona.source_title, persona.system_prompt, persona.description, persona.greeting, super::now()],
        )
        .map_err(e)?;
        let pid = tx.last_insert_rowid();
        let groups: Vec<AliasGroup> = cast.iter().map(AliasGroup::from).collect();
        super::insert_alias_groups(&tx, pid, &groups).map_err(e)?;
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

/// Read one member into memory, refusing it past `limit` bytes; with `expect`,
/// it must have exactly the declared size and checksum.
fn read_member<R: Read + std::io::Seek>(
    z: &mut zip::ZipArchive<R>,
    name: &str,
    limit: u64,
    expect: Option<&PackFile>,
) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::new();
    copy_member(z, name, limit, expect, &mut out).map_err(|e| match e {
        StreamError::Pack(d) => d,
        StreamError::Write(e) => format!("\"{name}\" could not be read ({e})"),
    })?;
    Ok(out)
}

enum StreamError {
    /// The pack is at fault (damaged, larger than declared, wrong checksum).
    Pack(String),
    /// Writing the copy failed (disk full, permissions).
    Write(std::io::Error),
}

/// Copy one listed member to `dest`, stopping at its declared size.
fn stream_member<R: Read + std::io::Seek>(
    z: &mut zip::ZipArchive<R>,
    f: &PackFile,
    dest: &Path,
) -> std::result::Result<(), StreamError> {
    let mut out = std::fs::File::create(dest).map_err(StreamError::Write)?;
    copy_member(z, &f.path, f.bytes, Some(f), &mut out)?;
    out.sync_all().map_err(StreamError::Write)
}

/// Decompress `name` into `out` with a running size and checksum: never more
/// than `limit` bytes are decompressed, whatever the zip headers claim.
fn copy_member<R: Read + std::io::Seek>(
    z: &mut zip::ZipArchive<R>,
    name: &str,
    limit: u64,
    expect: Option<&PackFile>,
    out: &mut impl Write,
) -> std::result::Result<(), StreamError> {
    use sha2::{Digest, Sha256};
    let damaged = |e: &dyn std::fmt::Display| StreamError::Pack(format!("\"{name}\" is damaged ({e})"));
    let f = z.by_name(name).map_err(|e| damaged(&e))?;
    let mut reader = f.take(limit + 1);
    let mut hash = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf).map_err(|e| damaged(&e))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        if size > limit {
            return Err(StreamError::Pack(format!(
                "\"{name}\" unpacks to more than its declared size (a zip bomb?)"
            )));
        }
        hash.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(StreamError::Write)?;
    }
    if let Some(f) = expect {
        let sum: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        if size != f.bytes || sum != f.sha256 {
            return Err(StreamError::Pack(format!(
                "\"{name}\" does not match its checksum (damaged or changed)"
            )));
        }
    }
    Ok(())
}
