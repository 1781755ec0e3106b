//! extract: who says what. A [`Document`] becomes an [`Extraction`]: scenes of
//! utterances (speaker, text, confidence, span in the original) and the cast.

pub mod cast;
mod novel;
mod play;
mod screenplay;
pub(crate) mod script;
mod subs;

use crate::ingest::{Document, SourceFormat};
use serde::Serialize;
use std::ops::Range;

pub use cast::{AliasSuggestion, Cast, CastHint, CastMember};

/// Confidence under which an utterance is marked [`Utterance::unsure`].
pub const UNSURE_BELOW: f32 = 0.6;

/// How the source is laid out, which decides how speakers are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// `Name: line` / `角色：台词` on one line.
    Script,
    /// The speaker on a line of its own, the speech below (`HAMLET.` / `Name:`).
    Play,
    /// Fountain-style screenplay: character cues above dialogue blocks.
    Screenplay,
    Subtitles,
    /// Prose with quotations.
    Novel,
}

/// How an utterance got its speaker; decides the confidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Attribution {
    /// Named by the layout (script tag, character cue, subtitle name).
    Tagged,
    /// A speech verb next to a name: "said Emma", “……”晓霞说.
    Explicit,
    /// A speech verb next to a pronoun resolved to a name.
    Pronoun,
    /// A name acting in the same paragraph as the quote.
    Mention,
    /// Turn-taking in a two-person exchange.
    Alternation,
    /// The person addressed in the previous quote answers.
    Addressee,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UtteranceKind {
    Dialogue,
    /// A narrator's line in a script (旁白, NARRATOR).
    Narration,
}

#[derive(Debug, Clone, Serialize)]
pub struct Utterance {
    /// The speaker as written in the source; None when unknown.
    pub speaker: Option<String>,
    pub text: String,
    pub confidence: f32,
    /// Low confidence: the app shows these for review, lowest first. Set
    /// below [`UNSURE_BELOW`], where the attribution bench measures that
    /// fewer than about two in three are right.
    pub unsure: bool,
    /// Start and end offsets in Unicode scalar values into the decoded original text.
    pub start: usize,
    pub end: usize,
    pub scene: usize,
    /// Index of the file among those given together.
    pub file: usize,
    pub kind: UtteranceKind,
    pub method: Attribution,
    /// Stage directions attached to the line: `（宣旨）`, `(whispering)`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub directions: Vec<String>,
    #[serde(skip)]
    pub range: Range<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Scene {
    pub index: usize,
    pub file: usize,
    pub heading: Option<String>,
    /// Stage directions and action lines, in order: the scene's context.
    pub context: Vec<String>,
    /// Indices into `Extraction::utterances`.
    pub utterances: Range<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Extraction {
    pub layout: Layout,
    pub files: Vec<String>,
    pub scenes: Vec<Scene>,
    pub utterances: Vec<Utterance>,
    pub cast: Cast,
}

impl Extraction {
    /// The person named the first-person narrator whose lines are under
    /// `speakers` ("I"): those lines become as sure as a named narrator's
    /// (they were flagged unsure while nobody knew who "I" was).
    pub fn narrator_named(&mut self, speakers: &[String]) {
        for u in self.utterances.iter_mut() {
            if u.speaker.as_ref().is_some_and(|s| speakers.contains(s)) {
                u.confidence = u.confidence.max(novel::NARRATOR_CONF);
                u.unsure = u.confidence < UNSURE_BELOW;
            }
        }
    }
}

/// Options for extraction.
#[derive(Debug, Clone, Default)]
pub struct ExtractOptions {
    /// Force a layout instead of detecting it.
    pub layout: Option<Layout>,
    /// Known characters as alias groups (first name is the main one); helps
    /// novels, where speakers are found among names in the narration.
    pub known_cast: Vec<CastHint>,
}

/// Collects scenes and utterances of one document while a parser walks it.
pub(crate) struct Collector<'d> {
    pub doc: &'d Document,
    pub file: usize,
    pub scenes: Vec<Scene>,
    pub utterances: Vec<Utterance>,
}

impl<'d> Collector<'d> {
    fn new(doc: &'d Document, file: usize) -> Self {
        let mut c = Collector {
            doc,
            file,
            scenes: Vec::new(),
            utterances: Vec::new(),
        };
        c.new_scene(None);
        c
    }

