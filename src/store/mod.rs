//! store: the persona library in one SQLite file (WAL, foreign keys on,
//! forward migrations). Large artifacts live as files beside it, referenced by
//! path and checksum. The app and the CLI use this typed API and never SQL.

mod activity;
pub mod card;
mod chats;
mod datasets;
pub mod pack;
mod schema;

use crate::dataset::{Sample, Split};
use crate::jobs::{Error, Result};
pub use crate::persona::Persona;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

pub use datasets::{NewRow, DEFAULT_MIX_RATIO};
pub use schema::MIGRATIONS;

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// An open library.
pub struct Library {
    conn: Connection,
    path: PathBuf,
}

fn db_error(path: &Path, e: rusqlite::Error) -> Error {
    let detail = match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::DiskFull || f.extended_code == rusqlite::ffi::SQLITE_IOERR_WRITE =>
        {
            // SQLite rolls the write back: the library stays as it was.
            return Error::DiskFull { path: path.into() };
        }
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase => {
            "this is not a Dramatis library (not an SQLite database). Choose another file or move it away".to_owned()
        }
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            return Error::Busy {
                path: path.into(),
                what: "the library".into(),
            };
        }
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::PermissionDenied
            ) =>
        {
            return Error::ReadOnly { path: path.into() };
        }
        _ => format!("library error: {e}"),
    };
    Error::Format {
        path: path.into(),
        detail,
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The error for an id that is not in the library.
fn missing(kind: &str, id: i64) -> Error {
    Error::Invalid(format!(
        "there is no {kind} {id} in the library; `dramatis library list` shows what there is"
    ))
}

/// SHA-256 of bytes, as lowercase hex.
pub fn checksum(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SourceRecord {
    pub id: i64,
    pub file_name: String,
    pub checksum: String,
    pub format: String,
    pub encoding: String,
    pub bytes: i64,
    pub imported_at: i64,
}

/// A persona as the library keeps it: the persona and its row's extras.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct PersonaRecord {
    pub id: i64,
    #[serde(flatten)]
    pub persona: Persona,
    /// A picture file, or a `data:` URL.
    pub avatar: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AliasGroup {
    pub id: i64,
    pub main_name: String,
    pub aliases: Vec<String>,
    pub gender: Option<String>,
    pub lines: i64,
    pub confirmed: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DatasetRecord {
    pub id: i64,
    pub persona_id: Option<i64>,
    pub name: String,
    pub rows: i64,
    pub enabled_rows: i64,
    pub created_at: i64,
    /// Share of general samples mixed in when training on it.
    pub mix_ratio: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DatasetRow {
    pub id: i64,
    pub position: i64,
    pub sample: SampleFields,
    pub split: String,
    pub enabled: bool,
    pub edited: bool,
    pub scene: Option<i64>,
    pub confidence: Option<f64>,
}

/// The editable fields of a row.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct SampleFields {
    pub system: String,
    pub instruction: String,
    pub input: String,
    pub output: String,
    pub history: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ModelRecord {
    pub id: i64,
    /// "hub", "folder" or "gguf".
    pub kind: String,
    pub reference: String,
    pub architecture: String,
    pub size_bytes: i64,
    pub quantization: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TrainingRun {
    pub id: i64,
    pub persona_id: Option<i64>,
    pub dataset_id: Option<i64>,
    pub model_id: Option<i64>,
    /// Hyper-parameters as JSON.
    pub params: String,
    /// "queued", "running", "paused", "finished", "failed", "cancelled", or
    /// "interrupted": recorded as running, but no process works on its folder
    /// any more (closed, crashed, killed for memory); it can be resumed there.
    pub status: String,
    /// The run's output folder (checkpoints, adapter), once it is known.
    pub folder: Option<String>,
    /// Final metrics as JSON.
    pub metrics: String,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AdapterRecord {
    pub id: i64,
    pub persona_id: Option<i64>,
    pub run_id: Option<i64>,
    pub path: String,
    pub checksum: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Conversation {
    pub id: i64,
    pub persona_id: Option<i64>,
    pub title: String,
    pub created_at: i64,
    pub messages: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Message {
    pub id: i64,
    pub role: String,
    pub content: String,
    /// The generation settings used, as JSON.
    pub settings: String,
    pub adapter_id: Option<i64>,
    pub created_at: i64,
    /// Thumbs up (1) or down (-1) from the person chatting.
    pub rating: Option<i64>,
}

/// What to keep when a persona is deleted; everything else goes.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Keep {
    pub datasets: bool,
    pub conversations: bool,
    pub adapters: bool,
}

/// What deleting a persona removes (or would remove).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct DeletionPlan {
    pub persona: String,
    pub datasets: Vec<i64>,
    pub conversations: Vec<i64>,
    pub adapters: Vec<i64>,
    /// Files removed with the rows that own them.
    pub files: Vec<String>,
    /// Files of deleted rows that another item still uses: left in place.
    pub kept_files: Vec<String>,
}

impl Library {
    /// The library in the platform's app-data folder.
    pub fn default_path() -> PathBuf {
        match directories::ProjectDirs::from("org", "Dramatis", "Dramatis") {
            Some(d) => d.data_dir().join("library.sqlite"),
            None => PathBuf::from("dramatis-library.sqlite"),
        }
    }

    /// Open (or create) a library and bring its schema up to date.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
        }
        let conn = Connection::open(path).map_err(|e| db_error(path, e))?;
        let e = |err| db_error(path, err);
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(e)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(e)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(e)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(e)?;
        let mut lib = Library {
            conn,
            path: path.into(),
        };
        lib.migrate()?;
        Ok(lib)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A new, empty folder under `files_dir` named `PREFIX-N` that no other
    /// item uses: every adapter owns its files, so deleting one never takes
    /// another's.
    pub fn new_files_folder(&self, prefix: &str) -> Result<PathBuf> {
        let root = self.files_dir();
        std::fs::create_dir_all(&root).map_err(|e| Error::write(&root, e))?;
        for n in 1u32.. {
            let dir = root.join(format!("{prefix}-{n}"));
            match std::fs::create_dir(&dir) {
                Ok(()) => return Ok(dir),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::write(&dir, e)),
            }
        }
        unreachable!("u32 folder numbers run out")
    }

    /// The folder for files that belong to the library (adapters, exports).
    pub fn files_dir(&self) -> PathBuf {
        self.path.with_extension("files")
    }

    fn err(&self, e: rusqlite::Error) -> Error {
        db_error(&self.path, e)
    }

    /// Every row of a query, mapped by `f`.
    fn query_all<T, P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
        f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let mut st = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        let rows = st.query_map(params, f).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.err(e))
    }

    pub fn schema_version(&self) -> Result<i64> {
        self.conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    fn migrate(&mut self) -> Result<()> {
        let v = self.schema_version()?;
        if v > SCHEMA_VERSION {
            return Err(Error::Format {
                path: self.path.clone(),
                detail: format!(
                    "this library was written by a newer Dramatis (schema {v}, this one knows {SCHEMA_VERSION}). Update Dramatis to open it"
                ),
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(v.max(0) as usize) {
            let tx = self.conn.savepoint().map_err(|e| db_error(&self.path, e))?;
            tx.execute_batch(sql).map_err(|e| db_error(&self.path, e))?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)
                .map_err(|e| db_error(&self.path, e))?;
            tx.commit().map_err(|e| db_error(&self.path, e))?;
        }
        Ok(())
    }

    /// Run `f` as one unit: every write it makes lands, or none does (the
    /// library's own writes use savepoints, so they nest inside this one).
    pub fn atomically<T>(&mut self, f: impl FnOnce(&mut Library) -> Result<T>) -> Result<T> {
        self.conn
            .execute_batch("SAVEPOINT atomically")
            .map_err(|e| db_error(&self.path, e))?;
        match f(self) {
            Ok(v) => {
                if let Err(e) = self.conn.execute_batch("RELEASE atomically") {
                    let _ = self.conn.execute_batch("ROLLBACK TO atomically; RELEASE atomically");
                    return Err(db_error(&self.path, e));
                }
                Ok(v)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK TO atomically; RELEASE atomically");
                Err(e)
            }
        }
    }

    /// `PRAGMA integrity_check`: "ok" when the file is sound.
    pub fn integrity_check(&self) -> Result<String> {
        self.conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    // ---- sources ----

    /// Store an imported document; the same file imported twice is stored once.
    pub fn add_source(&mut self, doc: &crate::ingest::Document, bytes: &[u8]) -> Result<i64> {
        let sum = checksum(bytes);
        if let Some(id) = self
            .conn
            .query_row("SELECT id FROM sources WHERE checksum = ?1", [&sum], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?
        {
            return Ok(id);
        }
        let format = serde_json::to_value(doc.format)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        self.conn
            .execute(
                "INSERT INTO sources (file_name, checksum, format, encoding, bytes, text, imported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![doc.file_name(), sum, format, doc.encoding, bytes.len() as i64, doc.text, now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn sources(&self) -> Result<Vec<SourceRecord>> {
        self.query_all(
            "SELECT id, file_name, checksum, format, encoding, bytes, imported_at FROM sources ORDER BY id",
            [],
            |r| {
                Ok(SourceRecord {
                    id: r.get(0)?,
                    file_name: r.get(1)?,
                    checksum: r.get(2)?,
                    format: r.get(3)?,
                    encoding: r.get(4)?,
                    bytes: r.get(5)?,
                    imported_at: r.get(6)?,
                })
            },
        )
    }

    /// The normalised text of a source.
    pub fn source_text(&self, id: i64) -> Result<String> {
        self.conn
            .query_row("SELECT text FROM sources WHERE id = ?1", [id], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?
            .ok_or_else(|| Error::Invalid(format!("there is no source {id} in the library")))
    }

    // ---- personas ----

    pub fn create_persona(&mut self, p: &Persona, avatar: Option<&str>, sources: &[i64]) -> Result<i64> {
        let tx = self.conn.savepoint().map_err(|e| db_error(&self.path, e))?;
        tx.execute(
            "INSERT INTO personas (name, character, source_title, system_prompt, description, greeting, avatar, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![p.name, p.character, p.source_title, p.system_prompt, p.description, p.greeting, avatar, now()],
        )
        .map_err(|e| db_error(&self.path, e))?;
        let id = tx.last_insert_rowid();
        for (i, s) in sources.iter().enumerate() {
            tx.execute(
                "INSERT INTO persona_sources (persona_id, source_id, position) VALUES (?1, ?2, ?3)",
                params![id, s, i as i64],
            )
            .map_err(|e| db_error(&self.path, e))?;
        }
        tx.commit().map_err(|e| db_error(&self.path, e))?;
        Ok(id)
    }

    pub fn update_persona(&mut self, r: &PersonaRecord) -> Result<()> {
        let p = &r.persona;
        let n = self
            .conn
            .execute(
                "UPDATE personas SET name = ?2, character = ?3, source_title = ?4, system_prompt = ?5, description = ?6, greeting = ?7, avatar = ?8 WHERE id = ?1",
                params![r.id, p.name, p.character, p.source_title, p.system_prompt, p.description, p.greeting, r.avatar],
            )
            .map_err(|e| self.err(e))?;
        if n == 0 {
            return Err(Error::Invalid(format!("there is no persona {} in the library", r.id)));
        }
        Ok(())
    }

    /// Set the system prompt a persona's rows and chats use (trimmed).
    pub fn set_system_prompt(&mut self, persona: i64, system: &str) -> Result<()> {
        let mut r = self.persona(persona)?;
        r.persona.system_prompt = system.trim().to_owned();
        self.update_persona(&r)
    }

    pub fn personas(&self) -> Result<Vec<PersonaRecord>> {
        self.query_all("SELECT id, name, character, source_title, system_prompt, description, greeting, avatar, created_at FROM personas ORDER BY id", [], |r| {
                Ok(PersonaRecord {
                    id: r.get(0)?,
                    persona: Persona {
                        name: r.get(1)?,
                        character: r.get(2)?,
                        source_title: r.get(3)?,
                        system_prompt: r.get(4)?,
                        description: r.get(5)?,
                        greeting: r.get(6)?,
                    },
                    avatar: r.get(7)?,
                    created_at: r.get(8)?,
                })
            })
    }

    pub fn persona(&self, id: i64) -> Result<PersonaRecord> {
        self.personas()?.into_iter().find(|p| p.id == id).ok_or_else(|| {
            Error::Invalid(format!(
                "there is no persona {id} in the library; `dramatis library list` shows them"
            ))
        })
    }

    pub fn dataset(&self, id: i64) -> Result<DatasetRecord> {
        self.datasets()?
            .into_iter()
            .find(|d| d.id == id)
            .ok_or_else(|| missing("dataset", id))
    }

    pub fn conversation(&self, id: i64) -> Result<Conversation> {
        self.conversations()?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(|| missing("conversation", id))
    }

    pub fn persona_sources(&self, persona: i64) -> Result<Vec<i64>> {
        self.query_all(
            "SELECT source_id FROM persona_sources WHERE persona_id = ?1 ORDER BY position",
            [persona],
            |r| r.get(0),
        )
    }

    /// Replace the alias groups of a persona (the cast as the user confirmed it).
    pub fn set_alias_groups(&mut self, persona: i64, groups: &[AliasGroup]) -> Result<()> {
        let tx = self.conn.savepoint().map_err(|e| db_error(&self.path, e))?;
        tx.execute("DELETE FROM alias_groups WHERE persona_id = ?1", [persona])
            .map_err(|e| db_error(&self.path, e))?;
        insert_alias_groups(&tx, persona, groups).map_err(|e| db_error(&self.path, e))?;
        tx.commit().map_err(|e| db_error(&self.path, e))
    }

    pub fn alias_groups(&self, persona: i64) -> Result<Vec<AliasGroup>> {
        self.query_all("SELECT id, main_name, aliases, gender, lines, confirmed FROM alias_groups WHERE persona_id = ?1 ORDER BY id", [persona], |r| {
                let aliases: String = r.get(2)?;
                Ok(AliasGroup {
                    id: r.get(0)?,
                    main_name: r.get(1)?,
                    aliases: serde_json::from_str(&aliases).unwrap_or_default(),
                    gender: r.get(3)?,
                    lines: r.get(4)?,
                    confirmed: r.get(5)?,
                })
            })
    }

    // ---- deleting ----

    fn ids(&self, sql: &str, id: i64) -> Result<Vec<i64>> {
        self.query_all(sql, [id], |r| r.get(0))
    }

    /// What deleting a persona would remove, keeping what `keep` names.
    pub fn plan_delete_persona(&self, persona: i64, keep: Keep) -> Result<DeletionPlan> {
        let p = self.persona(persona)?;
        let mut plan = DeletionPlan {
            persona: p.persona.name,
            ..Default::default()
        };
        if !keep.datasets {
            plan.datasets = self.ids("SELECT id FROM datasets WHERE persona_id = ?1 ORDER BY id", persona)?;
        }
        if !keep.conversations {
            plan.conversations = self.ids(
                "SELECT id FROM conversations WHERE persona_id = ?1 ORDER BY id",
                persona,
            )?;
        }
        if !keep.adapters {
            plan.adapters = self.ids("SELECT id FROM adapters WHERE persona_id = ?1 ORDER BY id", persona)?;
            // A file goes only when no row outside this plan still uses it
            // (libraries written before adapters owned their folders share some).
            plan.files = self.query_all(
                "SELECT DISTINCT path FROM adapters a WHERE persona_id = ?1 AND NOT EXISTS
                 (SELECT 1 FROM adapters b WHERE b.path = a.path AND b.persona_id IS NOT ?1) GROUP BY path ORDER BY MIN(id)",
                [persona],
                |r| r.get(0),
            )?;
            plan.kept_files = self.query_all(
                "SELECT DISTINCT path FROM adapters a WHERE persona_id = ?1 AND EXISTS
                 (SELECT 1 FROM adapters b WHERE b.path = a.path AND b.persona_id IS NOT ?1) GROUP BY path ORDER BY MIN(id)",
                [persona],
                |r| r.get(0),
            )?;
        }
        Ok(plan)
    }

    /// Delete a persona and what the plan lists, in one transaction; files
    /// go after the rows are gone (a crash in between leaves only stray files).
    pub fn delete_persona(&mut self, persona: i64, keep: Keep) -> Result<DeletionPlan> {
        let plan = self.plan_delete_persona(persona, keep)?;
        let tx = self.conn.savepoint().map_err(|e| db_error(&self.path, e))?;
        let e = |err| db_error(&self.path, err);
        for d in &plan.datasets {
            tx.execute("DELETE FROM datasets WHERE id = ?1", [d]).map_err(e)?;
        }
        for c in &plan.conversations {
            tx.execute("DELETE FROM conversations WHERE id = ?1", [c]).map_err(e)?;
        }
        for a in &plan.adapters {
            tx.execute("DELETE FROM adapters WHERE id = ?1", [a]).map_err(e)?;
        }
        tx.execute("DELETE FROM personas WHERE id = ?1", [persona]).map_err(e)?;
        tx.commit().map_err(e)?;
        for f in &plan.files {
            let p = Path::new(f);
            let _ = if p.is_dir() {
                std::fs::remove_dir_all(p)
            } else {
                std::fs::remove_file(p)
            };
        }
        Ok(plan)
    }
}

fn insert_alias_groups(conn: &Connection, persona: i64, groups: &[AliasGroup]) -> rusqlite::Result<()> {
    for g in groups {
        conn.execute(
            "INSERT INTO alias_groups (persona_id, main_name, aliases, gender, lines, confirmed) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![persona, g.main_name, serde_json::to_string(&g.aliases).unwrap_or_default(), g.gender, g.lines, g.confirmed],
        )?;
    }
    Ok(())
}

/// A safetensors file starts with an 8-byte header length and a JSON header.
fn check_safetensors_header(path: &Path) -> Result<()> {
    use std::io::Read;
    let bad = |d: &str| Error::Format {
        path: path.into(),
        detail: format!("{d}; the adapter weights are damaged or not safetensors"),
    };
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let total = f.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut len = [0u8; 8];
    f.read_exact(&mut len).map_err(|_| bad("the file is too short"))?;
    let n = u64::from_le_bytes(len);
    if n == 0 || n > 100 << 20 || 8 + n > total {
        return Err(bad("the header length is impossible"));
    }
    let mut header = vec![0u8; n as usize];
    f.read_exact(&mut header).map_err(|_| bad("the header is cut short"))?;
    serde_json::from_slice::<serde_json::Value>(&header).map_err(|_| bad("the header is not JSON"))?;
    Ok(())
}

/// SHA-256 of a file, or of every file in a folder (sorted by name).
pub fn checksum_file(path: &Path) -> Result<String> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| Error::io(path, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        entries.sort();
        let mut h = Sha256::new();
        for p in entries {
            h.update(
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
                    .as_bytes(),
            );
            h.update(std::fs::read(&p).map_err(|e| Error::io(&p, e))?);
        }
        Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
    } else {
        Ok(checksum(&std::fs::read(path).map_err(|e| Error::io(path, e))?))
    }
}
