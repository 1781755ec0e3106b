//! The one stream of events every long step sends through its [`Job`](super::Job):
//! stage progress (import, extraction, dataset, downloads in bytes, exports),
//! training steps and validations, generated text, log lines. The CLI draws
//! bars and prints lines from it; the app forwards it unchanged over a Tauri
//! channel.

use serde::Serialize;

/// One event of a long step. Serialised with an `event` tag:
/// `{"event": "progress", "stage": "import", …}`,
/// `{"event": "train", "type": "step", …}`, `{"event": "token", "text": …}`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Progress(Progress),
    Train(TrainEvent),
    /// A piece of generated text (never half a character).
    Token {
        text: String,
    },
    Log {
        level: LogLevel,
        message: String,
    },
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Info,
    Warning,
}

/// One progress report from a long step.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Progress {
    /// Which step: "import", "extract", "dataset", "download", "train", …
    pub stage: &'static str,
    /// Units done so far (bytes, lines, samples: see `unit`).
    pub done: u64,
    pub total: Option<u64>,
    pub unit: &'static str,
    pub message: String,
}

/// What the trainer reports as it goes (also written to `metrics.jsonl`).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TrainEvent {
    Start {
        total_steps: usize,
        train_examples: usize,
        val_examples: usize,
        skipped: usize,
        trainable_parameters: usize,
        resumed_from: Option<usize>,
        /// Where it runs: "cpu", "cuda:0", "metal".
        device: String,
    },
    Step {
        step: usize,
        total_steps: usize,
        epoch: f64,
        loss: f64,
        lr: f64,
        grad_norm: f64,
        tokens: usize,
        tokens_per_s: f64,
        elapsed_s: f64,
        eta_s: f64,
    },
    Eval {
        step: usize,
        val_loss: f64,
        best_val_loss: f64,
        improved: bool,
    },
    Checkpoint {
        step: usize,
    },
    EarlyStop {
        step: usize,
        best_step: usize,
    },
    Done {
        steps: usize,
    },
}

/// Where events go. The CLI draws bars, the app sends them on, tests collect.
pub trait EventSink: Send + Sync {
    fn event(&self, event: &Event);
}

impl<F: Fn(&Event) + Send + Sync> EventSink for F {
    fn event(&self, event: &Event) {
        self(event)
    }
}
