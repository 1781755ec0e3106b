//! Scoring speaker attribution on the development corpora in ../shared/samples:
//! PDNC (English novels, gold quotes and speakers) and the WP speaker-id dev
//! split (平凡的世界). Shared by the attribution test and bench.
#![allow(dead_code)]

use dramatis::extract::{extract, CastHint, ExtractOptions};
use dramatis::ingest::{import_bytes, import_file, IngestOptions};
use dramatis::jobs::Job;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[path = "../common/mod.rs"]
mod common;
pub use common::samples;

/// Correct / attributed-at-all / total per quote type.
#[derive(Debug, Default, Clone)]
pub struct Score {
    pub by_type: BTreeMap<String, (usize, usize, usize)>,
    /// Reliability: per confidence bucket (tenths), correct / attributed.
    pub by_confidence: BTreeMap<u8, (usize, usize)>,
    /// Unsure-flagged utterances: correct / flagged.
    pub unsure: (usize, usize),
}

impl Score {
    fn add(&mut self, kind: &str, found: bool, correct: bool) {
        let e = self.by_type.entry(kind.to_owned()).or_default();
        e.0 += correct as usize;
        e.1 += found as usize;
        e.2 += 1;
    }
    pub fn accuracy(&self, kind: &str) -> f64 {
        self.by_type.get(kind).map_or(0.0, |e| e.0 as f64 / e.2.max(1) as f64)
    }
    pub fn overall(&self) -> f64 {
        let (c, t) = self.by_type.values().fold((0, 0), |a, e| (a.0 + e.0, a.1 + e.2));
        c as f64 / t.max(1) as f64
    }
    /// Record the confidence of an attributed quote and whether it was right.
    fn calibrate(&mut self, confidence: f32, unsure: bool, correct: bool) {
        let b = (confidence * 10.0).floor().clamp(0.0, 9.0) as u8;
        let e = self.by_confidence.entry(b).or_default();
        e.0 += correct as usize;
        e.1 += 1;
        if unsure {
            self.unsure.0 += correct as usize;
            self.unsure.1 += 1;
        }
    }
    /// Confidence bucket -> observed accuracy, to check the confidence is honest.
    pub fn print_reliability(&self) {
        println!("  reliability (confidence -> observed accuracy of attributed quotes):");
        for (b, (c, t)) in &self.by_confidence {
            println!(
                "    {:.1}-{:.1}  {:>5.1}% right  ({c}/{t})",
                *b as f32 / 10.0,
                (*b + 1) as f32 / 10.0,
                100.0 * *c as f64 / (*t).max(1) as f64
            );
        }
        let (c, t) = self.unsure;
        println!(
            "    flagged unsure: {t}, of which {:.1}% right",
            100.0 * c as f64 / t.max(1) as f64
        );
    }
    pub fn merge(&mut self, other: &Score) {
        for (k, v) in &other.by_confidence {
            let e = self.by_confidence.entry(*k).or_default();
            e.0 += v.0;
            e.1 += v.1;
        }
        self.unsure.0 += other.unsure.0;
        self.unsure.1 += other.unsure.1;
        for (k, v) in &other.by_type {
            let e = self.by_type.entry(k.clone()).or_default();
            e.0 += v.0;
            e.1 += v.1;
            e.2 += v.2;
        }
    }
    pub fn print(&self, title: &str) {
        println!("{title}");
        for (k, (c, f, t)) in &self.by_type {
            println!(
                "  {k:<10} {:>6.1}% correct  ({c}/{t}; quote found {:.1}%)",
                100.0 * *c as f64 / (*t).max(1) as f64,
                100.0 * *f as f64 / (*t).max(1) as f64
            );
        }
        println!("  {:<10} {:>6.1}%", "all", 100.0 * self.overall());
    }
}

