//! dataset: a character's lines → training samples (Alpaca with history,
//! ShareGPT conversations), filtered, split by scene, mixed with a general set.

pub mod configs;
pub mod health;
pub mod io;

use crate::extract::{Extraction, UtteranceKind};
use serde::{Deserialize, Serialize};

pub use health::{HealthReport, LengthStats};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    #[default]
    Train,
    Validation,
}

/// One Alpaca sample, the way LLaMA-Factory reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Sample {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub system: String,
    pub instruction: String,
    #[serde(default)]
    pub input: String,
    pub output: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<(String, String)>,
    /// Which scene it came from (for splitting without leakage); absent for general samples.
    #[serde(skip)]
    pub scene: Option<usize>,
    #[serde(skip)]
    pub split: Split,
    /// How sure extraction was of who said the reply (absent for general
    /// and imported samples).
    #[serde(skip)]
    pub confidence: Option<f32>,
}

/// A multi-turn conversation in ShareGPT form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub conversations: Vec<Message>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub system: String,
    #[serde(skip)]
    pub scene: Option<usize>,
    #[serde(skip)]
    pub split: Split,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub from: String,
    pub value: String,
}

#[derive(Debug, Clone)]
pub struct DatasetOptions {
    /// The character, as the speaker is written in the source.
    pub character: String,
    /// Other speaker names that are the same person.
    pub aliases: Vec<String>,
    /// How many previous lines by others make the instruction.
    pub context_lines: usize,
    /// How many earlier exchanges of the same scene go into `history`.
    pub history_turns: usize,
    /// The persona prompt; None writes one from the character's name and the title.
    pub system_prompt: Option<String>,
    pub source_title: String,
    /// Outputs shorter than this (in characters) are dropped.
    pub min_output_chars: usize,
    /// Fraction of scenes held out for validation.
    pub validation_ratio: f64,
    pub seed: u64,
}

impl Default for DatasetOptions {
    fn default() -> Self {
        DatasetOptions {
            character: String::new(),
            aliases: Vec::new(),
            context_lines: 1,
            history_turns: 3,
            system_prompt: None,
            source_title: String::new(),
            min_output_chars: 2,
            validation_ratio: 0.1,
            seed: 42,
        }
    }
}

/// The default persona prompt, in the language of the character's lines.
pub fn default_system_prompt(character: &str, title: &str, chinese: bool) -> String {
    match (chinese, title.is_empty()) {
        (true, false) => format!("现在你要扮演《{title}》中的{character}。请用{character}的语气、性格和说话方式回答，不要跳出角色。"),
        (true, true) => format!("现在你要扮演{character}。请用{character}的语气、性格和说话方式回答，不要跳出角色。"),
        (false, false) => format!("You are {character} from \"{title}\". Stay in character: answer with {character}'s voice, manner and knowledge."),
        (false, true) => format!("You are {character}. Stay in character: answer with {character}'s voice, manner and knowledge."),
    }
}

/// A turn: consecutive lines by one speaker merged.
struct Turn<'a> {
    speaker: &'a str,
    text: String,
    is_character: bool,
    /// The least sure attribution among the merged lines.
    confidence: f32,
}

fn turns<'a>(script: &'a Extraction, scene: usize, is_char: &dyn Fn(&str) -> bool) -> Vec<Turn<'a>> {
    let mut out: Vec<Turn> = Vec::new();
    for u in &script.utterances[script.scenes[scene].utterances.clone()] {
        if u.kind != UtteranceKind::Dialogue {
            continue;
        }
        let Some(sp) = u.speaker.as_deref() else {
            // An unknown speaker still breaks the turn order.
            out.push(Turn {
                speaker: "",
                text: u.text.clone(),
                is_character: false,
                confidence: u.confidence,
            });
            continue;
        };
        match out.last_mut() {
            Some(t) if t.speaker == sp => {
                let cjk = u.text.chars().next().is_some_and(crate::text::is_cjk);
                if !cjk {
                    t.text.push(' ');
                }
                t.text.push_str(&u.text);
                t.confidence = t.confidence.min(u.confidence);
            }
            _ => out.push(Turn {
                speaker: sp,
                text: u.text.clone(),
                is_character: is_char(sp),
                confidence: u.confidence,
            }),
        }
    }
    out
}

/// Everything built for one character: samples, conversations and the report.
#[derive(Debug, Clone)]
pub struct PersonaData {
    pub samples: Vec<Sample>,
    pub conversations: Vec<Conversation>,
    pub report: HealthReport,
    pub system_prompt: String,
}

fn is_chinese(script: &Extraction) -> bool {
    let sample: String = script.utterances.iter().take(200).map(|u| u.text.as_str()).collect();
    let cjk = sample.chars().filter(|&c| crate::text::is_cjk(c)).count();
    cjk * 3 > sample.chars().count()
}

