//! Models, training runs, adapters and conversations in the library.

use super::*;

impl Library {
    // ---- models, runs, adapters ----

    pub fn add_model(&mut self, m: &ModelRecord) -> Result<i64> {
        self.conn
            .execute(
                "INSERT INTO models (kind, reference, architecture, size_bytes, quantization, added_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![m.kind, m.reference, m.architecture, m.size_bytes, m.quantization, now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn models(&self) -> Result<Vec<ModelRecord>> {
        self.query_all(
            "SELECT id, kind, reference, architecture, size_bytes, quantization FROM models ORDER BY id",
            [],
            |r| {
                Ok(ModelRecord {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    reference: r.get(2)?,
                    architecture: r.get(3)?,
                    size_bytes: r.get(4)?,
                    quantization: r.get(5)?,
                })
            },
        )
    }

    /// Record an adapter whose files are already written (atomically) at `path`.
    pub fn add_adapter(&mut self, persona: Option<i64>, run: Option<i64>, path: &Path) -> Result<i64> {
        let sum = checksum_file(path)?;
        self.conn
            .execute(
                "INSERT INTO adapters (persona_id, run_id, path, checksum, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![persona, run, path.display().to_string(), sum, now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn create_run(
        &mut self,
        persona: Option<i64>,
        dataset: Option<i64>,
        model: Option<i64>,
        params_json: &str,
    ) -> Result<i64> {
        self.conn
            .execute(
                "INSERT INTO training_runs (persona_id, dataset_id, model_id, params, status) VALUES (?1, ?2, ?3, ?4, 'queued')",
                params![persona, dataset, model, params_json],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Move a run to a new status; the first "running" stamps the start, an
    /// end state stamps the finish.
    pub fn set_run_status(&mut self, run: i64, status: &str, metrics_json: Option<&str>) -> Result<()> {
        const STATES: &[&str] = &["queued", "running", "paused", "finished", "failed", "cancelled"];
        if !STATES.contains(&status) {
            return Err(Error::Invalid(format!(
                "unknown run status \"{status}\"; use one of {}",
                STATES.join(", ")
            )));
        }
        let end = matches!(status, "finished" | "failed" | "cancelled");
        let n = self
            .conn
            .execute(
                "UPDATE training_runs SET status = ?2, metrics = COALESCE(?3, metrics),
                 started_at = CASE WHEN ?2 = 'running' AND started_at IS NULL THEN ?4 ELSE started_at END,
                 finished_at = CASE WHEN ?5 THEN ?4 ELSE finished_at END WHERE id = ?1",
                params![run, status, metrics_json, now(), end],
            )
            .map_err(|e| self.err(e))?;
        if n == 0 {
            return Err(Error::Invalid(format!("there is no training run {run}")));
        }
        Ok(())
    }

    pub fn runs(&self) -> Result<Vec<TrainingRun>> {
        self.query_all("SELECT id, persona_id, dataset_id, model_id, params, status, metrics, started_at, finished_at, folder FROM training_runs ORDER BY id", [], |r| {
                let folder: Option<String> = r.get(9)?;
                let mut status: String = r.get(5)?;
                if status == "running" && folder.as_deref().is_some_and(|f| !crate::jobs::FolderLock::is_held(Path::new(f))) {
                    status = "interrupted".into();
                }
                Ok(TrainingRun {
                    id: r.get(0)?,
                    persona_id: r.get(1)?,
                    dataset_id: r.get(2)?,
                    model_id: r.get(3)?,
                    params: r.get(4)?,
                    status,
                    metrics: r.get(6)?,
                    started_at: r.get(7)?,
                    finished_at: r.get(8)?,
                    folder,
                })
            })
    }

    /// Runs that stopped without finishing and can be resumed from their folder.
    pub fn interrupted_runs(&self) -> Result<Vec<TrainingRun>> {
        Ok(self.runs()?.into_iter().filter(|r| r.status == "interrupted").collect())
    }

    /// Record where a run writes its checkpoints.
    pub fn set_run_folder(&mut self, run: i64, folder: &Path) -> Result<()> {
        let folder = std::path::absolute(folder).unwrap_or_else(|_| folder.to_path_buf());
        self.conn
            .execute(
                "UPDATE training_runs SET folder = ?2 WHERE id = ?1",
                params![run, folder.display().to_string()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The newest run that writes into `folder`, if the library has one.
    pub fn run_in_folder(&self, folder: &Path) -> Result<Option<i64>> {
        let folder = std::path::absolute(folder).unwrap_or_else(|_| folder.to_path_buf());
        self.conn
            .query_row(
                "SELECT id FROM training_runs WHERE folder = ?1 ORDER BY id DESC LIMIT 1",
                [folder.display().to_string()],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn adapters(&self) -> Result<Vec<AdapterRecord>> {
        self.query_all(
            "SELECT id, persona_id, run_id, path, checksum, created_at FROM adapters ORDER BY id",
            [],
            |r| {
                Ok(AdapterRecord {
                    id: r.get(0)?,
                    persona_id: r.get(1)?,
                    run_id: r.get(2)?,
                    path: r.get(3)?,
                    checksum: r.get(4)?,
                    created_at: r.get(5)?,
                })
            },
        )
    }

    /// Bring in a PEFT adapter trained elsewhere (LLaMA-Factory, axolotl):
    /// checks the layout, copies it into the library's folder and records it.
    pub fn import_peft_adapter(&mut self, persona: Option<i64>, dir: &Path) -> Result<i64> {
        let config_path = dir.join("adapter_config.json");
        let weights = ["adapter_model.safetensors", "adapter_model.bin"]
            .iter()
            .map(|f| dir.join(f))
            .find(|p| p.is_file());
        let bad = |d: String| Error::Format {
            path: dir.into(),
            detail: d,
        };
        let config = std::fs::read_to_string(&config_path)
            .map_err(|_| bad("no adapter_config.json here; choose the folder PEFT saved the adapter into".into()))?;
        let config: serde_json::Value =
            serde_json::from_str(&config).map_err(|e| bad(format!("adapter_config.json is not valid JSON ({e})")))?;
        if config.get("peft_type").and_then(|v| v.as_str()) != Some("LORA") {
            return Err(bad(
                "adapter_config.json does not describe a LoRA adapter (peft_type LORA)".into(),
            ));
        }
        let weights =
            weights.ok_or_else(|| bad("no adapter_model.safetensors (or .bin) beside adapter_config.json".into()))?;
        if weights.extension().is_some_and(|e| e == "safetensors") {
            check_safetensors_header(&weights)?;
        }
        // A folder of its own: importing the same adapter twice gives two
        // rows with two copies, so deleting one never takes the other's files.
        let dest = self.new_files_folder("adapter")?;
        let result = [config_path, weights].iter().try_for_each(|f| {
            let name = f.file_name().map(|n| n.to_os_string()).unwrap_or_default();
            let bytes = std::fs::read(f).map_err(|e| Error::io(f, e))?;
            crate::jobs::write_atomic(&dest.join(name), &bytes)
        });
        let result = result.and_then(|()| self.add_adapter(persona, None, &dest));
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&dest);
        }
        result
    }

    pub fn create_conversation(&mut self, persona: Option<i64>, title: &str) -> Result<i64> {
        self.conn
            .execute(
                "INSERT INTO conversations (persona_id, title, created_at) VALUES (?1, ?2, ?3)",
                params![persona, title, now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn add_message(
        &mut self,
        conversation: i64,
        role: &str,
        content: &str,
        settings: &str,
        adapter: Option<i64>,
    ) -> Result<i64> {
        self.conn
            .execute(
                "INSERT INTO messages (conversation_id, role, content, settings, adapter_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![conversation, role, content, settings, adapter, now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// When each persona last had a chat message (unix seconds), by persona id.
    pub fn last_chats(&self) -> Result<Vec<(i64, i64)>> {
        self.query_all(
            "SELECT c.persona_id, MAX(m.created_at) FROM conversations c JOIN messages m ON m.conversation_id = c.id
                 WHERE c.persona_id IS NOT NULL GROUP BY c.persona_id",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    pub fn conversations(&self) -> Result<Vec<Conversation>> {
        self.query_all(
            "SELECT c.id, c.persona_id, c.title, c.created_at, COUNT(m.id) FROM conversations c
                 LEFT JOIN messages m ON m.conversation_id = c.id GROUP BY c.id ORDER BY c.id",
            [],
            |r| {
                Ok(Conversation {
                    id: r.get(0)?,
                    persona_id: r.get(1)?,
                    title: r.get(2)?,
                    created_at: r.get(3)?,
                    messages: r.get(4)?,
                })
            },
        )
    }

    pub fn messages(&self, conversation: i64) -> Result<Vec<Message>> {
        self.query_all("SELECT id, role, content, settings, adapter_id, created_at, rating FROM messages WHERE conversation_id = ?1 ORDER BY id", [conversation], |r| {
                Ok(Message {
                    id: r.get(0)?,
                    role: r.get(1)?,
                    content: r.get(2)?,
                    settings: r.get(3)?,
                    adapter_id: r.get(4)?,
                    created_at: r.get(5)?,
                    rating: r.get(6)?,
                })
            })
    }
}
