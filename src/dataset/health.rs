//! Filters and the health report: duplicates, short outputs, lines without
//! context, scene-level train/validation split and leakage, length statistics.

use super::{Conversation, DatasetOptions, Sample, Split};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct LengthStats {
    pub min: usize,
    pub mean: f64,
    pub p50: usize,
    pub p90: usize,
    pub max: usize,
}

impl LengthStats {
    fn of(mut v: Vec<usize>) -> Self {
        if v.is_empty() {
            return LengthStats::default();
        }
        v.sort_unstable();
        let n = v.len();
        LengthStats {
            min: v[0],
            mean: v.iter().sum::<usize>() as f64 / n as f64,
            p50: v[n / 2],
            p90: v[(n * 9 / 10).min(n - 1)],
            max: v[n - 1],
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct HealthReport {
    /// Replies by the character that had a line before them to answer.
    pub candidates: usize,
    /// Persona samples kept after filtering (general samples not included).
    pub kept: usize,
    /// Samples in each split, general samples included.
    pub train: usize,
    pub validation: usize,
    pub dropped_short: usize,
    pub dropped_exact_duplicates: usize,
    pub dropped_near_duplicates: usize,
    /// Lines by the character with nobody speaking before them in the scene.
    pub no_context: usize,
    /// Validation samples whose reply also occurs in training (removed).
    pub leaked_removed: usize,
    pub scenes_train: usize,
    pub scenes_validation: usize,
    /// Approximate tokens: one per CJK character, 1.3 per other word.
    pub output_tokens: LengthStats,
    pub prompt_tokens: LengthStats,
    pub total_tokens: usize,
    pub general_mixed: usize,
}

/// Approximate token count without a tokenizer.
pub fn approx_tokens(s: &str) -> usize {
    let mut cjk = 0usize;
    let mut words = 0usize;
    let mut in_word = false;
    for c in s.chars() {
        if crate::text::is_cjk(c) {
            cjk += 1;
            in_word = false;
        } else if c.is_alphanumeric() {
            if !in_word {
                words += 1;
            }
            in_word = true;
        } else {
            in_word = false;
        }
    }
    cjk + (words * 13).div_ceil(10)
}

pub use crate::random::hash64;

/// FNV-1a of two strings.
pub fn text_hash(a: &str, b: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in a.bytes().chain([0xff]).chain(b.bytes()) {
        h ^= byte as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// Lowercase, letters and digits only: equal keys are near duplicates.
fn near_key(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

pub(crate) fn clean_and_split(
    samples: &mut Vec<Sample>,
    conversations: &mut [Conversation],
    opts: &DatasetOptions,
    no_context: usize,
) -> HealthReport {
    let mut r = HealthReport {
        candidates: samples.len(),
        no_context,
        ..Default::default()
    };
    let mut exact = HashSet::new();
    let mut near = HashSet::new();
    samples.retain(|s| {
        if s.output.chars().filter(|c| c.is_alphanumeric()).count() < opts.min_output_chars {
            r.dropped_short += 1;
            return false;
        }
        if !exact.insert((s.instruction.clone(), s.output.clone())) {
            r.dropped_exact_duplicates += 1;
            return false;
        }
        if !near.insert((near_key(&s.instruction), near_key(&s.output))) {
            r.dropped_near_duplicates += 1;
            return false;
        }
        true
    });
    // Split by scene so that no scene is in both sets.
    let threshold = (opts.validation_ratio.clamp(0.0, 0.9) * 1_000_000.0) as u64;
    let scene_split = |scene: Option<usize>| match scene {
        Some(sc) if hash64(opts.seed, sc as u64) % 1_000_000 < threshold => Split::Validation,
        _ => Split::Train,
    };
    for s in samples.iter_mut() {
        s.split = scene_split(s.scene);
    }
    // Small data sets can end with no validation scene; hold out the last one then.
    if threshold > 0 && !samples.iter().any(|s| s.split == Split::Validation) {
        if let Some(last) = samples.iter().filter_map(|s| s.scene).max() {
            let scenes: HashSet<usize> = samples.iter().filter_map(|s| s.scene).collect();
            if scenes.len() > 1 {
                for s in samples.iter_mut().filter(|s| s.scene == Some(last)) {
                    s.split = Split::Validation;
                }
            }
        }
    }
    let val_scenes: HashSet<usize> = samples
        .iter()
        .filter(|s| s.split == Split::Validation)
        .filter_map(|s| s.scene)
        .collect();
    for c in conversations.iter_mut() {
        c.split = if c.scene.is_some_and(|s| val_scenes.contains(&s)) {
            Split::Validation
        } else {
            Split::Train
        };
    }
    // Leakage: a validation reply that also occurs in training teaches the answer.
    let train_outputs: HashSet<String> = samples
        .iter()
        .filter(|s| s.split == Split::Train)
        .map(|s| near_key(&s.output))
        .collect();
    samples.retain(|s| {
        if s.split == Split::Validation && train_outputs.contains(&near_key(&s.output)) {
            r.leaked_removed += 1;
            false
        } else {
            true
        }
    });
    let mut scenes: HashMap<Split, HashSet<usize>> = HashMap::new();
    for s in samples.iter() {
        if let Some(sc) = s.scene {
            scenes.entry(s.split).or_default().insert(sc);
        }
    }
    r.scenes_train = scenes.get(&Split::Train).map_or(0, HashSet::len);
    r.scenes_validation = scenes.get(&Split::Validation).map_or(0, HashSet::len);
    r.kept = samples.len();
    refresh(&mut r, samples);
    r
}

/// Recompute counts and length statistics (after mixing, for example).
pub fn refresh(r: &mut HealthReport, samples: &[Sample]) {
    r.train = samples.iter().filter(|s| s.split == Split::Train).count();
    r.validation = samples.len() - r.train;
    let outs: Vec<usize> = samples.iter().map(|s| approx_tokens(&s.output)).collect();
    let prompts: Vec<usize> = samples
        .iter()
        .map(|s| {
            approx_tokens(&s.system)
                + approx_tokens(&s.instruction)
                + approx_tokens(&s.input)
                + s.history
                    .iter()
                    .map(|(a, b)| approx_tokens(a) + approx_tokens(b))
                    .sum::<usize>()
        })
        .collect();
    r.total_tokens = outs.iter().sum::<usize>() + prompts.iter().sum::<usize>();
    r.output_tokens = LengthStats::of(outs);
    r.prompt_tokens = LengthStats::of(prompts);
}