    /// Start a new scene, unless the current one is still empty.
    pub fn new_scene(&mut self, heading: Option<String>) {
        if let Some(last) = self.scenes.last_mut() {
            if last.utterances.is_empty() {
                if heading.is_some() {
                    match &mut last.heading {
                        Some(h) => {
                            h.push_str(" / ");
                            h.push_str(heading.as_deref().unwrap_or(""));
                        }
                        None => last.heading = heading,
                    }
                }
                return;
            }
        }
        let n = self.utterances.len();
        self.scenes.push(Scene {
            index: self.scenes.len(),
            file: self.file,
            heading,
            context: Vec::new(),
            utterances: n..n,
        });
    }

    pub fn context(&mut self, text: impl Into<String>) {
        let t = text.into();
        if !t.trim().is_empty() {
            if let Some(s) = self.scenes.last_mut() {
                s.context.push(t);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        speaker: Option<String>,
        text: String,
        range: Range<usize>,
        method: Attribution,
        confidence: f32,
        kind: UtteranceKind,
        directions: Vec<String>,
    ) -> usize {
        let scene = self.scenes.len() - 1;
        self.utterances.push(Utterance {
            speaker,
            text,
            confidence,
            unsure: confidence < UNSURE_BELOW,
            start: 0,
            end: 0,
            scene,
            file: self.file,
            kind,
            method,
            directions,
            range,
        });
        self.scenes[scene].utterances.end = self.utterances.len();
        self.utterances.len() - 1
    }

    fn finish(mut self) -> (Vec<Scene>, Vec<Utterance>) {
        let doc = self.doc;
        // In blocks on all cores; in a block, each anchor search starts
        // where the one before ended (utterances come in the text's order).
        use rayon::prelude::*;
        self.utterances.par_chunks_mut(2048).for_each(|block| {
            let mut hint = 0;
            for u in block {
                u.start = doc.original_offset_near(u.range.start, &mut hint);
                u.end = doc.original_offset_near(u.range.end, &mut hint);
            }
        });
        if self
            .scenes
            .last()
            .is_some_and(|s| s.utterances.is_empty() && s.context.is_empty())
            && self.scenes.len() > 1
        {
            self.scenes.pop();
        }
        (self.scenes, self.utterances)
    }
}

/// Guess the layout of a document from its lines.
pub fn detect_layout(doc: &Document) -> Layout {
    match doc.format {
        SourceFormat::Srt | SourceFormat::Ass => return Layout::Subtitles,
        SourceFormat::Fountain => return Layout::Screenplay,
        _ => {}
    }
    // The first 20,000 lines that hold text tell the layout; a long book is
    // not read twice to learn it.
    let text = layout_sample(&doc.text, 20_000);
    let (mut lines, mut tagged, mut cues, mut headings, mut caps_cues) = (0usize, 0usize, 0usize, 0usize, 0usize);
    let mut prev_blank = true;
    let mut it = text.lines().map(str::trim).peekable();
    while let Some(line) = it.next() {
        if line.is_empty() {
            prev_blank = true;
            continue;
        }
        lines += 1;
        let next_text = it.peek().is_some_and(|n| !n.is_empty());
        if let Some(tag) = crate::text::speaker_tag(line) {
            if tag.text_start < line.len() {
                tagged += 1;
            } else if next_text {
                cues += 1;
            }
        } else if crate::text::is_play_cue(line) && next_text {
            cues += 1;
        }
        if crate::text::is_scene_heading(line) {
            headings += 1;
        } else if prev_blank && next_text && screenplay::is_character_cue(line) {
            caps_cues += 1;
        }
        prev_blank = false;
    }
    let lines = lines.max(1);
    // `HAMLET. To be…`: cues with the speech on the same line, counted only
    // for names that recur, as a prose line may begin `Emma. ` once or twice.
    let inline = play::CueNames::scan(text).inline_lines;
    if tagged * 4 >= lines && tagged > inline {
        Layout::Script
    } else if (cues + inline) * 10 >= lines {
        Layout::Play
    } else if headings >= 2 && caps_cues * 10 >= lines {
        Layout::Screenplay
    } else {
        Layout::Novel
    }
}

/// The start of `text` up to the end of its `n`th line that is not blank.
fn layout_sample(text: &str, n: usize) -> &str {
    let mut seen = 0;
    for (at, line) in lines_with_offsets(text) {
        if !line.trim().is_empty() {
            seen += 1;
            if seen == n {
                return &text[..at + line.len()];
            }
        }
    }
    text
}

/// Extract one or more documents as one source (e.g. a script split into episode files).
pub fn extract(docs: &[Document], opts: &ExtractOptions) -> Extraction {
    extract_in(docs, opts, &crate::jobs::Job::silent()).expect("a silent job is never cancelled")
}

/// [`extract`] as a step of a job: progress after each file, and a cancel
/// takes effect between files.
pub fn extract_in(docs: &[Document], opts: &ExtractOptions, job: &crate::jobs::Job) -> crate::Result<Extraction> {
    let mut scenes = Vec::new();
    let mut utterances: Vec<Utterance> = Vec::new();
    let mut layout = None;
    for (file, doc) in docs.iter().enumerate() {
        job.check()?;
        job.report(
            "extract",
            file as u64,
            Some(docs.len() as u64),
            "files",
            format!("finding who says what in {}", doc.path.display()),
        );
        let l = opts.layout.unwrap_or_else(|| detect_layout(doc));
        layout.get_or_insert(l);
        let mut c = Collector::new(doc, file);
        match l {
            Layout::Script | Layout::Play => script::parse(&mut c, l),
            Layout::Screenplay => screenplay::parse(&mut c),
            Layout::Subtitles => subs::parse(&mut c),
            Layout::Novel => novel::parse(&mut c, &opts.known_cast),
        }
        let (s, u) = c.finish();
        let (scene_base, utt_base) = (scenes.len(), utterances.len());
        scenes.extend(s.into_iter().map(|mut sc| {
            sc.index += scene_base;
            sc.utterances = sc.utterances.start + utt_base..sc.utterances.end + utt_base;
            sc
        }));
        utterances.extend(u.into_iter().map(|mut u| {
            u.scene += scene_base;
            u
        }));
    }
    // Confirmed alias groups: every alias speaks as the group's main name.
    if !opts.known_cast.is_empty() {
        let mut main: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
        for h in &opts.known_cast {
            if let Some(m) = h.aliases.first() {
                for a in &h.aliases {
                    main.entry(a.as_str()).or_insert(m.as_str());
                }
            }
        }
        for u in &mut utterances {
            if let Some(m) = u.speaker.as_deref().and_then(|s| main.get(s)) {
                if u.speaker.as_deref() != Some(m) {
                    u.speaker = Some((*m).to_owned());
                }
            }
        }
    }
    job.check()?;
    let cast = cast::build(&utterances, &opts.known_cast);
    Ok(Extraction {
        layout: layout.unwrap_or(Layout::Novel),
        files: docs.iter().map(|d| d.path.display().to_string()).collect(),
        scenes,
        utterances,
        cast,
    })
}

/// Remove bracketed stage directions from a line; returns the clean text and the directions.
///
/// In one pass: runs of spaces collapse to one, empty lines go, line breaks
/// stay (verse), and no space is left next to a CJK character.
pub fn strip_directions(s: &str) -> (String, Vec<String>) {
    strip_directions_with(s, |_, _| false)
}

/// [`strip_directions`], keeping as text the brackets for which `keep(open, inner)`
/// says so (a play's spoken parentheses).
pub(crate) fn strip_directions_with(s: &str, keep: impl Fn(char, &str) -> bool) -> (String, Vec<String>) {
    use crate::text::is_cjk;
    let mut out = String::with_capacity(s.len());
    let mut dirs = Vec::new();
    let mut pending_space = false;
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        let after = &rest[c.len_utf8()..];
        match c {
            '（' | '(' | '[' | '【' => {
                // Accept either width of closing bracket for the round ones.
                let close = match c {
                    '（' | '(' => after.find(['）', ')']),
                    '【' => after.find('】'),
                    _ => after.find(']'),
                };
                if let Some(j) = close.filter(|&j| !keep(c, &after[..j])) {
                    let d = after[..j].trim();
                    if !d.is_empty() {
                        dirs.push(d.to_owned());
                    }
                    let cl = after[j..].chars().next().map_or(1, char::len_utf8);
                    rest = &after[j + cl..];
                    // A removed direction separates like a space.
                    pending_space = true;
                    continue;
                }
                push_char(&mut out, &mut pending_space, c);
            }
            '\n' => {
                let trimmed = out.trim_end_matches(|ch: char| ch.is_whitespace() && ch != '\n').len();
                out.truncate(trimmed);
                if !out.is_empty() && !out.ends_with('\n') {
                    out.push('\n');
                }
                pending_space = false;
            }
            c if c.is_whitespace() => pending_space = !out.is_empty() && !out.ends_with('\n'),
            c => push_char(&mut out, &mut pending_space, c),
        }
        rest = after;
    }
    let end = out.trim_end().len();
    out.truncate(end);
    return (out, dirs);

    fn push_char(out: &mut String, pending_space: &mut bool, c: char) {
        if std::mem::take(pending_space) && !out.is_empty() && !out.ends_with('\n') {
            let prev_cjk = out.chars().next_back().is_some_and(is_cjk);
            if !prev_cjk && !is_cjk(c) {
                out.push(' ');
            }
        }
        out.push(c);
    }
}

/// A small, fast hasher (FxHash) for the maps of names looked up per character;
/// the keys come from the document, not from an attacker over the network.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(b));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64)
    }
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64)
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i)
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64)
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<FxHasher>>;
pub(crate) type FastSet<K> = std::collections::HashSet<K, std::hash::BuildHasherDefault<FxHasher>>;

