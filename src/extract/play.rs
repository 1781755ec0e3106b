//! Plays: speaker cues in the layouts printed editions use.
//!
//! - `HAMLET.` or `First Citizen:` alone on a line, the speech below;
//! - `HAMLET. To be, or not to be…` / `Ham. To be…` / `First Lord. …` /
//!   `HELMER [aside]. …`: the cue and the speech begin on the same line.
//!
//! Prose and verse are full of lines that look like cues one at a time
//! (`Nay. Answer me`, `Good my lord: how does…`), so a cue is only believed
//! when its name recurs as a cue in the document or it opens a paragraph.

use super::novel::lexicon::{is_stop_word, EN_TITLES};
use super::FastMap;
use crate::text::{is_heading, is_play_cue, is_title, speaker_tag};

/// A speaker cue that begins a line, with the speech on the same line.
#[derive(Debug, PartialEq)]
pub struct InlineCue<'a> {
    pub name: &'a str,
    /// `aside` in `HELMER [aside]. …`.
    pub direction: Option<&'a str>,
    /// Byte offset in the line where the speech begins.
    pub text_start: usize,
}

/// Lower-case words allowed inside a name: `Duke of York`, `Don John de Luna`.
const NAME_LINKS: &[&str] = &["of", "de", "du", "la", "le", "von", "van", "and", "the", "di", "da"];

/// Words that open a verse or prose line followed by a full stop but name nobody.
const NOT_SPEAKERS: &[&str] = &[
    "Nay",
    "Ay",
    "Aye",
    "Yea",
    "Peace",
    "Come",
    "Go",
    "Away",
    "Farewell",
    "Adieu",
    "Alas",
    "Amen",
    "Hark",
    "Soft",
    "Enough",
    "Indeed",
    "Good",
    "Now",
    "Here",
    "Look",
    "Stay",
    "Hold",
    "Fie",
    "Thanks",
    "Sir",
    "Madam",
    "Lord",
    "Exit",
    "Exeunt",
    "Enter",
    "Manet",
    "Finis",
    "Silence",
    "Never",
    "Nothing",
    "Done",
    "See",
    "Sure",
    "True",
    "Right",
    "Quite",
    "Certainly",
    "Perhaps",
    "Please",
    "Thank",
    "Stop",
    "Wait",
    "Listen",
    "Ha",
    "Hm",
    "Hush",
    "Dramatis",
    "Personae",
    "Contents",
    "Preface",
    "Note",
    "Notes",
    "Volume",
    "Book",
    "Chapter",
    "Act",
    "Scene",
];

fn is_roman(w: &str) -> bool {
    !w.is_empty() && w.chars().all(|c| "IVXLCivxlc".contains(c))
}

/// Whether `name` can be a speaker in a cue: one to four capitalised words.
pub fn cue_name_ok(name: &str) -> bool {
    let words: Vec<&str> = name.split_whitespace().collect();
    if words.is_empty() || words.len() > 4 || name.len() > 32 || name.chars().filter(|c| c.is_alphabetic()).count() < 2
    {
        return false;
    }
    // Several speak at once: `All. Speak, speak.`
    let group = ["All", "Both", "Omnes", "Chorus"].contains(&capitalised(words[0]).as_str());
    if words.len() == 1 && !group && (is_roman(words[0]) || NOT_SPEAKERS.contains(&words[0])) {
        return false;
    }
    // `LORD.`, `KING.`: a title alone is a speaker in a play.
    let cap = capitalised(words[0]);
    if words.len() == 1 && !group && is_stop_word(&cap) && !EN_TITLES.contains(&cap.as_str()) {
        return false;
    }
    // `Chapter I. The Ball`, `Book II. …`: headings, not speakers.
    if ["Chapter", "Book", "Volume", "Part", "Canto", "Act", "Scene"].contains(&capitalised(words[0]).as_str()) {
        return false;
    }
    words.iter().enumerate().all(|(i, w)| {
        let w = w.trim_end_matches('.');
        let first = w.chars().next().unwrap_or(' ');
        let ok_chars = w.chars().all(|c| c.is_alphanumeric() || "'’-".contains(c));
        ok_chars && (first.is_uppercase() || (i > 0 && NAME_LINKS.contains(&w)))
    })
}