/// Build the Alpaca samples and ShareGPT conversations for one character.
pub fn build(script: &Extraction, opts: &DatasetOptions) -> crate::Result<PersonaData> {
    let names: Vec<&str> = std::iter::once(opts.character.as_str())
        .chain(opts.aliases.iter().map(String::as_str))
        .collect();
    let is_char = |s: &str| names.iter().any(|n| n.eq_ignore_ascii_case(s));
    if !script
        .utterances
        .iter()
        .any(|u| u.speaker.as_deref().is_some_and(is_char))
    {
        let top: Vec<String> = script
            .cast
            .members
            .iter()
            .take(8)
            .map(|m| format!("{} ({})", m.name, m.lines))
            .collect();
        return Err(crate::Error::Invalid(format!(
            "no lines by \"{}\" were found. Speakers with the most lines: {}. Use one of these names, or add aliases.",
            opts.character,
            top.join(", ")
        )));
    }
    let system = opts
        .system_prompt
        .clone()
        .unwrap_or_else(|| default_system_prompt(&opts.character, &opts.source_title, is_chinese(script)));
    let mut samples = Vec::new();
    let mut conversations = Vec::new();
    let mut no_context = 0;
    for scene in 0..script.scenes.len() {
        let ts = turns(script, scene, &is_char);
        let mut history: Vec<(String, String)> = Vec::new();
        let mut conv: Vec<Message> = Vec::new();
        for (i, t) in ts.iter().enumerate() {
            if !t.is_character {
                continue;
            }
            // Previous lines by others, nearest last.
            let mut ctx: Vec<&Turn> = Vec::new();
            let mut j = i;
            while j > 0 && ctx.len() < opts.context_lines.max(1) {
                j -= 1;
                if ts[j].is_character {
                    break;
                }
                ctx.push(&ts[j]);
            }
            if ctx.is_empty() {
                no_context += 1;
                continue;
            }
            ctx.reverse();
            let instruction = if ctx.len() == 1 {
                ctx[0].text.clone()
            } else {
                let sep = if ctx[0].text.chars().next().is_some_and(crate::text::is_cjk) {
                    "："
                } else {
                    ": "
                };
                ctx.iter()
                    .map(|c| {
                        if c.speaker.is_empty() {
                            c.text.clone()
                        } else {
                            format!("{}{sep}{}", c.speaker, c.text)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            let start = history.len().saturating_sub(opts.history_turns);
            samples.push(Sample {
                system: system.clone(),
                instruction: instruction.clone(),
                input: String::new(),
                output: t.text.clone(),
                history: history[start..].to_vec(),
                scene: Some(scene),
                split: Split::Train,
                confidence: Some(t.confidence),
            });
            history.push((instruction.clone(), t.text.clone()));
            conv.push(Message {
                from: "human".into(),
                value: instruction,
            });
            conv.push(Message {
                from: "gpt".into(),
                value: t.text.clone(),
            });
        }
        if !conv.is_empty() {
            conversations.push(Conversation {
                conversations: conv,
                system: system.clone(),
                scene: Some(scene),
                split: Split::Train,
            });
        }
    }
    let report = health::clean_and_split(&mut samples, &mut conversations, opts, no_context);
    Ok(PersonaData {
        samples,
        conversations,
        report,
        system_prompt: system,
    })
}

/// Add general instruction samples so that they make up `ratio` of the result.
/// Deterministic for a seed; general samples go to the training split only.
pub fn mix(samples: &mut Vec<Sample>, general: &[Sample], ratio: f64, seed: u64) -> usize {
    if general.is_empty() || ratio <= 0.0 {
        return 0;
    }
    let ratio = ratio.min(0.9);
    let persona = samples.iter().filter(|s| s.split == Split::Train).count();
    let want = ((persona as f64) * ratio / (1.0 - ratio)).round() as usize;
    let mut order: Vec<usize> = (0..general.len()).collect();
    order.sort_by_key(|&i| health::hash64(seed ^ 0x9e37_79b9, i as u64));
    let n = want.min(general.len());
    for &i in &order[..n] {
        let mut s = general[i].clone();
        s.scene = None;
        s.split = Split::Train;
        samples.push(s);
    }
    // Interleave deterministically so batches see both kinds.
    samples.sort_by_key(|s| {
        (
            s.split != Split::Train,
            health::hash64(seed, health::text_hash(&s.instruction, &s.output)),
        )
    });
    n
}

/// The general instruction set that ships with Dramatis (Chinese and English).
pub fn builtin_general() -> Vec<Sample> {
    io::parse_samples(
        include_str!("../../personas/general/general.json"),
        std::path::Path::new("builtin:general"),
    )
    .map(|(s, _)| s)
    .unwrap_or_default()
}

/// The conversation of a sample up to the turn the reply answers, without
/// its first `drop_history` earlier turns.
pub fn chat_messages(s: &Sample, drop_history: usize) -> Vec<crate::model::ChatMessage> {
    let mut m = Vec::new();
    if !s.system.is_empty() {
        m.push(crate::model::ChatMessage::new("system", &s.system));
    }
    for (u, a) in s.history.iter().skip(drop_history) {
        m.push(crate::model::ChatMessage::new("user", u));
        m.push(crate::model::ChatMessage::new("assistant", a));
    }
    let user = if s.input.is_empty() {
        s.instruction.clone()
    } else {
        format!("{}\n{}", s.instruction, s.input)
    };
    m.push(crate::model::ChatMessage::new("user", &user));
    m
}
