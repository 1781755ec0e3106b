//! Datasets and their rows in the library: stored whole, edited row by row.

use super::*;

impl Library {
    // ---- datasets ----

    /// Store a dataset and all its rows in one transaction.
    pub fn create_dataset(
        &mut self,
        persona: Option<i64>,
        name: &str,
        samples: &[Sample],
        report: &str,
    ) -> Result<i64> {
        let tx = self.conn.savepoint().map_err(|e| db_error(&self.path, e))?;
        tx.execute(
            "INSERT INTO datasets (persona_id, name, report, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![persona, name, report, now()],
        )
        .map_err(|e| db_error(&self.path, e))?;
        let id = tx.last_insert_rowid();
        {
            let mut st = tx
                .prepare("INSERT INTO dataset_rows (dataset_id, position, system, instruction, input, output, history, split) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
                .map_err(|e| db_error(&self.path, e))?;
            for (i, s) in samples.iter().enumerate() {
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
                    split
                ])
                .map_err(|e| db_error(&self.path, e))?;
            }
        }
        tx.commit().map_err(|e| db_error(&self.path, e))?;
        Ok(id)
    }

    pub fn datasets(&self) -> Result<Vec<DatasetRecord>> {
        self.query_all(
            "SELECT d.id, d.persona_id, d.name, d.created_at, COUNT(r.id), COALESCE(SUM(r.enabled), 0)
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
                })
            },
        )
    }

    pub fn dataset_rows(&self, dataset: i64) -> Result<Vec<DatasetRow>> {
        self.query_all("SELECT id, position, system, instruction, input, output, history, split, enabled, edited FROM dataset_rows WHERE dataset_id = ?1 ORDER BY position", [dataset], |r| {
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
                scene: None,
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

    fn update_row(&mut self, sql: &str, p: &[&dyn rusqlite::ToSql], row: i64) -> Result<()> {
        let n = self.conn.execute(sql, p).map_err(|e| self.err(e))?;
        if n == 0 {
            return Err(Error::Invalid(format!("there is no dataset row {row}")));
        }
        Ok(())
    }
}