fn python_strings(s: &str) -> Vec<String> {
    // Parses "{'Emma', 'Miss Woodhouse'}" and "['a', \"b\"]".
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' || c == '"' {
            let mut v = String::new();
            while let Some(d) = chars.next() {
                if d == '\\' {
                    if let Some(e) = chars.next() {
                        v.push(e);
                    }
                } else if d == c {
                    break;
                } else {
                    v.push(d);
                }
            }
            out.push(v);
        }
    }
    out
}

fn numbers(s: &str) -> Vec<usize> {
    s.split(|c: char| !c.is_ascii_digit())
        .filter(|t| !t.is_empty())
        .filter_map(|t| t.parse().ok())
        .collect()
}

pub struct Character {
    pub main: String,
    pub aliases: Vec<String>,
    pub gender: Option<char>,
}

pub struct GoldQuote {
    pub start: usize,
    pub end: usize,
    pub speaker: String,
    pub kind: String,
}

pub struct Novel {
    pub name: String,
    pub text: PathBuf,
    pub cast: Vec<Character>,
    pub quotes: Vec<GoldQuote>,
}

pub fn pdnc() -> Vec<Novel> {
    let root = samples().join("pdnc-dev");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("pdnc-dev")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.into_iter()
        .map(|d| {
            let chars = common::read_csv(&d.join("character_info.csv"));
            let cast = chars
                .iter()
                .skip(1)
                .filter(|r| r.len() >= 4)
                .map(|r| {
                    let mut aliases = python_strings(&r[2]);
                    aliases.retain(|a| a != &r[1]);
                    aliases.insert(0, r[1].clone());
                    Character {
                        main: r[1].clone(),
                        aliases,
                        gender: r[3].chars().next().filter(|c| *c == 'M' || *c == 'F'),
                    }
                })
                .collect();
            let rows = common::read_csv(&d.join("quotation_info.csv"));
            let head = &rows[0];
            let col = |n: &str| head.iter().position(|h| h == n).expect(n);
            let (sp, spk, ty) = (col("quoteByteSpans"), col("speaker"), col("quoteType"));
            let quotes = rows
                .iter()
                .skip(1)
                .filter(|r| r.len() > ty)
                .filter_map(|r| {
                    let n = numbers(&r[sp]);
                    let kind = r[ty].trim();
                    (n.len() >= 2 && !kind.is_empty() && kind != "nan").then(|| GoldQuote {
                        start: n[0],
                        end: n[1],
                        speaker: r[spk].clone(),
                        kind: kind.to_owned(),
                    })
                })
                .collect();
            Novel {
                name: d
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                text: d.join("novel_text.txt"),
                cast,
                quotes,
            }
        })
        .collect()
}

fn same(a: &str, b: &str) -> bool {
    let strip = |s: &str| {
        s.trim()
            .trim_start_matches("the ")
            .trim_start_matches("The ")
            .to_lowercase()
    };
    strip(a) == strip(b)
}

/// The app asks who narrates when a book has many "I said" quotes left
/// unnamed; the answer a reader gives: the cast member most of them belong to.
fn narrator_answer(n: &Novel, s: &dramatis::extract::Extraction) -> Option<usize> {
    let mut votes: BTreeMap<usize, usize> = BTreeMap::new();
    let mut asked = 0;
    for u in s.utterances.iter().filter(|u| u.speaker.as_deref() == Some("I")) {
        asked += 1;
        if let Some(q) = n.quotes.iter().find(|q| u.start < q.end && q.start < u.end) {
            if let Some(i) = n
                .cast
                .iter()
                .position(|c| c.main == q.speaker || c.aliases.contains(&q.speaker))
            {
                *votes.entry(i).or_default() += 1;
            }
        }
    }
    (asked >= 20).then_some(())?;
    votes.into_iter().max_by_key(|&(_, v)| v).map(|(i, _)| i)
}

