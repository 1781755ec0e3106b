//! Checkpoints: the adapter, the optimizer's moments and where the run
//! stands, written atomically (the `latest` pointer moves last) so that a
//! killed run resumes where it was.

use super::optim::AdamW;
use super::run::{adapter_config, lora_vars, var_names, Run};
use super::TrainConfig;
use crate::jobs::{write_atomic, Error, Result};
use crate::model::adapter;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Where a run stands; saved with every checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub(super) struct State {
    pub(super) step: usize,
    pub(super) epoch: usize,
    pub(super) batch_in_epoch: usize,
    pub(super) best_val: Option<f64>,
    pub(super) best_step: Option<usize>,
    pub(super) bad_evals: usize,
    pub(super) first_loss: Option<f64>,
    pub(super) last_loss: Option<f64>,
    pub(super) first_val: Option<f64>,
    pub(super) last_val: Option<f64>,
    pub(super) tokens: usize,
    pub(super) seconds: f64,
}

impl Run<'_> {
    pub(super) fn save_checkpoint(&self, opt: &AdamW, state: &State) -> Result<()> {
        let root = self.out.join("checkpoints");
        let dir = root.join(format!("step-{}", state.step));
        let acfg = adapter_config(&self.cfg, self.base_name.as_deref());
        adapter::save_peft(&dir, &self.model.net, &acfg)?;
        let names = var_names(self.model);
        let mut moments = BTreeMap::new();
        for (name, s) in names.iter().zip(&opt.slots) {
            moments.insert(format!("{name}.m"), s.m.clone());
            moments.insert(format!("{name}.v"), s.v.clone());
        }
        write_atomic(
            &dir.join("optimizer.safetensors"),
            &adapter::safetensors_bytes(&moments)?,
        )?;
        let st = serde_json::json!({"state": state, "config": self.cfg, "optimizer_steps": opt.t});
        write_atomic(&dir.join("state.json"), st.to_string().as_bytes())?;
        // The pointer moves only once the checkpoint is complete on disk.
        write_atomic(&root.join("latest"), format!("step-{}", state.step).as_bytes())?;
        if let Ok(entries) = std::fs::read_dir(&root) {
            for e in entries.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if n.starts_with("step-") && n != format!("step-{}", state.step) {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        Ok(())
    }

    /// Load the latest checkpoint of `out` (if any): adapter, moments, state.
    pub(super) fn load_checkpoint(&mut self, opt: &mut AdamW) -> Result<Option<State>> {
        let root = self.out.join("checkpoints");
        let Ok(name) = std::fs::read_to_string(root.join("latest")) else {
            return Ok(None);
        };
        let dir = root.join(name.trim());
        let text =
            std::fs::read_to_string(dir.join("state.json")).map_err(|e| Error::io(&dir.join("state.json"), e))?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Format {
            path: dir.join("state.json"),
            detail: format!("the checkpoint is damaged ({e}); start the run again"),
        })?;
        let state: State = serde_json::from_value(v["state"].clone()).map_err(|e| Error::Format {
            path: dir.join("state.json"),
            detail: format!("the checkpoint is damaged ({e})"),
        })?;
        adapter::load_peft(&dir, &mut self.model.net)?;
        let vars = lora_vars(self.model);
        let names = var_names(self.model);
        let moments = candle_core::safetensors::load(dir.join("optimizer.safetensors"), &self.model.net.device)
            .map_err(|e| Error::Format {
                path: dir.join("optimizer.safetensors"),
                detail: format!("the optimizer state is damaged ({e}); start the run again"),
            })?;
        *opt = AdamW::new(vars, self.cfg.weight_decay)?;
        opt.t = v["optimizer_steps"].as_u64().unwrap_or(state.step as u64) as usize;
        for (name, s) in names.iter().zip(opt.slots.iter_mut()) {
            let get = |k: String| {
                moments.get(&k).cloned().ok_or_else(|| Error::Format {
                    path: dir.join("optimizer.safetensors"),
                    detail: format!("{k} is missing; start the run again"),
                })
            };
            s.m = get(format!("{name}.m"))?;
            s.v = get(format!("{name}.v"))?;
        }
        Ok(Some(state))
    }
}

/// The saved configuration of a run in `out` (for `train --resume`).
pub fn saved_config(out: &Path) -> Result<TrainConfig> {
    let root = out.join("checkpoints");
    let name = std::fs::read_to_string(root.join("latest")).map_err(|_| Error::Format {
        path: out.into(),
        detail: "no checkpoint here to resume from (checkpoints/latest is missing); start a new run".into(),
    })?;
    let path = root.join(name.trim()).join("state.json");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Format {
        path: path.clone(),
        detail: format!("the checkpoint is damaged ({e})"),
    })?;
    serde_json::from_value(v["config"].clone()).map_err(|e| Error::Format {
        path,
        detail: format!("the checkpoint's configuration is damaged ({e})"),
    })
}
