//! `dramatis cast|extract|dataset`: who says what, and a character's dataset.

use super::*;
use dramatis::dataset::DatasetOptions;
use dramatis::extract::{CastHint, ExtractOptions, Extraction, Layout};
use dramatis::persona::PersonaPack;
use dramatis::pipeline::MixOptions;

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum LayoutArg {
    Script,
    Play,
    Screenplay,
    Subtitles,
    Novel,
}

impl From<LayoutArg> for Layout {
    fn from(l: LayoutArg) -> Self {
        match l {
            LayoutArg::Script => Layout::Script,
            LayoutArg::Play => Layout::Play,
            LayoutArg::Screenplay => Layout::Screenplay,
            LayoutArg::Subtitles => Layout::Subtitles,
            LayoutArg::Novel => Layout::Novel,
        }
    }
}

#[derive(Args)]
pub(crate) struct ExtractArgs {
    /// Source files, read as one source in this order.
    files: Vec<PathBuf>,
    /// A persona pack folder (persona.json + sources) instead of files.
    #[arg(long)]
    persona: Option<PathBuf>,
    /// The character to build a dataset for (as named in the source).
    #[arg(long)]
    character: Option<String>,
    /// Another name the character speaks under (repeatable).
    #[arg(long = "alias")]
    aliases: Vec<String>,
    #[arg(long, value_enum, default_value = "alpaca")]
    format: FormatArg,
    /// Write JSON Lines instead of JSON arrays.
    #[arg(long)]
    jsonl: bool,
    /// Mix in a general instruction set: `builtin:0.2` or `FILE.json:RATIO`.
    #[arg(long, num_args = 0..=1, default_missing_value = "builtin:0.2")]
    mix: Option<String>,
    /// Output folder for the dataset files.
    #[arg(short, long)]
    out: Option<PathBuf>,
    /// Previous lines by others that make one instruction.
    #[arg(long, default_value_t = 1)]
    context_lines: usize,
    /// Earlier exchanges of the scene kept as history.
    #[arg(long, default_value_t = 3)]
    history: usize,
    /// The persona prompt (default: written from the name and title).
    #[arg(long)]
    system: Option<String>,
    /// The title of the work, used in the default persona prompt.
    #[arg(long)]
    title: Option<String>,
    #[arg(long, default_value_t = 0.1)]
    val_ratio: f64,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Drop replies shorter than this many letters.
    #[arg(long, default_value_t = 2)]
    min_chars: usize,
    #[arg(long, value_enum)]
    layout: Option<LayoutArg>,
    /// Confirmed cast: a JSON list of {"aliases": [main, other…], "gender": "F"}.
    #[arg(long)]
    cast_file: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
}

pub(crate) fn load_cast(path: Option<&Path>) -> Result<Vec<CastHint>, Error> {
    let Some(p) = path else { return Ok(Vec::new()) };
    let text = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
    serde_json::from_str(&text).map_err(|e| Error::Format {
        path: p.into(),
        detail: format!(
            "line {}: {e}. Expected a JSON list like [{{\"aliases\": [\"甄嬛\", \"嬛嬛\"], \"gender\": \"F\"}}]",
            e.line()
        ),
    })
}

pub(crate) fn print_cast(script: &Extraction) {
    println!(
        "Layout: {:?}; {} utterances in {} scenes; {} speakers ({} lines with unknown speaker)",
        script.layout,
        script.utterances.len(),
        script.scenes.len(),
        script.cast.members.len(),
        script.cast.unknown_lines
    );
    println!(
        "{:<24} {:>6} {:>8}  first seen      aliases (suggested)",
        "speaker", "lines", "chars"
    );
    for m in script.cast.members.iter().take(60) {
        let aliases: Vec<&str> = m.suggested_aliases.iter().map(|a| a.alias.as_str()).collect();
        println!(
            "{:<24} {:>6} {:>8}  scene {:<8}  {}",
            m.name,
            m.lines,
            m.chars,
            m.first_scene + 1,
            aliases.join(", ")
        );
    }
    if script.cast.members.len() > 60 {
        println!("… and {} more", script.cast.members.len() - 60);
    }
}

