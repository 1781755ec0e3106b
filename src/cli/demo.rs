//! `dramatis demo`: the whole road on the bundled sample personas.

use super::*;
use dramatis::dataset::DatasetOptions;
use dramatis::persona::PersonaPack;
use dramatis::pipeline::MixOptions;

pub(crate) fn demo(out: &Path, personas: Option<PathBuf>, model: Option<&str>, steps: usize) -> Result<(), Error> {
    let root = personas.unwrap_or_else(|| {
        let here = PathBuf::from("personas");
        if here.is_dir() {
            here
        } else {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("personas")
        }
    });
    let mut packs: Vec<PathBuf> = std::fs::read_dir(&root)
        .map_err(|e| Error::io(&root, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("persona.json").is_file())
        .collect();
    packs.sort();
    if packs.is_empty() {
        return Err(Error::Invalid(format!(
            "no persona packs (folders with persona.json) in {}",
            root.display()
        )));
    }
    let mut english = None;
    for dir in packs {
        let pack = PersonaPack::load(&dir)?;
        let s = &pack.settings;
        println!("== {} — {} ==", s.persona.name, s.persona.source_title);
        let (job, bar) = cli_job(false);
        let (script, summaries) = pipeline::extract_files(
            &pack.source_paths(),
            &IngestOptions::default(),
            &ExtractOptions::default(),
            &job,
        )?;
        finish_bar(&bar);
        for im in &summaries {
            println!(
                "import: {} ({:?}, {}, {} characters)",
                im.file, im.format, im.encoding, im.chars
            );
        }
        println!("cast:");
        for m in script.cast.members.iter().take(6) {
            let aliases: Vec<&str> = m.suggested_aliases.iter().map(|a| a.alias.as_str()).collect();
            println!(
                "  {:<16} {:>4} lines  {}",
                m.name,
                m.lines,
                if aliases.is_empty() {
                    String::new()
                } else {
                    format!("(also: {})", aliases.join(", "))
                }
            );
        }
        let dopts = DatasetOptions {
            character: s.persona.character.clone(),
            aliases: s.aliases.clone(),
            system_prompt: Some(s.persona.system_prompt.clone()).filter(|p| !p.is_empty()),
            source_title: s.persona.source_title.clone(),
            ..Default::default()
        };
        let mix = MixOptions::parse("builtin:0.2")?;
        let pack_out = out.join(dramatis::persona::slug(
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .as_deref()
                .unwrap_or("persona"),
        ));
        let run = pipeline::build_dataset(&script, &dopts, Format::Alpaca, false, Some(&mix), &pack_out, &job)?;
        print_run(&run);
        println!();
        if english.is_none() && s.language == "en" {
            english = Some((pack_out.clone(), run.files.clone(), s.clone()));
        }
    }
    if let (Some(spec), Some((dir, files, s))) = (model, english) {
        demo_train(spec, &dir, &files, &s, steps)?;
    }
    Ok(())
}

/// The rest of the road for one persona: a quick adapter, then base model
/// and persona answer the same line.
pub(crate) fn demo_train(
    spec: &str,
    dir: &Path,
    files: &dramatis::dataset::io::Exported,
    s: &dramatis::persona::PersonaSettings,
    steps: usize,
) -> Result<(), Error> {
    use dramatis::model::{ChatMessage, ChatModel, GenerateOptions, LoadOptions, Model, ModelSource, QuantPolicy};
    use dramatis::tune::{self, Preset};
    println!("== training a quick adapter for {} on {spec} ==", s.persona.name);
    let opts = LoadOptions {
        policy: QuantPolicy::Dense,
        ..Default::default()
    };
    let mut model = Model::load(&ModelSource::parse(spec)?, &opts)?;
    let train = pipeline::train::read_samples(&files.train)?;
    let val = match &files.validation {
        Some(v) => pipeline::train::read_samples(v)?,
        None => Vec::new(),
    };
    let mut cfg = Preset::Quick.config();
    cfg.max_steps = Some(steps);
    cfg.batch_size = 2;
    cfg.max_len = 256;
    cfg.lr = 1e-3;
    cfg.eval_every = steps.div_ceil(3).max(1);
    cfg.max_val_samples = 16;
    let (t, skipped) = tune::prepare(&model, &train, cfg.max_len)?;
    let (v, _) = tune::prepare(&model, &val[..val.len().min(cfg.max_val_samples)], cfg.max_len)?;
    let out = dir.join("adapter");
    // A fresh run each time (a run folder would otherwise resume).
    let _ = std::fs::remove_dir_all(&out);
    let (job, bar) = cli_job_with(false, |e, bar| {
        if let tune::TrainEvent::Eval { step, val_loss, .. } = e {
            finish_bar(bar);
            eprintln!("  step {step}: validation loss {val_loss:.3}");
        }
    });
    let summary = tune::Run {
        model: &mut model,
        cfg,
        train: t,
        val: v,
        skipped,
        out: out.clone(),
        base_name: Some(spec.to_owned()),
    }
    .train(&job);
    finish_bar(&bar);
    let summary = summary?;
    let _ = tune::eval::plot_loss_curve(&out.join("metrics.jsonl"), &out.join("loss_curve.png"));
    println!(
        "adapter: {} ({} steps, validation loss {:.3} → {:.3}, {:.0} tokens/s)",
        out.display(),
        summary.steps,
        summary.val_loss_first.unwrap_or(f64::NAN),
        summary.val_loss_last.unwrap_or(f64::NAN),
        summary.tokens_per_s
    );
    let line = "Evening, Mrs Doyle. Is there a storm coming tonight?";
    let messages = [
        ChatMessage::new("system", &s.persona.system_prompt),
        ChatMessage::new("user", line),
    ];
    let gen = GenerateOptions {
        temperature: 0.0,
        max_tokens: 48,
        ..Default::default()
    };
    let mut chat = ChatModel::new(model);
    println!("you:     {line}");
    chat.set_adapter(Some(&out))?;
    let persona = chat.generate(&messages, &gen, &CancelToken::new(), |_| {})?;
    chat.set_adapter(None)?;
    let base = chat.generate(&messages, &gen, &CancelToken::new(), |_| {})?;
    println!("base:    {}", base.text.trim());
    println!(
        "{:<8} {}",
        format!("{}:", s.persona.name.split(' ').next().unwrap_or("persona")),
        persona.text.trim()
    );
    Ok(())
}