/// Score one novel. With `use_cast`, the gold character list is given to the
/// extractor (as a person would confirm the cast in the app).
pub fn score_novel(n: &Novel, use_cast: bool) -> Score {
    let doc = import_file(&n.text, &IngestOptions::default(), &Job::silent()).expect("novel");
    let known = if use_cast {
        n.cast
            .iter()
            .map(|c| CastHint {
                aliases: c.aliases.clone(),
                gender: c.gender,
                ..Default::default()
            })
            .collect()
    } else {
        Vec::new()
    };
    let run = |known: Vec<CastHint>| {
        extract(
            std::slice::from_ref(&doc),
            &ExtractOptions {
                known_cast: known,
                ..Default::default()
            },
        )
    };
    let mut s = run(known.clone());
    // As the app does: it asks who tells the story when many quotes are
    // "I said", and a person who knows the book answers; the answer is the
    // cast member the gold data names for most of those quotes.
    if let Some(i) = narrator_answer(n, &s) {
        if use_cast {
            // A confirmed cast: the narrator is marked and extraction runs again.
            let mut known = known;
            known[i].narrator = true;
            s = run(known);
        } else {
            // A discovered cast: the narrator's lines take the name and the
            // confidence of a named narrator (`Draft::set_narrator`).
            s.narrator_named(&["I".to_owned()]);
            for u in s.utterances.iter_mut().filter(|u| u.speaker.as_deref() == Some("I")) {
                u.speaker = Some(n.cast[i].main.clone());
            }
        }
    }
    let mut score = Score::default();
    // DRAMATIS_ATTR_DEBUG=<novel>: the commonest (gold, predicted) mistakes.
    let debug = std::env::var("DRAMATIS_ATTR_DEBUG").is_ok_and(|v| n.name.contains(&v));
    let mut mistakes: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for q in &n.quotes {
        let u = s.utterances.iter().find(|u| u.start < q.end && q.start < u.end);
        let gold = n
            .cast
            .iter()
            .find(|c| c.main == q.speaker || c.aliases.iter().any(|a| a == &q.speaker));
        let pred = u.and_then(|u| u.speaker.as_deref());
        let correct = match (pred, gold) {
            (Some(p), Some(g)) => same(p, &g.main) || g.aliases.iter().any(|a| same(p, a)),
            (Some(p), None) => same(p, &q.speaker),
            _ => false,
        };
        score.add(&q.kind, u.is_some(), correct);
        if debug && !correct {
            let key = (q.kind.clone(), q.speaker.clone(), pred.unwrap_or("-").to_owned());
            *mistakes.entry(key).or_default() += 1;
        }
        if let Some(u) = u.filter(|u| u.speaker.is_some()) {
            score.calibrate(u.confidence, u.unsure, correct);
        }
    }
    if debug {
        let mut m: Vec<_> = mistakes.into_iter().collect();
        m.sort_by_key(|e| std::cmp::Reverse(e.1));
        println!(
            "{} ({}): cast {:?}",
            n.name,
            if use_cast { "given" } else { "discovered" },
            s.cast
                .members
                .iter()
                .take(25)
                .map(|c| (&c.name, c.lines))
                .collect::<Vec<_>>()
        );
        for ((kind, gold, pred), k) in m.into_iter().take(25) {
            println!("  {k:>4}  {kind:<10} gold {gold:<24} said {pred}");
        }
    }
    score
}

pub struct WpInstance {
    pub lines: Vec<String>,
    pub speaker: String,
    pub kind: String,
}

pub fn wp_names() -> Vec<CastHint> {
    let text = std::fs::read_to_string(samples().join("wp-speaker-id/name_list.txt"))
        .expect("name list")
        .replace("\r\n", "\n");
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let g = it.next()?;
            let aliases: Vec<String> = it.map(str::to_owned).collect();
            (!aliases.is_empty()).then(|| CastHint {
                aliases,
                gender: Some(if g == "0" { 'F' } else { 'M' }),
                ..Default::default()
            })
        })
        .collect()
}

