//! What a run is asked to do: its settings and the three presets.

use crate::model::transformer::TARGETS;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TrainConfig {
    pub rank: usize,
    pub alpha: f64,
    pub dropout: f64,
    /// Scale by alpha/√rank (rsLoRA) instead of alpha/rank.
    pub rslora: bool,
    pub targets: Vec<String>,
    pub lr: f64,
    pub epochs: usize,
    /// Stop after this many optimizer steps (overrides epochs).
    pub max_steps: Option<usize>,
    pub batch_size: usize,
    pub grad_accum: usize,
    pub max_len: usize,
    pub warmup_ratio: f64,
    pub weight_decay: f64,
    /// Clip the global gradient norm to this (0: off).
    pub clip: f64,
    /// Cosine decay ends at this fraction of the peak rate.
    pub min_lr_ratio: f64,
    pub seed: u64,
    /// Validation every N steps (0: only at the end).
    pub eval_every: usize,
    /// Checkpoint every N steps (0: only at the end and on cancel).
    pub save_every: usize,
    /// Stop after this many validations without improvement (0: never).
    pub patience: usize,
    /// Validate on at most this many held-out samples.
    pub max_val_samples: usize,
}

impl TrainConfig {
    /// Optimizer steps for a run over `examples` training examples.
    pub fn total_steps(&self, examples: usize) -> usize {
        let batches = examples.div_ceil(self.batch_size.max(1));
        let per_epoch = batches.div_ceil(self.grad_accum.max(1)).max(1);
        self.max_steps.unwrap_or(per_epoch * self.epochs.max(1))
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        Preset::Balanced.config()
    }
}

/// Plain-word presets; "Advanced" is any config the user edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    Quick,
    Balanced,
    Deep,
}

impl Preset {
    pub const ALL: [Preset; 3] = [Preset::Quick, Preset::Balanced, Preset::Deep];

    pub fn name(self) -> &'static str {
        match self {
            Preset::Quick => "quick",
            Preset::Balanced => "balanced",
            Preset::Deep => "deep",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Preset::Quick => "Quick taste",
            Preset::Balanced => "Balanced",
            Preset::Deep => "Deep",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Preset::Quick => "a first impression of the voice in minutes: small adapter on the attention, one pass over short samples",
            Preset::Balanced => "the character's voice and habits: adapter on every projection, two passes",
            Preset::Deep => "as close to the lines as the data allows: larger adapter, longer samples, three passes (watch the validation curve for overfitting)",
        }
    }

    pub fn parse(s: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.name() == s.to_ascii_lowercase())
    }

    pub fn config(self) -> TrainConfig {
        let all: Vec<String> = TARGETS.iter().map(|s| s.to_string()).collect();
        let base = TrainConfig {
            rank: 16,
            alpha: 32.0,
            dropout: 0.0,
            rslora: false,
            targets: all,
            lr: 2e-4,
            epochs: 2,
            max_steps: None,
            batch_size: 4,
            grad_accum: 2,
            max_len: 512,
            warmup_ratio: 0.05,
            weight_decay: 0.0,
            clip: 1.0,
            min_lr_ratio: 0.1,
            seed: 42,
            eval_every: 50,
            save_every: 50,
            patience: 3,
            max_val_samples: 200,
        };
        match self {
            Preset::Quick => TrainConfig {
                rank: 8,
                alpha: 16.0,
                targets: vec!["q_proj".into(), "v_proj".into()],
                lr: 3e-4,
                epochs: 1,
                max_len: 256,
                grad_accum: 1,
                ..base
            },
            Preset::Balanced => base,
            Preset::Deep => TrainConfig {
                rank: 32,
                alpha: 64.0,
                epochs: 3,
                max_len: 1024,
                lr: 1e-4,
                patience: 4,
                ..base
            },
        }
    }
}
