//! Datasets and their rows in the library: stored whole, edited row by row.

use super::*;

/// Share of general samples mixed in unless the person sets another.
pub const DEFAULT_MIX_RATIO: f64 = 0.2;

/// One row of a dataset to store.
pub struct NewRow<'a> {
    pub sample: &'a Sample,
    pub enabled: bool,
    pub edited: bool,
}

impl Library {
    // ---- datasets ----

    /// Store a dataset and all its rows (all enabled) in one transaction.
    pub fn create_dataset(
        &mut self,
        persona: Option<i64>,
        name: &str,
        samples: &[Sample],
        report: &str,
    ) -> Result<i64> {
        let rows: Vec<NewRow> = samples
            .iter()
            .map(|s| NewRow {
                sample: s,
                enabled: true,
                edited: false,
            })
            .collect();
        self.create_dataset_rows(persona, name, &rows, report, DEFAULT_MIX_RATIO)
    }

    /// Store a reviewed dataset: rows with their enabled and edited flags.
    pub fn create_dataset_rows(
        &mut self,
        persona: Option<i64>,
        name: &str,
        rows: &[NewRow],
        report: &str,
        mix_ratio: f64,
    ) -> Result<i64> {
        let tx = self.conn.savepoint().map_err(|e| db_error(&self.path, e))?;
        tx.execute(
            "INSERT INTO datasets (persona_id, name, report, created_at, mix_ratio) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![persona, name, report, now(), mix_ratio],
        )
        .map_err(|e| db_error(&self.path, e))?;
        let id = tx.last_insert_rowid();
        {
            let mut st = tx
                .prepare("INSERT INTO dataset_rows (dataset_id, position, system, instruction, input, output, history, split, enabled, edited, scene, confidence) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)")
                .map_err(|e| db_error(&self.path, e))?;
            for (i, r) in rows.iter().enumerate() {
                let s = r.sample;
                let split = if s.split == Split::Validation {
                    "validation"
                } else {
                    "train"
                };
                st.execute(params![
                    id,
                    i as i64,
                    s.system,
                    s.instruction,
                    s.input,
                    s.output,
                    serde_json::to_string(&s.history).unwrap_or_else(|_| "[]".into()),
                    split,
                    r.enabled,
                    r.edited,
                    s.scene.map(|v| v as i64),
                    s.confidence.map(f64::from)
                ])
                .map_err(|e| db_error(&self.path, e))?;
            }
        }
        tx.commit().map_err(|e| db_error(&self.path, e))?;
        Ok(id)
    }

    pub fn datasets(&self) -> Result<Vec<DatasetRecord>> {
        self.query_all(
            "SELECT d.id, d.persona_id, d.name, d.created_at, COUNT(r.id), COALESCE(SUM(r.enabled), 0), d.mix_ratio
                 FROM datasets d LEFT JOIN dataset_rows r ON r.dataset_id = d.id GROUP BY d.id ORDER BY d.id",
            [],
            |r| {
                Ok(DatasetRecord {
                    id: r.get(0)?,
                    persona_id: r.get(1)?,
                    name: r.get(2)?,
                    created_at: r.get(3)?,
                    rows: r.get(4)?,
                    enabled_rows: r.get(5)?,
                    mix_ratio: r.get(6)?,
                })
            },
        )
    }

    pub fn dataset_rows(&self, dataset: i64) -> Result<Vec<DatasetRow>> {
        self.query_all("SELECT id, position, system, instruction, input, output, history, split, enabled, edited, scene, confidence FROM dataset_rows WHERE dataset_id = ?1 ORDER BY position", [dataset], |r| {
                let history: String = r.get(6)?;
                Ok(DatasetRow {
                    id: r.get(0)?,
                    position: r.get(1)?,
                    sample: SampleFields {
                        system: r.get(2)?,
                        instruction: r.get(3)?,
                        input: r.get(4)?,
                        output: r.get(5)?,
                        history: serde_json::from_str(&history).unwrap_or_default(),
                    },
                    split: r.get(7)?,
                    enabled: r.get(8)?,
                    edited: r.get(9)?,
                    scene: r.get(10)?,
                    confidence: r.get(11)?,
                })
            })
    }