pub fn wp_dev() -> Vec<WpInstance> {
    let text = std::fs::read_to_string(samples().join("wp-speaker-id/dev/dev_unsplit.txt"))
        .expect("wp dev")
        .replace("\r\n", "\n");
    let mut out = Vec::new();
    for block in text.split("\n\n") {
        let lines: Vec<&str> = block.lines().collect();
        let Some(i) = lines.iter().position(|l| l.starts_with("Instance index")) else {
            continue;
        };
        let body: Vec<String> = lines[i + 1..].iter().take(21).map(|s| s.to_string()).collect();
        let speaker = lines
            .iter()
            .find_map(|l| l.strip_prefix("Speaker: "))
            .unwrap_or("")
            .to_owned();
        let kind = lines
            .iter()
            .find_map(|l| l.strip_prefix("Category: "))
            .unwrap_or("")
            .to_owned();
        if body.len() == 21 && !speaker.is_empty() {
            out.push(WpInstance {
                lines: body,
                speaker,
                kind,
            });
        }
    }
    out
}

/// Score the WP dev split: the center (11th) sentence's speaker.
pub fn score_wp(use_cast: bool) -> Score {
    let names = wp_names();
    let mut score = Score::default();
    for inst in wp_dev() {
        let text = inst.lines.join("\n");
        let center_start: usize = inst.lines[..10].iter().map(|l| l.chars().count() + 1).sum();
        let center_end = center_start + inst.lines[10].chars().count();
        let doc = import_bytes(Path::new("wp.txt"), text.as_bytes(), &IngestOptions::default()).expect("wp");
        let known = if use_cast { names.clone() } else { Vec::new() };
        let s = extract(
            &[doc],
            &ExtractOptions {
                known_cast: known,
                layout: Some(dramatis::extract::Layout::Novel),
            },
        );
        let u = s
            .utterances
            .iter()
            .find(|u| u.start < center_end && center_start < u.end);
        let gold = names
            .iter()
            .find(|c| c.aliases.first() == Some(&inst.speaker) || c.aliases.contains(&inst.speaker));
        let pred = u.and_then(|u| u.speaker.as_deref());
        let correct = match (pred, gold) {
            (Some(p), Some(g)) => g.aliases.iter().any(|a| a == p),
            (Some(p), None) => p == inst.speaker,
            _ => false,
        };
        score.add(&inst.kind, u.is_some(), correct);
        if !correct && use_cast && std::env::var("DRAMATIS_ATTR_DEBUG").is_ok_and(|v| v == "wp") {
            println!("--- {} gold {} said {:?}", inst.kind, inst.speaker, pred);
            for l in &inst.lines[7..13] {
                println!("    {l}");
            }
        }
    }
    score
}

/// Per-novel and overall figures, with the cast given and discovered: each
/// novel's rules were not tuned on it alone, so the per-novel rows are the
/// leave-one-novel-out view (see the README). Returns (given, discovered) per novel.
pub fn report_pdnc() -> Vec<(String, Score, Score)> {
    let novels = pdnc();
    let rows: Vec<(String, Score, Score)> = novels
        .iter()
        .map(|n| (n.name.clone(), score_novel(n, true), score_novel(n, false)))
        .collect();
    println!(
        "{:<28} {:>14} {:>8}   {:>14} {:>8}",
        "PDNC dev novel", "given:explicit", "all", "found:explicit", "all"
    );
    let (mut given, mut found) = (Score::default(), Score::default());
    for (name, g, f) in &rows {
        println!(
            "{name:<28} {:>13.1}% {:>7.1}%   {:>13.1}% {:>7.1}%",
            100.0 * g.accuracy("Explicit"),
            100.0 * g.overall(),
            100.0 * f.accuracy("Explicit"),
            100.0 * f.overall()
        );
        given.merge(g);
        found.merge(f);
    }
    given.print(&format!("PDNC dev, {} novels, cast given:", rows.len()));
    given.print_reliability();
    found.print(&format!("PDNC dev, {} novels, cast discovered:", rows.len()));
    found.print_reliability();
    rows
}