/// How many threads long steps use: the machine's cores, at most 8.
pub(crate) fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(8)
}

/// How many pieces a text of `len` bytes is cut into for work on all cores:
/// one under 1 MB, where threads would cost more than they save.
pub(crate) fn pieces_for(len: usize) -> usize {
    if len >= 1 << 20 {
        threads()
    } else {
        1
    }
}

/// `items.iter().map(f)`, on rayon's threads for long inputs (or a few
/// large items, such as the runs of a book).
pub(crate) fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync + Send) -> Vec<R> {
    use rayon::prelude::*;
    if items.len() < 2 || (items.len() < 4096 && items.len() > threads()) {
        return items.iter().map(f).collect();
    }
    items.par_iter().map(f).collect()
}

/// Lines of `s` with their byte offsets.
pub(crate) fn lines_with_offsets(s: &str) -> impl Iterator<Item = (usize, &str)> {
    s.split('\n').scan(0usize, |pos, line| {
        let at = *pos;
        *pos += line.len() + 1;
        Some((at, line))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_are_removed_and_kept() {
        let (t, d) = strip_directions("皇上请看。（递上药方）这是臣女拟的方子。");
        assert_eq!(t, "皇上请看。这是臣女拟的方子。");
        assert_eq!(d, vec!["递上药方"]);
        let (t, d) = strip_directions("Hand me that. (points) No, the other one. [Thunder.]");
        assert_eq!(t, "Hand me that. No, the other one.");
        assert_eq!(d, vec!["points", "Thunder."]);
    }
}