    /// Rows that are enabled, as samples ready for export or training.
    pub fn dataset_samples(&self, dataset: i64) -> Result<Vec<Sample>> {
        Ok(self
            .dataset_rows(dataset)?
            .into_iter()
            .filter(|r| r.enabled)
            .map(|r| Sample {
                system: r.sample.system,
                instruction: r.sample.instruction,
                input: r.sample.input,
                output: r.sample.output,
                history: r.sample.history,
                scene: r.scene.map(|v| v as usize),
                confidence: r.confidence.map(|c| c as f32),
                split: if r.split == "validation" {
                    Split::Validation
                } else {
                    Split::Train
                },
            })
            .collect())
    }

    pub fn set_row_enabled(&mut self, row: i64, enabled: bool) -> Result<()> {
        self.update_row(
            "UPDATE dataset_rows SET enabled = ?2 WHERE id = ?1",
            params![row, enabled],
            row,
        )
    }

    pub fn set_row_split(&mut self, row: i64, split: Split) -> Result<()> {
        let s = if split == Split::Validation {
            "validation"
        } else {
            "train"
        };
        self.update_row("UPDATE dataset_rows SET split = ?2 WHERE id = ?1", params![row, s], row)
    }

    /// Replace a row's text; the row is marked as edited by hand.
    pub fn edit_row(&mut self, row: i64, f: &SampleFields) -> Result<()> {
        self.update_row(
            "UPDATE dataset_rows SET system = ?2, instruction = ?3, input = ?4, output = ?5, history = ?6, edited = 1 WHERE id = ?1",
            params![row, f.system, f.instruction, f.input, f.output, serde_json::to_string(&f.history).unwrap_or_else(|_| "[]".into())],
            row,
        )
    }

    /// Enable or disable many rows in one transaction.
    pub fn set_rows_enabled(&mut self, rows: &[i64], enabled: bool) -> Result<()> {
        self.atomically(|lib| rows.iter().try_for_each(|&r| lib.set_row_enabled(r, enabled)))
    }

    /// Remove a row from its dataset for good.
    pub fn delete_row(&mut self, row: i64) -> Result<()> {
        self.update_row("DELETE FROM dataset_rows WHERE id = ?1", params![row], row)
    }

    /// The dataset a row belongs to.
    pub fn row_dataset(&self, row: i64) -> Result<i64> {
        self.query_all("SELECT dataset_id FROM dataset_rows WHERE id = ?1", [row], |r| r.get(0))?
            .into_iter()
            .next()
            .ok_or_else(|| Error::Invalid(format!("there is no dataset row {row}")))
    }

    /// The share of general samples to mix in when training on the dataset.
    pub fn set_dataset_mix(&mut self, dataset: i64, ratio: f64) -> Result<()> {
        if !(0.0..=0.9).contains(&ratio) {
            return Err(Error::Invalid(format!(
                "the mix ratio {ratio} must be between 0 and 0.9 (0.2 means 20% general samples)"
            )));
        }
        let n = self
            .conn
            .execute(
                "UPDATE datasets SET mix_ratio = ?2 WHERE id = ?1",
                params![dataset, ratio],
            )
            .map_err(|e| self.err(e))?;
        if n == 0 {
            return Err(Error::Invalid(format!("there is no dataset {dataset}")));
        }
        Ok(())
    }

    /// The stored health report of a dataset (JSON).
    pub fn dataset_report(&self, dataset: i64) -> Result<String> {
        self.query_all("SELECT report FROM datasets WHERE id = ?1", [dataset], |r| r.get(0))?
            .into_iter()
            .next()
            .ok_or_else(|| Error::Invalid(format!("there is no dataset {dataset}")))
    }

    fn update_row(&mut self, sql: &str, p: &[&dyn rusqlite::ToSql], row: i64) -> Result<()> {
        let n = self.conn.execute(sql, p).map_err(|e| self.err(e))?;
        if n == 0 {
            return Err(Error::Invalid(format!("there is no dataset row {row}")));
        }
        Ok(())
    }
}
