//! tune: LoRA training on the persona dataset.
//!
//! Samples are rendered with the model's chat template and learned on the
//! reply only; length-bucketed batches, gradient accumulation, AdamW with
//! warm-up and cosine decay, gradient clipping; validation loss with early
//! stopping and the best adapter kept; checkpoints (adapter, optimizer
//! moments, data position) written atomically so a killed run resumes and
//! ends with the same adapter as an uninterrupted one. Seeded and
//! deterministic on CPU.

pub mod checkpoint;
pub mod config;
pub mod data;
pub mod estimate;
pub mod eval;
pub mod loss;
pub mod memory;
pub mod metrics;
pub mod optim;
pub mod run;

pub use checkpoint::saved_config;
pub use config::{Preset, TrainConfig};
pub use estimate::{calibrate, estimate_presets, Estimate};
pub use loss::{batch_loss, fused_nll, validation_loss};
pub use memory::peak_memory_mib;
pub use run::{init_lora, prepare, Run, TrainSummary};

/// What the trainer reports as it goes (one kind of the job's [`Event`]s).
pub use crate::jobs::TrainEvent;
