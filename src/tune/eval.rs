//! Evaluation of a persona adapter on held-out lines, side by side with the
//! base model under the same system prompt: perplexity of the real replies,
//! BLEU / ROUGE-L / token F1 of generated replies, and perplexity on general
//! instructions to notice forgetting. Plus the loss-curve picture of a run.

use super::metrics;
use crate::dataset::Sample;
use crate::jobs::{write_atomic, Error, Job, Result};
use crate::model::{adapter, ChatModel, GenerateOptions};
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Held-out samples to score (the first N).
    pub max_samples: usize,
    /// Generated reply length for BLEU / ROUGE / F1.
    pub max_tokens: usize,
    /// General-instruction samples for the forgetting check (0: skip).
    pub general_samples: usize,
    pub max_len: usize,
    pub batch_size: usize,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            max_samples: 40,
            max_tokens: 48,
            general_samples: 30,
            max_len: 512,
            batch_size: 4,
        }
    }
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Scores {
    /// Mean loss per reply token (nats).
    pub loss: f64,
    pub perplexity: f64,
    /// Corpus BLEU, 0–100.
    pub bleu: f64,
    /// Mean ROUGE-L F1, 0–1.
    pub rouge_l: f64,
    /// Mean token F1, 0–1.
    pub token_f1: f64,
    /// Perplexity on general instructions (rises when the model forgets).
    pub general_perplexity: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Example {
    pub prompt: String,
    pub reference: String,
    pub base: String,
    pub adapter: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub samples: usize,
    pub base: Scores,
    pub adapter: Option<Scores>,
    pub examples: Vec<Example>,
}

fn score(
    chat: &mut ChatModel,
    samples: &[Sample],
    general: &[Sample],
    o: &EvalOptions,
    job: &Job,
) -> Result<(Scores, Vec<String>)> {
    chat.reset();
    let (ex, _) = super::prepare(&chat.model, samples, o.max_len)?;
    let loss = super::validation_loss(&chat.model, &ex, o.batch_size)?;
    let general_perplexity = if general.is_empty() {
        None
    } else {
        let (g, _) = super::prepare(&chat.model, general, o.max_len)?;
        Some(super::validation_loss(&chat.model, &g, o.batch_size)?.exp())
    };
    let opts = GenerateOptions {
        max_tokens: o.max_tokens,
        temperature: 0.0,
        repeat_penalty: 1.1,
        ..Default::default()
    };
    let mut replies = Vec::with_capacity(samples.len());
    for (i, s) in samples.iter().enumerate() {
        job.check()?;
        let g = chat.generate(&super::data::messages(s, 0), &opts, job.cancel_token(), |_| {})?;
        replies.push(g.text.trim().to_owned());
        job.report("eval", (i + 1) as u64, Some(samples.len() as u64), "samples", "");
    }
    let refs: Vec<String> = samples.iter().map(|s| s.output.clone()).collect();
    let n = samples.len().max(1) as f64;
    Ok((
        Scores {
            loss,
            perplexity: loss.exp(),
            bleu: metrics::corpus_bleu(&replies, &refs),
            rouge_l: replies
                .iter()
                .zip(&refs)
                .map(|(h, r)| metrics::rouge_l(h, r))
                .sum::<f64>()
                / n,
            token_f1: replies
                .iter()
                .zip(&refs)
                .map(|(h, r)| metrics::token_f1(h, r))
                .sum::<f64>()
                / n,
            general_perplexity,
        },
        replies,
    ))
}

/// Score the base model, then (if given) the adapter on the same samples.
pub fn evaluate(
    chat: &mut ChatModel,
    adapter_dir: Option<&Path>,
    samples: &[Sample],
    o: &EvalOptions,
    job: &Job,
) -> Result<EvalReport> {
    let samples: Vec<Sample> = samples.iter().take(o.max_samples).cloned().collect();
    if samples.is_empty() {
        return Err(Error::Invalid("the evaluation set is empty".into()));
    }
    let general: Vec<Sample> = crate::dataset::builtin_general()
        .into_iter()
        .take(o.general_samples)
        .collect();
    chat.model.net.clear_lora();
    let (base, base_replies) = score(chat, &samples, &general, o, job)?;
    let (adapted, adapter_replies) = match adapter_dir {
        Some(dir) => {
            adapter::load_peft(dir, &mut chat.model.net)?;
            let (s, r) = score(chat, &samples, &general, o, job)?;
            (Some(s), Some(r))
        }
        None => (None, None),
    };
    let examples = samples
        .iter()
        .enumerate()
        .take(10)
        .map(|(i, s)| Example {
            prompt: s.instruction.clone(),
            reference: s.output.clone(),
            base: base_replies[i].clone(),
            adapter: adapter_replies.as_ref().map(|r| r[i].clone()),
        })
        .collect();
    Ok(EvalReport {
        samples: samples.len(),
        base,
        adapter: adapted,
        examples,
    })
}

/// Draw training loss per step and validation loss per evaluation from a
/// run's `metrics.jsonl` into a PNG.
pub fn plot_loss_curve(metrics_path: &Path, png: &Path) -> Result<()> {
    use plotters::prelude::*;
    let text = std::fs::read_to_string(metrics_path).map_err(|e| Error::io(metrics_path, e))?;
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let step = v["step"].as_f64().unwrap_or(0.0);
        match v["type"].as_str() {
            Some("step") => train.extend(v["loss"].as_f64().map(|l| (step, l))),
            Some("eval") => val.extend(v["val_loss"].as_f64().map(|l| (step, l))),
            _ => {}
        }
    }
    if train.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: no training steps recorded yet",
            metrics_path.display()
        )));
    }
    register_font();
    let max_step = train.iter().chain(&val).map(|p| p.0).fold(1.0, f64::max);
    let losses = train.iter().chain(&val).map(|p| p.1);
    let (lo, hi) = losses.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), l| (a.min(l), b.max(l)));
    let pad = ((hi - lo) * 0.05).max(0.01);
    let mut buf = vec![0u8; 900 * 500 * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (900, 500)).into_drawing_area();
        let e = |e: DrawingAreaErrorKind<_>| Error::Invalid(format!("could not draw the loss curve ({e})"));
        root.fill(&WHITE).map_err(e)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Loss", ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..max_step, (lo - pad)..(hi + pad))
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc("step")
            .y_desc("loss (nats per reply token)")
            .draw()
            .map_err(e)?;
        let blue = RGBColor(52, 101, 164);
        let orange = RGBColor(230, 120, 20);
        chart
            .draw_series(LineSeries::new(train.iter().copied(), blue.stroke_width(2)))
            .map_err(e)?
            .label("training")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], blue.stroke_width(2)));
        if !val.is_empty() {
            chart
                .draw_series(LineSeries::new(val.iter().copied(), orange.stroke_width(3)))
                .map_err(e)?
                .label("validation")
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], orange.stroke_width(3)));
            chart
                .draw_series(val.iter().map(|&p| Circle::new(p, 4, orange.filled())))
                .map_err(e)?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(e)?;
        root.present().map_err(e)?;
    }
    let png_bytes = crate::png::encode_rgb(900, 500, &buf);
    write_atomic(png, &png_bytes)
}

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font(
            "sans-serif",
            plotters::style::FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}