pub(crate) fn extract(a: ExtractArgs) -> Result<(), Error> {
    let pack = a.persona.as_deref().map(PersonaPack::load).transpose()?;
    let mut files = a.files.clone();
    if let Some(p) = &pack {
        files.extend(p.source_paths());
    }
    let (job, bar) = cli_job(a.common.json);
    let opts = IngestOptions {
        max_bytes: a.common.max_mb << 20,
    };
    let eo = ExtractOptions {
        layout: a.layout.map(Into::into),
        known_cast: load_cast(a.cast_file.as_deref())?,
    };
    let (script, _) = pipeline::extract_files(&files, &opts, &eo, &job)?;
    finish_bar(&bar);
    let character = a
        .character
        .clone()
        .or_else(|| pack.as_ref().map(|p| p.settings.persona.character.clone()));
    let Some(character) = character else {
        if a.common.json {
            return print_json_list(&script.utterances);
        }
        for u in script.utterances.iter().take(200) {
            println!(
                "[scene {}] {}: {}",
                u.scene + 1,
                u.speaker.as_deref().unwrap_or("(unknown)"),
                u.text
            );
        }
        if script.utterances.len() > 200 {
            println!("… {} more (use --json for all)", script.utterances.len() - 200);
        }
        eprintln!("\nTo build a dataset, pass --character NAME and -o OUT. Run `dramatis cast` to see the speakers.");
        return Ok(());
    };
    let out = a
        .out
        .clone()
        .ok_or_else(|| Error::Invalid("-o OUT is needed: the folder to write the dataset into".into()))?;
    let mut aliases = a.aliases.clone();
    if let Some(p) = &pack {
        aliases.extend(p.settings.aliases.iter().cloned());
    }
    let dopts = DatasetOptions {
        character,
        aliases,
        context_lines: a.context_lines,
        history_turns: a.history,
        system_prompt: a.system.clone().or_else(|| {
            pack.as_ref()
                .map(|p| p.settings.persona.system_prompt.clone())
                .filter(|s| !s.is_empty())
        }),
        source_title: a
            .title
            .clone()
            .or_else(|| pack.as_ref().map(|p| p.settings.persona.source_title.clone()))
            .unwrap_or_default(),
        min_output_chars: a.min_chars,
        validation_ratio: a.val_ratio,
        seed: a.seed,
    };
    let mix = a.mix.as_deref().map(MixOptions::parse).transpose()?;
    let format = match a.format {
        FormatArg::Alpaca => Format::Alpaca,
        FormatArg::Sharegpt => Format::ShareGpt,
    };
    let run = pipeline::build_dataset(&script, &dopts, format, a.jsonl, mix.as_ref(), &out, &job)?;
    if a.common.json {
        return print_json(&run);
    }
    print_run(&run);
    Ok(())
}

pub(crate) fn print_run(run: &pipeline::DatasetRun) {
    let r = &run.report;
    println!(
        "{}: {} of {} utterances are theirs ({:?} layout)",
        run.character, run.character_lines, run.utterances, run.layout
    );
    println!(
        "  samples: {} kept of {} replies ({} train / {} validation, split by scene: {} / {} scenes)",
        r.kept, r.candidates, r.train, r.validation, r.scenes_train, r.scenes_validation
    );
    println!("  dropped: {} too short, {} exact and {} near duplicates, {} validation replies also in training; {} lines had no one to answer", r.dropped_short, r.dropped_exact_duplicates, r.dropped_near_duplicates, r.leaked_removed, r.no_context);
    if r.general_mixed > 0 {
        println!("  mixed in {} general instruction samples", r.general_mixed);
    }
    println!(
        "  reply length ≈ {:.0} tokens on average (p90 {}), about {} tokens in all",
        r.output_tokens.mean, r.output_tokens.p90, r.total_tokens
    );
    println!("  wrote {}", run.files.train.display());
    if let Some(v) = &run.files.validation {
        println!("  wrote {}", v.display());
    }
    println!("  wrote {}", run.files.dataset_info.display());
}

pub(crate) fn check_dataset(
    file: &Path,
    to: Option<FormatArg>,
    out: Option<&Path>,
    jsonl: bool,
    json: bool,
) -> Result<(), Error> {
    use dramatis::dataset::io;
    let imported = io::read(file)?;
    let (samples, conversations, format) = match imported {
        io::Imported::Alpaca(s) => {
            let c: Vec<_> = s.iter().map(io::sample_to_conversation).collect();
            (s, c, Format::Alpaca)
        }
        io::Imported::ShareGpt(c) => (
            c.iter().flat_map(io::conversation_to_samples).collect(),
            c,
            Format::ShareGpt,
        ),
    };
    let mut report = dramatis::dataset::HealthReport::default();
    dramatis::dataset::health::refresh(&mut report, &samples);
    report.kept = samples.len();
    let written = match (to, out) {
        (Some(t), Some(dir)) => {
            let f = match t {
                FormatArg::Alpaca => Format::Alpaca,
                FormatArg::Sharegpt => Format::ShareGpt,
            };
            let name = dramatis::persona::slug(
                &file
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            );
            Some(io::export(dir, &name, f, jsonl, &samples, &conversations)?)
        }
        (Some(_), None) => {
            return Err(Error::Invalid(
                "--to needs -o OUT: the folder to write the converted data set into".into(),
            ))
        }
        _ => None,
    };
    if json {
        return print_json(
            &serde_json::json!({"format": format, "samples": samples.len(), "conversations": conversations.len(), "report": report, "written": written}),
        );
    }
    println!(
        "{}: {:?}, {} samples ({} conversations); replies ≈ {:.0} tokens on average, {} tokens in all",
        file.display(),
        format,
        samples.len(),
        conversations.len(),
        report.output_tokens.mean,
        report.total_tokens
    );
    if let Some(w) = written {
        println!("  wrote {} and {}", w.train.display(), w.dataset_info.display());
    }
    Ok(())
}