/// `HAMLET` -> `Hamlet`, so all-caps stop words (`YES.`) are caught too.
fn capitalised(w: &str) -> String {
    let mut out = String::with_capacity(w.len());
    for (i, c) in w.chars().enumerate() {
        if i == 0 {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Parse `NAME. speech`, `Ham. speech`, `NAME [direction]. speech` at the start of a line.
pub fn inline_cue(line: &str) -> Option<InlineCue<'_>> {
    let mut from = 0;
    loop {
        let p = from + line[from..].find(['.', '[', '('])?;
        if p > 40 {
            return None;
        }
        let name = line[..p].trim();
        match line.as_bytes()[p] {
            b'.' => {
                let last = name.rsplit([' ', '\t']).next().unwrap_or("");
                if is_title(last) && line[p + 1..].starts_with(' ') && !name.contains(' ') {
                    // `Mrs. Allonby.`: the title's full stop is part of the name.
                    from = p + 1;
                    continue;
                }
                if is_title(last) && name.split_whitespace().count() > 1 {
                    from = p + 1;
                    continue;
                }
                let after = &line[p + 1..];
                if !after.starts_with([' ', '\t']) {
                    return None;
                }
                let text = after.trim_start();
                // `ACT I. SCENE 2.` and `Enter Hamlet.` are not cues.
                if text.is_empty() || !cue_name_ok(name) || is_heading(line) || is_stage_line(line) {
                    return None;
                }
                return Some(InlineCue {
                    name,
                    direction: None,
                    text_start: line.len() - text.len(),
                });
            }
            open => {
                let close = if open == b'[' { ']' } else { ')' };
                let j = p + line[p..].find(close)?;
                let after = line[j + 1..].trim_start();
                let after = after.strip_prefix('.')?;
                if !after.starts_with([' ', '\t']) && !after.is_empty() {
                    return None;
                }
                let text = after.trim_start();
                if text.is_empty() || !cue_name_ok(name) || is_stage_line(line) {
                    return None;
                }
                return Some(InlineCue {
                    name,
                    direction: Some(line[p + 1..j].trim()).filter(|d| !d.is_empty()),
                    text_start: line.len() - text.len(),
                });
            }
        }
    }
}

/// A stage-direction line of a play: `Enter Hamlet.`, `Exeunt.`, `Re-enter Ghost.`
pub fn is_stage_line(t: &str) -> bool {
    [
        "Enter ", "Enter.", "Exit", "Exeunt", "Re-enter", "Reenter", "Flourish", "Alarum", "Sennet", "Manet",
    ]
    .iter()
    .any(|p| t.starts_with(p))
}

/// Whether bracketed text in a play is a stage direction rather than speech.
/// Square brackets always are; in round ones Shakespeare's verse has
/// parentheses that are spoken, so only text that reads like a direction goes.
pub fn is_direction_text(open: char, inner: &str) -> bool {
    if open == '[' || open == '【' {
        return true;
    }
    let t = inner.trim();
    let Some(first) = t.chars().next() else {
        return true;
    };
    if first.is_lowercase() || is_stage_line(t) {
        return true;
    }
    let w0 = t.split_whitespace().next().unwrap_or("").trim_end_matches(['.', ',']);
    const DIRECTION_WORDS: &[&str] = &[
        "Aside",
        "Aloud",
        "Within",
        "Sings",
        "Singing",
        "Reads",
        "Reading",
        "Kneels",
        "Kneeling",
        "Rises",
        "Rising",
        "Laughs",
        "Laughing",
        "Weeps",
        "Weeping",
        "Dies",
        "Pause",
        "Pausing",
        "Whispers",
        "Whispering",
        "To",
        "Sitting",
        "Standing",
        "Going",
        "Turning",
        "Crossing",
        "Stabs",
        "Draws",
        "Seizes",
        "Points",
        "Pointing",
        "Music",
        "Thunder",
        "Trumpets",
        "Drums",
        "Noise",
        "Knocking",
        "Knocks",
        "Offering",
        "Giving",
        "Taking",
        "Exit",
        "Exeunt",
        "Enter",
        "Sighs",
        "Smiling",
        "Smiles",
        "Quietly",
        "Angrily",
        "Softly",
    ];
    DIRECTION_WORDS.contains(&w0)
        // One or two words ending in a full stop: `(Aside.)`, `(Writes.)`.
        || (t.ends_with('.') && t.split_whitespace().count() <= 2 && !t.contains(','))
}

/// Leading whitespace, a tab counted as four spaces.
fn indent(line: &str) -> usize {
    line.chars()
        .take_while(|c| c.is_whitespace())
        .map(|c| if c == '\t' { 4 } else { 1 })
        .sum()
}

/// What a play's cue lines say: how often each name stands in a cue of
/// either layout. A name seen once is likely a verse line, not a speaker.
#[derive(Debug, Default)]
pub struct CueNames {
    counts: FastMap<String, usize>,
    /// The same, counting only cues that open a paragraph.
    opening: FastMap<String, usize>,
    /// Whether speeches are separated by blank lines: then a name is only
    /// evidence of a cue where it opens a paragraph (`Give me thy hand:` ends
    /// many verse lines of a long play).
    blank_separated: bool,
    /// Old editions indent the verse under a cue: `  Ham. To be…` / `    Whether…`.
    cue_indent: Option<usize>,
    /// Lines that are inline cues of a name seen at least [`MIN_INLINE`] times.
    pub inline_lines: usize,
    /// Whether the document is a play of inline cues: then a minor character's
    /// single cue (`Messenger. My lord…`) is believed too.
    inline_play: bool,
}

/// An inline cue's name must recur this often before the layout is believed.
pub const MIN_INLINE: usize = 3;

impl CueNames {
    pub fn scan(text: &str) -> Self {
        let mut counts: FastMap<String, usize> = FastMap::default();
        let mut opening: FastMap<String, usize> = FastMap::default();
        let mut inline: FastMap<String, usize> = FastMap::default();
        let (mut cue_lines, mut opening_lines) = (0usize, 0usize);
        let mut inline_indents: Vec<(&str, usize)> = Vec::new();
        let mut prev_blank = true;
        for line in text.lines().take(200_000) {
            let t = line.trim();
            let opens = std::mem::replace(&mut prev_blank, t.is_empty());
            if t.is_empty() {
                continue;
            }
            let name = if let Some(c) = inline_cue(t) {
                *inline.entry(c.name.to_owned()).or_default() += 1;
                inline_indents.push((c.name, indent(line)));
                c.name
            } else if is_play_cue(t) {
                t.trim_end_matches('.')
            } else if let Some(tag) = speaker_tag(t) {
                tag.name
            } else {
                continue;
            };
            *counts.entry(name.to_owned()).or_default() += 1;
            cue_lines += 1;
            if opens {
                *opening.entry(name.to_owned()).or_default() += 1;
                opening_lines += 1;
            }
        }
        let inline_lines = inline.values().filter(|&&n| n >= MIN_INLINE).sum();
        let recurring = inline.values().filter(|&&n| n >= MIN_INLINE).count();
        // The indentation of most cues of recurring names, if nearly all share one.
        let mut by_indent: FastMap<usize, usize> = FastMap::default();
        for (name, ind) in &inline_indents {
            if inline.get(*name).is_some_and(|&n| n >= MIN_INLINE) {
                *by_indent.entry(*ind).or_default() += 1;
            }
        }
        let cue_indent = by_indent
            .iter()
            .max_by_key(|(_, &n)| n)
            .filter(|(_, &n)| n * 10 >= inline_lines * 9)
            .map(|(&i, _)| i);
        CueNames {
            counts,
            opening,
            blank_separated: opening_lines * 2 > cue_lines,
            cue_indent,
            inline_lines,
            inline_play: inline_lines >= 6 && recurring >= 2,
        }
    }

    pub fn count(&self, name: &str) -> usize {
        self.counts.get(name).copied().unwrap_or(0)
    }

    /// An inline cue is believed where cues stand (at the cues' indentation,
    /// at a paragraph's start when speeches are set off by blank lines), in a
    /// play of inline cues or when its name recurs.
    pub fn believe_inline(&self, name: &str, para_start: bool, line: &str) -> bool {
        if self.cue_indent.is_some_and(|i| i != indent(line)) {
            return false;
        }
        if self.blank_separated {
            return para_start || self.opening.get(name).copied().unwrap_or(0) >= 2;
        }
        self.inline_play || self.believe(name, para_start)
    }

    /// A cue is believed when it opens a paragraph or its name recurs.
    pub fn believe(&self, name: &str, para_start: bool) -> bool {
        let opening = self.opening.get(name).copied().unwrap_or(0);
        para_start || opening >= 2 || (!self.blank_separated && self.count(name) >= 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_cues() {
        let c = inline_cue("HAMLET. To be, or not to be, that is the question:").unwrap();
        assert_eq!((c.name, c.direction), ("HAMLET", None));
        let c = inline_cue("Ham. To be, or not to be").unwrap();
        assert_eq!(c.name, "Ham");
        assert_eq!(inline_cue("First Lord. My lord, I go.").unwrap().name, "First Lord");
        let line = "HELMER [calls out from his room]. Is that my little lark?";
        let c = inline_cue(line).unwrap();
        assert_eq!((c.name, c.direction), ("HELMER", Some("calls out from his room")));
        assert_eq!(&line[c.text_start..], "Is that my little lark?");
        assert_eq!(inline_cue("MRS. ALLONBY. How very nice.").unwrap().name, "MRS. ALLONBY");
        for no in [
            "ACT I. Scene 2.",
            "Nay. Answer me, stand and unfold yourself.",
            "Enter Hamlet. He reads.",
            "I. The beginning",
            "Yes. I went there.",
            "it was late. So we left.",
            "Chapter I. The Ball",
            "Mr. Smith went to town.",
        ] {
            assert!(inline_cue(no).is_none(), "{no}");
        }
    }

    #[test]
    fn directions_in_brackets() {
        assert!(is_direction_text('[', "Which God forbid"));
        assert!(is_direction_text('(', "aside"));
        assert!(is_direction_text('(', "Aside."));
        assert!(is_direction_text('(', "To Horatio."));
        assert!(!is_direction_text('(', "Which God forbid, and heaven keep us"));
        assert!(!is_direction_text('(', "As I perchance hereafter shall think meet"));
    }
}
