//! Novels: find quotations and attribute each to a speaker.
//!
//! Rules, in order of trust: a speech verb next to a name ("said Emma",
//! “……”晓霞说), a speech verb next to a pronoun resolved to a recent name of
//! that gender, a name acting in the quote's paragraph, the person addressed in
//! the previous quote, and turn-taking in a two-person exchange.

use super::cast::CastHint;
use super::{script::is_heading, Attribution, Collector, UtteranceKind};
use crate::ingest::text::is_cjk;
use std::collections::HashMap;
use std::ops::Range;

const EN_VERBS: &[&str] = &[
    "said",
    "says",
    "say",
    "asked",
    "asks",
    "replied",
    "replies",
    "answered",
    "answers",
    "cried",
    "cries",
    "exclaimed",
    "whispered",
    "shouted",
    "added",
    "adds",
    "continued",
    "returned",
    "observed",
    "remarked",
    "began",
    "muttered",
    "murmured",
    "called",
    "repeated",
    "rejoined",
    "resumed",
    "interrupted",
    "declared",
    "inquired",
    "enquired",
    "demanded",
    "retorted",
    "responded",
    "explained",
    "insisted",
    "suggested",
    "protested",
    "screamed",
    "sighed",
    "laughed",
    "groaned",
    "growled",
    "stammered",
    "faltered",
    "pleaded",
    "urged",
    "thought",
    "echoed",
    "went",
    "yelled",
    "roared",
    "sobbed",
    "snapped",
    "persisted",
    "concluded",
    "ventured",
    "gasped",
    "hissed",
    "breathed",
    "argued",
    "agreed",
    "admitted",
    "assented",
    "objected",
    "whimpered",
    "shrieked",
    "wondered",
    "proceeded",
    "pursued",
    "bawled",
    "called",
    "corrected",
    "warned",
    "smiled",
    "nodded",
    "chuckled",
    "grumbled",
    "sang",
    "considered",
    "ejaculated",
    "vociferated",
    "interposed",
    "intervened",
    "asserted",
    "mused",
    "reflected",
    "announced",
    "commented",
    "conceded",
    "volunteered",
    "moaned",
    "panted",
    "grunted",
    "snarled",
    "sneered",
    "squeaked",
    "piped",
    "drawled",
    "giggled",
    "stuttered",
    "blurted",
    "bellowed",
    "thundered",
    "wailed",
    "whined",
    "spoke",
    "told",
    "reiterated",
    "acknowledged",
    "confessed",
    "affirmed",
    "hinted",
    "implored",
    "entreated",
    "begged",
    "commanded",
    "ordered",
    "pronounced",
    "quoth",
    "uttered",
    "mumbled",
    "croaked",
    "sniffed",
    "snorted",
    "exclaim",
    "inquire",
    "whisper",
    "reply",
    "answer",
    "ask",
    "cry",
    "pouted",
    "blustered",
    "recommenced",
    "accosted",
];
/// Words before a name that make it an object, not the speaker.
const EN_PREPOSITIONS: &[&str] = &[
    "to",
    "at",
    "with",
    "for",
    "of",
    "from",
    "by",
    "towards",
    "toward",
    "on",
    "upon",
    "about",
    "into",
    "than",
    "like",
    "after",
    "before",
    "behind",
    "beside",
    "near",
    "against",
    "addressing",
    "answering",
    "asking",
    "telling",
];
const ZH_VERBS: &[&str] = &[
    "说道",
    "笑道",
    "问道",
    "答道",
    "喊道",
    "叫道",
    "骂道",
    "叹道",
    "嚷道",
    "哭道",
    "冷笑道",
    "回答",
    "说",
    "道",
    "问",
    "答",
    "喊",
    "叫",
    "嚷",
    "骂",
    "叹",
    "吼",
    "笑",
    "插嘴",
    "解释",
    "补充",
    "告诉",
    "念叨",
    "嘟囔",
    "喃喃",
    "安慰",
    "埋怨",
    "提醒",
    "吩咐",
    "命令",
    "劝",
    "央求",
    "反驳",
    "追问",
    "称赞",
    "开口",
    "应",
    "嘀咕",
];
const EN_TITLES: &[&str] = &[
    "Mr.",
    "Mrs.",
    "Miss",
    "Ms.",
    "Dr.",
    "Mr",
    "Mrs",
    "Lady",
    "Lord",
    "Sir",
    "Madame",
    "Monsieur",
    "Mademoiselle",
    "Mlle.",
    "Mme.",
    "Captain",
    "Colonel",
    "Major",
    "General",
    "Aunt",
    "Uncle",
    "Father",
    "Mother",
    "Professor",
    "King",
    "Queen",
    "Prince",
    "Princess",
    "Duchess",
    "Duke",
    "Count",
    "Countess",
    "Baron",
    "Baroness",
    "Mister",
];
pub(crate) const EN_STOP: &[&str] = &[
    "The",
    "A",
    "An",
    "He",
    "She",
    "It",
    "I",
    "We",
    "You",
    "They",
    "His",
    "Her",
    "Its",
    "Their",
    "Our",
    "My",
    "Your",
    "But",
    "And",
    "Or",
    "Then",
    "There",
    "This",
    "That",
    "These",
    "Those",
    "What",
    "When",
    "Where",
    "Why",
    "How",
    "Who",
    "Whom",
    "Oh",
    "Ah",
    "Yes",
    "No",
    "Well",
    "So",
    "If",
    "In",
    "On",
    "At",
    "As",
    "For",
    "With",
    "To",
    "Of",
    "By",
    "Not",
    "Now",
    "Here",
    "Do",
    "Did",
    "Does",
    "Is",
    "Was",
    "Are",
    "Were",
    "Be",
    "Let",
    "All",
    "One",
    "Some",
    "After",
    "Before",
    "While",
    "Though",
    "Although",
    "Yet",
    "Still",
    "Even",
    "Only",
    "Just",
    "Perhaps",
    "Indeed",
    "Nay",
    "Ay",
    "Dear",
    "Good",
    "Very",
    "Come",
    "Go",
    "Chapter",
    "CHAPTER",
    "Mr",
    "Mrs",
    "Sir",
    "Madam",
    "Ma'am",
    "God",
    "Heaven",
    "Lord",
    "O",
    "Alas",
    "Nothing",
    "Nobody",
    "Everybody",
    "Somebody",
    "Everything",
    "Why",
    "Upon",
    "From",
    "Into",
    "Out",
    "Up",
    "Down",
    "Over",
    "Under",
    "Again",
    "Never",
    "Always",
    "Once",
    "Twice",
    "Whatever",
    "However",
    "Besides",
    "Meanwhile",
    "Presently",
    "Suddenly",
    "Certainly",
    "Of",
    "Hush",
    "Pray",
    "Thank",
    "Thanks",
    "Good-bye",
    "Goodbye",
    "Hullo",
    "Hello",
    "Mamma",
    "Papa",
    "English",
    "French",
    "Monday",
    "Sunday",
    "Saturday",
    "Christmas",
    "Me",
    "Him",
    "Us",
    "Them",
    "Don't",
    "I'm",
    "I'll",
    "I've",
    "I'd",
    "It's",
    "That's",
    "There's",
];
const ZH_STOP_3RD: &str = "不说道问也就又都在把对和笑便却还才一了的是有这那忙连只向看听低大小着地得回答喊叫嚷骂叹吼想走站坐拉接望瞧转抬点摇冷";

/// Characters that do not begin a name, and words that look like names but are not.
const ZH_NOT_FIRST: &str = "他她我你您这那有一又便也没不谁说听笑只因如此就还却可但而且并把被让叫给在从向对和与同跟等些个里上下中来去到着了过得地的人都自大众已正忽又再才将要会能想看回答问喊叫道刚便其些所当于是该既若虽";
const ZH_NOT_SECOND: &str = "着了过都也又便就却只是的地得不没在把被向对说道问笑";
const ZH_NOT_NAMES: &[&str] = &[
    "众人", "大家", "自己", "孩子", "母亲", "父亲", "老人", "女人", "男人", "先生", "太太", "姑娘", "丫头", "小姐",
    "媳妇", "老爷", "奶奶",
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Gender {
    Male,
    Female,
}

struct Para {
    range: Range<usize>,
}

struct Quote {
    /// Paragraph of the first part (a quote can run over several paragraphs).
    start_para: usize,
    /// Paragraph of the last part.
    para: usize,
    parts: Vec<Range<usize>>,
}

struct Names {
    /// alias (as written) → canonical name.
    alias: HashMap<String, String>,
    gender: HashMap<String, Gender>,
    /// Lower-cased alias → canonical name, for `Winnie-the-pooh` vs `Winnie-the-Pooh`.
    lower: HashMap<String, String>,
    /// Longest alias in characters, for scanning Chinese text.
    max_chars: usize,
    zh: bool,
}

impl Names {
    fn canonical(&self, s: &str) -> Option<&str> {
        if let Some(c) = self.alias.get(s) {
            return Some(c);
        }
        let t = s.strip_prefix("the ").or_else(|| s.strip_prefix("The ")).unwrap_or(s);
        if let Some(c) = self.alias.get(t) {
            return Some(c);
        }
        if let Some(c) = self.lower.get(&t.to_lowercase()) {
            return Some(c);
        }
        // "Mr. Woodhouse's": the possessive names the person too.
        let t = t.strip_suffix("'s").or_else(|| t.strip_suffix("’s"))?;
        self.canonical(t)
    }

    /// Names mentioned in `s` with their byte offsets.
    fn mentions(&self, s: &str) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        if self.zh {
            let idx: Vec<(usize, char)> = s.char_indices().collect();
            let mut i = 0;
            while i < idx.len() {
                let mut found = None;
                for len in (1..=self.max_chars.min(idx.len() - i)).rev() {
                    let end = if i + len < idx.len() { idx[i + len].0 } else { s.len() };
                    if let Some(c) = self.alias.get(&s[idx[i].0..end]) {
                        found = Some((len, c.clone()));
                        break;
                    }
                }
                match found {
                    Some((len, c)) => {
                        out.push((idx[i].0, c));
                        i += len;
                    }
                    None => i += 1,
                }
            }
        } else {
            for (pos, name) in en_name_spans(s) {
                if let Some(c) = self.canonical(name) {
                    out.push((pos, c.to_owned()));
                }
            }
        }
        out
    }
}

fn is_title(w: &str) -> bool {
    EN_TITLES.contains(&w)
}

fn is_cap_word(w: &str) -> bool {
    w.chars().next().is_some_and(char::is_uppercase) && w.chars().any(char::is_lowercase)
        || (w.len() >= 2 && w.chars().all(|c| c.is_uppercase() || c == '.') && w != "I")
}

/// Words of `s` with byte offsets; words keep inner apostrophes, hyphens and
/// the period of a title.
fn words(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        let inword = c.is_alphanumeric() || c == '\'' || c == '’' || c == '-';
        match (inword, start) {
            (true, None) => start = Some(i),
            (false, Some(st)) => {
                let w = &s[st..i];
                let w = if c == '.' && is_title(&s[st..i + 1]) {
                    &s[st..i + 1]
                } else {
                    w
                };
                out.push((st, w.trim_end_matches(['\'', '’', '-'])));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(st) = start {
        out.push((st, s[st..].trim_end_matches(['\'', '’', '-'])));
    }
    out
}

/// Capitalised name-like spans: `Mr. Knightley`, `Emma Woodhouse`, `the Hatter`.
fn en_name_spans(s: &str) -> Vec<(usize, &str)> {
    let ws = words(s);
    let mut out = Vec::new();
    let mut i = 0;
    while i < ws.len() {
        let (pos, w) = ws[i];
        let starts = is_title(w) || (is_cap_word(w) && !EN_STOP.contains(&w));
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < ws.len() && j - i < 4 {
            let (p, w2) = ws[j];
            let gap = &s[ws[j - 1].0 + ws[j - 1].1.len()..p];
            if gap.trim().is_empty() && is_cap_word(w2) && !EN_STOP.contains(&w2) {
                j += 1;
            } else {
                break;
            }
        }
        if is_title(w) && j == i + 1 && !(i > 0 && ws[i - 1].1.eq_ignore_ascii_case("the")) {
            i += 1;
            continue;
        }
        let end = ws[j - 1].0 + ws[j - 1].1.len();
        // Include a preceding "the" for titles used as names (the Hatter).
        let start = if i > 0 && ws[i - 1].1.eq_ignore_ascii_case("the") && j == i + 1 {
            ws[i - 1].0
        } else {
            pos
        };
        out.push((start, &s[start..end]));
        i = j;
    }
    out
}

fn en_pronoun(w: &str) -> Option<Gender> {
    match w {
        "he" | "He" => Some(Gender::Male),
        "she" | "She" => Some(Gender::Female),
        _ => None,
    }
}

fn zh_pronoun(s: &str) -> Option<Gender> {
    if s.starts_with('他') {
        Some(Gender::Male)
    } else if s.starts_with('她') {
        Some(Gender::Female)
    } else {
        None
    }
}

/// Who speaks according to a narration clause next to a quote.
#[derive(Debug, Clone, PartialEq)]
enum Subject {
    Name(String),
    Pronoun(Gender),
    /// "I said": the narrator.
    Narrator,
}

fn has_en_verb(w: &str) -> bool {
    let w = w.to_ascii_lowercase();
    if EN_VERBS.contains(&w.as_str()) {
        return true;
    }
    // "saying", "whispering", "exclaim": other forms of a listed verb.
    let stem = w.strip_suffix("ing").unwrap_or(&w);
    stem.len() >= 3
        && [
            format!("{stem}ed"),
            format!("{stem}d"),
            format!("{stem}s"),
            format!("{stem}ied"),
            format!("{}ied", stem.strip_suffix('y').unwrap_or("-")),
        ]
        .iter()
        .any(|f| f != &w && EN_VERBS.contains(&f.as_str()))
}

/// A past-tense word that can carry speech right after a quote
/// (`"…," Mrs. Gradgrind considered`, `"…!" pouted Louisa`).
fn is_past_verb(w: &str) -> bool {
    w.len() > 3 && w.ends_with("ed") && w.chars().all(|c| c.is_ascii_lowercase())
        || has_en_verb(w) && w.chars().next().is_some_and(char::is_lowercase)
}

/// English: find the speaker in the clause after a quote (`said Emma`,
/// `Emma said`, `he replied`) or before it (`Emma turned and said,`).
fn en_subject(names: &Names, clause: &str, after: bool) -> Option<(Subject, bool)> {
    let ws = words(clause);
    let ws: Vec<(usize, &str)> = if after { ws.into_iter().take(10).collect() } else { ws };
    let verb = ws.iter().position(|(_, w)| has_en_verb(w));
    // The subject starting at word k, with the index of its last word.
    let name_at = |k: usize| -> Option<(Subject, usize)> {
        let (p, w) = ws[k];
        if let Some(g) = en_pronoun(w) {
            return Some((Subject::Pronoun(g), k));
        }
        if w == "I" {
            return Some((Subject::Narrator, k));
        }
        if let Some((np, n)) = en_name_spans(&clause[p..]).into_iter().next() {
            if np == 0 || (np <= 4 && clause[p..p + np].trim().eq_ignore_ascii_case("the")) {
                let end = p + np + n.len();
                let last = ws.iter().rposition(|(q, _)| *q < end).unwrap_or(k);
                return names.canonical(n).map(|c| (Subject::Name(c.to_owned()), last));
            }
        }
        // "said the cook": a lower-case description the cast lists as a name.
        if after && k > 0 && ws[k - 1].1 == "the" && w.chars().all(|c| c.is_lowercase() || c == '-') {
            return names.canonical(w).map(|c| (Subject::Name(c.to_owned()), k));
        }
        None
    };
    let plain_gap = |k: usize| k > 0 && clause[ws[k - 1].0 + ws[k - 1].1.len()..ws[k].0].trim().is_empty();
    if after && !ws.is_empty() {
        // `was Mrs. Weston's parting injunction`
        if ws[0].1 == "was" && ws.len() > 1 {
            if let Some((s @ Subject::Name(_), _)) = name_at(1) {
                return Some((s, true));
            }
        }
        // `Mrs. Gradgrind considered`, `Mr. Bounderby put in`
        if let Some((s, last)) = name_at(0) {
            if let Some(&(_, w)) = ws.get(last + 1) {
                if plain_gap(last + 1) && (is_past_verb(w) || w == "put" || w == "broke") {
                    return Some((s, true));
                }
            }
        }
        // `pouted Louisa`, `ejaculated the General`
        if ws.len() > 1 && is_past_verb(ws[0].1) && plain_gap(1) {
            let k = if ws[1].1 == "the" && ws.len() > 2 { 2 } else { 1 };
            if let Some((s, _)) = name_at(k) {
                return Some((s, true));
            }
        }
    }
    if let Some(v) = verb {
        if after {
            // "said Emma" / "said the Hatter" / "said the gallant Mr. Elton" / "said he"
            if v + 1 < ws.len() {
                if let Some((s, _)) = name_at(v + 1) {
                    return Some((s, true));
                }
                if ws[v + 1].1 == "the" {
                    #[allow(clippy::needless_range_loop)]
                    for k in v + 2..(v + 5).min(ws.len()) {
                        if !plain_gap(k) {
                            break;
                        }
                        if let Some((s, _)) = name_at(k) {
                            return Some((s, true));
                        }
                        let (_, w) = ws[k];
                        if !w.chars().all(|c| c.is_lowercase() || c == '-') {
                            break;
                        }
                    }
                }
            }
        }
        if after {
            for k in 0..v {
                if let Some((s, _)) = name_at(k) {
                    return Some((s, true));
                }
            }
            return None;
        }
        // Before the quote the speaker is the subject nearest the last speech
        // verb (`While he talked to Isabella, Emma found an opportunity of saying`),
        // not a name after a preposition (`Emma turned to Harriet and said`).
        let v = ws.iter().rposition(|(_, w)| has_en_verb(w)).unwrap_or(v);
        let mut best = None;
        let mut k = 0;
        while k < v {
            match name_at(k) {
                Some((s, last)) => {
                    let object = k > 0 && EN_PREPOSITIONS.contains(&ws[k - 1].1.to_ascii_lowercase().as_str());
                    if !object && last < v {
                        best = Some(s);
                    }
                    k = last + 1;
                }
                None => k += 1,
            }
        }
        return best.map(|s| (s, true));
    }
    // No speech verb: a name acting in the sentence before the quote.
    if !after {
        for k in 0..ws.len().min(4) {
            if let Some((s @ Subject::Name(_), _)) = name_at(k) {
                return Some((s, false));
            }
        }
    }
    None
}

fn zh_has_verb(clause: &str) -> bool {
    ZH_VERBS.iter().any(|v| clause.contains(v))
}

/// Chinese: the subject at the start of the sentence (或 the first name in it).
fn zh_subject(names: &Names, clause: &str, after: bool) -> Option<(Subject, bool)> {
    let verb = zh_has_verb(clause);
    let c = clause.trim_start_matches(|ch: char| !is_cjk(ch) || "，。：；、“”".contains(ch));
    let c = [
        "这时", "于是", "接着", "只见", "然后", "忽然", "突然", "随后", "此时", "那时",
    ]
    .iter()
    .find_map(|p| c.strip_prefix(p))
    .map(|r| r.trim_start_matches('，'))
    .unwrap_or(c);
    let ms = names.mentions(c);
    if let Some((0, n)) = ms.first() {
        return Some((Subject::Name(n.clone()), verb));
    }
    if let Some(g) = zh_pronoun(c) {
        if verb {
            return Some((Subject::Pronoun(g), true));
        }
    }
    if c.starts_with('我') && verb {
        return Some((Subject::Narrator, true));
    }
    if verb || !after {
        if let Some((_, n)) = ms.first() {
            return Some((Subject::Name(n.clone()), verb));
        }
    }
    None
}

/// Scan one paragraph for quotations; `open` carries a quote left open at the
/// end of the previous paragraph.
fn scan_quotes(s: &str, base: usize, style: (char, char), open: &mut bool) -> Vec<Range<usize>> {
    let (o, c) = style;
    let mut out = Vec::new();
    let mut start = if *open {
        // A continued quote re-opens with the opening mark.
        let t = s.trim_start();
        if t.starts_with(o) {
            Some(s.len() - t.len() + o.len_utf8())
        } else {
            *open = false;
            None
        }
    } else {
        None
    };
    let skip = start.unwrap_or(0);
    for (i, ch) in s[skip..].char_indices().map(|(i, ch)| (i + skip, ch)) {
        match start {
            None if ch == o => {
                // A straight quote followed by a space is a closing quote of nothing.
                start = Some(i + ch.len_utf8());
            }
            Some(st) if ch == c && i >= st => {
                if i > st {
                    out.push(base + st..base + i);
                }
                start = None;
            }
            _ => {}
        }
    }
    *open = false;
    if let Some(st) = start {
        if st < s.len() {
            out.push(base + st..base + s.trim_end().len());
        }
        *open = true;
    }
    out
}

fn quote_style(text: &str) -> (char, char) {
    let sample = crate::ingest::text::prefix(text, 1 << 20);
    let (mut curly, mut corner, mut straight, mut single) = (0, 0, 0, 0);
    for ch in sample.chars() {
        match ch {
            '“' => curly += 1,
            '「' => corner += 1,
            '"' => straight += 1,
            '‘' => single += 1,
            _ => {}
        }
    }
    if single > curly * 2 && single > straight && single > corner {
        ('‘', '’')
    } else if corner > curly && corner >= straight {
        ('「', '」')
    } else if straight > curly {
        ('"', '"')
    } else {
        ('“', '”')
    }
}

/// Discover names when the cast is not given.
fn discover_names(text: &str, zh: bool) -> HashMap<String, usize> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    if zh {
        // Two or three characters at the start of a clause, before a speech verb.
        for clause in text.split(['。', '！', '？', '，', '；', '\n', '”', '“', '：']) {
            let cs: Vec<char> = clause.trim_start_matches(['\u{3000}', ' ']).chars().take(8).collect();
            if cs.len() < 3 || !cs[..2].iter().all(|&c| is_cjk(c)) {
                continue;
            }
            let rest2: String = cs[2..].iter().collect();
            let rest3: String = cs.get(3..).map(|r| r.iter().collect()).unwrap_or_default();
            let verb_at = |r: &str| ZH_VERBS.iter().any(|v| r.starts_with(v));
            if verb_at(&rest2) {
                *counts.entry(cs[..2].iter().collect()).or_default() += 1;
            }
            if cs.len() > 3 && is_cjk(cs[2]) && !ZH_STOP_3RD.contains(cs[2]) && verb_at(&rest3) {
                *counts.entry(cs[..3].iter().collect()).or_default() += 1;
            }
        }
        counts.retain(|n, c| {
            let mut cs = n.chars();
            let (a, b) = (cs.next().unwrap_or(' '), cs.next().unwrap_or(' '));
            *c >= 2 && !ZH_NOT_FIRST.contains(a) && !ZH_NOT_SECOND.contains(b) && !ZH_NOT_NAMES.contains(&n.as_str())
        });
    } else {
        let mut strong: std::collections::HashSet<String> = std::collections::HashSet::new();
        for line in text.lines() {
            let mut sentence_start = true;
            for (pos, name) in en_name_spans(line) {
                let before = line[..pos].trim_end();
                let initial = before.is_empty() || before.ends_with(['.', '!', '?', '"', '“', '”', ':']);
                if !(initial && sentence_start && !name.contains(' ')) {
                    *counts.entry(name.to_owned()).or_default() += 1;
                }
                // "said Emma" / "Emma replied": a speaker even if named once.
                let prev_word = before.rsplit(|c: char| !c.is_alphabetic()).next().unwrap_or("");
                let after = &line[pos + name.len()..];
                let next_word = after
                    .trim_start()
                    .split(|c: char| !c.is_alphabetic())
                    .next()
                    .unwrap_or("");
                let titled = name.split_whitespace().next().is_some_and(is_title) && name.contains(' ');
                if titled || has_en_verb(prev_word) || (has_en_verb(next_word) && after.starts_with(' ')) {
                    strong.insert(name.to_owned());
                    counts.entry(name.to_owned()).or_default();
                }
                sentence_start = false;
            }
        }
        counts.retain(|n, c| *c >= 3 || strong.contains(n));
    }
    counts
}

fn build_names(text: &str, zh: bool, hints: &[CastHint]) -> Names {
    let mut alias = HashMap::new();
    let mut gender = HashMap::new();
    for h in hints {
        let Some(main) = h.aliases.first() else { continue };
        for a in &h.aliases {
            alias.entry(a.clone()).or_insert_with(|| main.clone());
            // "The Mouse" is written "the Mouse" or plain "Mouse" in narration.
            if let Some(bare) = a.strip_prefix("The ").or_else(|| a.strip_prefix("the ")) {
                alias.entry(bare.to_owned()).or_insert_with(|| main.clone());
            }
        }
        match h.gender {
            Some('F') => {
                gender.insert(main.clone(), Gender::Female);
            }
            Some(_) => {
                gender.insert(main.clone(), Gender::Male);
            }
            None => {}
        }
    }
    // A bare surname is the man's: "Bounderby" is "Mr. Bounderby" even when the
    // cast also lists "Bounderby" alone, without a gender, as if another person.
    let solo: Vec<&str> = hints
        .iter()
        .filter(|h| h.aliases.len() == 1 && h.gender.is_none())
        .map(|h| h.aliases[0].as_str())
        .collect();
    let mut surnames: HashMap<&str, Vec<&String>> = HashMap::new();
    for h in hints {
        let Some(main) = h.aliases.first() else { continue };
        for a in &h.aliases {
            let Some(rest) = a.strip_prefix("Mr. ").or_else(|| a.strip_prefix("Mr ")) else {
                continue;
            };
            if !rest.contains(' ') {
                let v = surnames.entry(rest).or_default();
                if !v.contains(&main) {
                    v.push(main);
                }
            }
        }
    }
    for (surname, mains) in surnames {
        if mains.len() == 1 && (!alias.contains_key(surname) || solo.contains(&surname)) {
            alias.insert(surname.to_owned(), mains[0].clone());
        }
    }
    if hints.is_empty() {
        for (n, _) in discover_names(text, zh) {
            alias.insert(n.clone(), n);
        }
        if !zh {
            // "Emma Woodhouse" → also "Emma"; "Mr. Knightley" stays itself.
            let names: Vec<String> = alias.keys().cloned().collect();
            for n in names {
                for (k, v) in [
                    ("Mr.", Gender::Male),
                    ("Mr", Gender::Male),
                    ("Sir", Gender::Male),
                    ("Lord", Gender::Male),
                    ("King", Gender::Male),
                    ("Mrs.", Gender::Female),
                    ("Miss", Gender::Female),
                    ("Lady", Gender::Female),
                    ("Queen", Gender::Female),
                    ("Mrs", Gender::Female),
                    ("Duchess", Gender::Female),
                ] {
                    if n.starts_with(k) || n.starts_with(&format!("the {k}")) {
                        gender.insert(n.clone(), v);
                    }
                }
            }
        }
    }
    let max_chars = alias.keys().map(|k| k.chars().count()).max().unwrap_or(1);
    let mut lower = HashMap::new();
    if !zh {
        for (k, v) in &alias {
            lower.entry(k.to_lowercase()).or_insert_with(|| v.clone());
        }
    }
    Names {
        alias,
        lower,
        gender,
        max_chars,
        zh,
    }
}

/// Guess genders from the pronoun that follows a name in narration.
fn infer_genders(names: &mut Names, paras: &[Para], text: &str) {
    let mut votes: HashMap<String, (u32, u32)> = HashMap::new();
    for p in paras {
        let s = &text[p.range.clone()];
        for (pos, n) in names.mentions(s) {
            let tail = crate::ingest::text::prefix(&s[pos..], 120);
            let v = votes.entry(n).or_default();
            if names.zh {
                let m = tail.find('他');
                let f = tail.find('她');
                match (m, f) {
                    (Some(a), Some(b)) if a < b => v.0 += 1,
                    (Some(_), None) => v.0 += 1,
                    (_, Some(_)) => v.1 += 1,
                    _ => {}
                }
            } else {
                for (_, w) in words(tail).into_iter().skip(1).take(12) {
                    match w {
                        "he" | "his" | "him" | "He" | "His" => {
                            v.0 += 1;
                            break;
                        }
                        "she" | "her" | "She" | "Her" => {
                            v.1 += 1;
                            break;
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    for (n, (m, f)) in votes {
        if names.gender.contains_key(&n) {
            continue;
        }
        if m > f {
            names.gender.insert(n, Gender::Male);
        } else if f > m {
            names.gender.insert(n, Gender::Female);
        }
    }
}

/// Narration of a paragraph: the text outside its quotes.
fn narration_before(text: &str, para: &Range<usize>, q: &Range<usize>, open_len: usize) -> String {
    text[para.start..q.start.saturating_sub(open_len).max(para.start)].to_owned()
}

pub fn parse(c: &mut Collector, hints: &[CastHint]) {
    let text = c.doc.text.as_str();
    let cjk = text.chars().take(4000).filter(|&ch| is_cjk(ch)).count();
    let zh = cjk * 5 > text.chars().take(4000).count();
    let style = quote_style(text);
    let mut paras: Vec<Para> = Vec::new();
    let mut breaks: Vec<usize> = Vec::new(); // paragraph indices that start a scene
    let mut chapter_iter = c.doc.chapter_starts.iter().peekable();
    for (at, line) in super::lines_with_offsets(text) {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        let start = at + super::offset_in(line, t);
        let mut brk = false;
        while chapter_iter.peek().is_some_and(|&&s| s <= start) {
            chapter_iter.next();
            brk = true;
        }
        if brk || (is_heading(t) && !t.contains(style.0)) {
            breaks.push(paras.len());
        }
        paras.push(Para {
            range: start..start + t.len(),
        });
    }
    let mut names = build_names(text, zh, hints);
    infer_genders(&mut names, &paras, text);

    let mut quotes: Vec<Quote> = Vec::new();
    let mut open = false;
    for (pi, p) in paras.iter().enumerate() {
        let was_open = open;
        let parts = scan_quotes(&text[p.range.clone()], p.range.start, style, &mut open);
        if parts.is_empty() {
            continue;
        }
        if was_open {
            if let Some(last) = quotes.last_mut() {
                if last.para + 1 == pi {
                    // The continuation and the paragraph's other parts: the
                    // speech clause there tells who speaks.
                    last.parts.extend(parts);
                    last.para = pi;
                    continue;
                }
            }
        }
        quotes.push(Quote {
            start_para: pi,
            para: pi,
            parts,
        });
    }

    let olen = style.0.len_utf8();
    let clen = style.1.len_utf8();
    let mut next_break = breaks.iter().peekable();
    // Conversation state: recent speakers (None = unknown) and the last addressee.
    let mut recent: Vec<(usize, Option<String>)> = Vec::new();
    let mut last_mentions: Vec<String> = Vec::new();
    let mut addressee: Option<String> = None;
    let mut last_para_seen = 0usize;
    let narrator_tag = if zh { "我" } else { "I" };
    let mut out: Vec<Pending> = Vec::new();
    let subject_of = |clause: &str, is_after: bool| -> Option<(Subject, bool)> {
        if zh {
            zh_subject(&names, clause, is_after)
        } else {
            en_subject(&names, clause, is_after)
        }
    };
    for q in &quotes {
        let mut scene_break = false;
        while next_break.peek().is_some_and(|&&b| b <= q.para) {
            next_break.next();
            scene_break = true;
        }
        let scene_title = scene_break.then(|| text[paras[q.para].range.clone()].chars().take(40).collect::<String>());
        if scene_break {
            recent.clear();
            addressee = None;
        }
        // Mentions in narration since the last quote, for pronouns.
        for p in &paras[last_para_seen.min(q.start_para)..q.start_para] {
            let s = &text[p.range.clone()];
            if !s.contains(style.0) {
                for (_, n) in names.mentions(s) {
                    last_mentions.push(n);
                }
            }
        }
        if last_mentions.len() > 32 {
            last_mentions.drain(..last_mentions.len() - 32);
        }
        // A long stretch of narration ends the exchange.
        if q.para > last_para_seen + 3 {
            recent.clear();
        }
        last_para_seen = q.para + 1;
        let para = &paras[q.para].range;
        let start_para = &paras[q.start_para].range;
        let n = q.parts.len();
        // Narration around the parts: gaps[i] comes before part i, gaps[n] after the last.
        let mut gaps: Vec<String> = Vec::with_capacity(n + 1);
        gaps.push(if q.parts[0].start >= start_para.start + olen {
            narration_before(text, start_para, &q.parts[0], olen)
        } else {
            String::new()
        });
        for w in q.parts.windows(2) {
            let g = safe_slice(text, w[0].end + clen, w[1].start.saturating_sub(olen));
            gaps.push(if g.contains('\n') { String::new() } else { g.to_owned() });
        }
        gaps.push(safe_slice(text, q.parts[n - 1].end + clen, para.end).to_owned());
        // A lead-in on the line before: `他问：`, `Emma smilingly said,`.
        let mut lead_in = false;
        if gaps[0].trim().is_empty() && q.start_para > 0 {
            let prev = text[paras[q.start_para - 1].range.clone()].trim_end();
            if zh {
                if prev.ends_with(['：', ':', '，']) && !prev.contains(style.0) {
                    gaps[0] = prev.to_owned();
                    lead_in = true;
                }
            } else if prev.ends_with([':', ',', '—']) || prev.ends_with("--") {
                let tail = prev.rfind(style.1).map_or(prev, |i| &prev[i + clen..]);
                gaps[0] = tail.trim_end_matches(['-', '—']).to_owned();
            }
        }
        // Chinese prose often puts `她问。` on a line of its own; a line that
        // starts with a name (`晓霞有点结巴地……`) tells who acts right after.
        let mut beat = String::new();
        if zh && gaps[n].trim().is_empty() && q.para + 1 < paras.len() {
            let next = text[paras[q.para + 1].range.clone()].trim_end();
            let lead = next.ends_with(['：', ':']);
            if !next.contains(style.0) && !lead {
                if !lead_in && next.chars().count() <= 20 && zh_has_verb(next) {
                    gaps[n] = next.to_owned();
                } else {
                    beat = next.to_owned();
                }
            }
        } else {
            beat = first_clause(&gaps[n]);
        }
        // Names in the narration of this paragraph, before each part.
        let local: Vec<Vec<String>> = gaps
            .iter()
            .map(|g| names.mentions(g).into_iter().map(|m| m.1).collect())
            .collect();
        let before_clause = |g: &str| -> String {
            let b = g.trim_end();
            b[last_sentence_start(b)..].to_owned()
        };
        // The speech clause of each part: after it (`"…," said Emma`), else
        // before it (`Emma turned and said, "…"`).
        let own: Vec<Option<Subject>> = (0..n)
            .map(|i| {
                subject_of(&first_clause(&gaps[i + 1]), true)
                    .filter(|s| s.1)
                    .or_else(|| subject_of(&before_clause(&gaps[i]), false).filter(|s| s.1))
                    .map(|s| s.0)
            })
            .collect();
        // Parts without a clause of their own belong to the speaker before them
        // in the paragraph, else to the one after.
        let resolved: Vec<Option<Subject>> = (0..n)
            .map(|i| {
                own[..=i]
                    .iter()
                    .rev()
                    .find_map(Clone::clone)
                    .or_else(|| own[i..].iter().find_map(Clone::clone))
            })
            .collect();
        let mut segments: Vec<(Range<usize>, Option<Subject>)> = Vec::new();
        for (i, r) in resolved.into_iter().enumerate() {
            match segments.last_mut() {
                Some((rg, s)) if *s == r => rg.end = i + 1,
                _ => segments.push((i..i + 1, r)),
            }
        }
        for (si, (rg, subj)) in segments.into_iter().enumerate() {
            last_mentions.extend(local[rg.start].iter().cloned());
            let found = match subj {
                Some(s) => Some((s, true)),
                None => subject_of(&before_clause(&gaps[0]), false).or_else(|| after_beat(&names, &beat)),
            };
            let prev_speaker = recent.last().and_then(|r| r.1.clone());
            let alt = if recent.len() >= 2 {
                let a = &recent[recent.len() - 2].1;
                let b = &recent[recent.len() - 1].1;
                match (a, b) {
                    (Some(a), Some(b)) if a != b => Some(a.clone()),
                    _ => None,
                }
            } else {
                None
            };
            let (speaker, method, conf) = match found {
                Some((Subject::Name(n), true)) => (Some(n), Attribution::Explicit, 0.95),
                Some((Subject::Pronoun(g), _)) => {
                    // A name of that gender just before the quote, else the
                    // other person of the exchange, else a recent mention.
                    let by_local = local[rg.start]
                        .iter()
                        .rev()
                        .find(|n| names.gender.get(*n) == Some(&g))
                        .cloned();
                    let by_alt = by_local.or_else(|| alt.clone().filter(|a| names.gender.get(a) == Some(&g)));
                    let by_mention = last_mentions
                        .iter()
                        .rev()
                        .find(|n| names.gender.get(*n) == Some(&g) && Some(*n) != prev_speaker.as_ref())
                        .or_else(|| last_mentions.iter().rev().find(|n| names.gender.get(*n) == Some(&g)))
                        .cloned();
                    match by_alt.or(by_mention) {
                        Some(n) => (Some(n), Attribution::Pronoun, 0.75),
                        None => (None, Attribution::Unknown, 0.0),
                    }
                }
                Some((Subject::Name(n), false)) => (Some(n), Attribution::Mention, 0.65),
                Some((Subject::Narrator, _)) => (Some(narrator_tag.to_owned()), Attribution::Explicit, 0.8),
                None => match (addressee.clone().filter(|a| Some(a) != prev_speaker.as_ref()), alt) {
                    (Some(a), _) => (Some(a), Attribution::Addressee, 0.5),
                    (None, Some(a)) => (Some(a), Attribution::Alternation, 0.5),
                    _ => (None, Attribution::Unknown, 0.0),
                },
            };
            // Quote text: parts joined; span from the first to the last part.
            let parts = &q.parts[rg];
            let joined: Vec<&str> = parts.iter().map(|r| text[r.clone()].trim()).collect();
            let sep = if zh { "" } else { " " };
            let utext = joined.join(sep);
            if utext.trim().is_empty() {
                continue;
            }
            // Who is addressed: a name at the start or end of the quote, set off by a comma.
            let voc = vocative(&names, &utext, zh);
            addressee = voc.clone().filter(|a| Some(a) != speaker.as_ref());
            if let Some(s) = &speaker {
                last_mentions.push(s.clone());
            }
            recent.push((q.para, speaker.clone()));
            out.push(Pending {
                scene: if si == 0 { scene_title.clone() } else { None },
                speaker,
                text: utext,
                range: parts[0].start..parts[parts.len() - 1].end,
                method,
                conf,
                vocative: voc,
                paras: q.start_para..q.para + 1,
                recent_names: recent_distinct(&last_mentions),
            });
        }
        last_mentions.extend(local[n].iter().cloned());
    }
    fill_exchanges(&mut out, if zh { 3 } else { 0 });
    resolve_narrator(&mut out, narrator_tag);
    for p in out {
        if let Some(t) = p.scene {
            c.new_scene(Some(t));
        }
        c.push(
            p.speaker,
            p.text,
            p.range,
            p.method,
            p.conf,
            UtteranceKind::Dialogue,
            Vec::new(),
        );
    }
}

/// An attributed quote before it is handed to the collector.
struct Pending {
    /// Starts a new scene with this title.
    scene: Option<String>,
    speaker: Option<String>,
    text: String,
    range: Range<usize>,
    method: Attribution,
    conf: f32,
    vocative: Option<String>,
    /// Paragraphs the quote spans.
    paras: Range<usize>,
    /// The latest distinct names mentioned before the quote, newest first.
    recent_names: Vec<String>,
}

fn recent_distinct(mentions: &[String]) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for m in mentions.iter().rev() {
        if !v.contains(m) {
            v.push(m.clone());
            if v.len() == 4 {
                break;
            }
        }
    }
    v
}

/// Exchanges: quotes in consecutive paragraphs alternate between two people.
/// Quotes without a clue of their own take their turn from the nearest quote
/// of the exchange whose speaker is known, forwards or backwards.
fn fill_exchanges(out: &mut [Pending], max_gap: usize) {
    let mut i = 0;
    while i < out.len() {
        let mut j = i + 1;
        while j < out.len() && out[j].scene.is_none() && out[j].paras.start <= out[j - 1].paras.end + max_gap {
            j += 1;
        }
        fill_exchange(&mut out[i..j]);
        i = j;
    }
}

fn is_anchor(p: &Pending) -> bool {
    p.speaker.is_some()
        && matches!(
            p.method,
            Attribution::Explicit | Attribution::Pronoun | Attribution::Mention
        )
}

fn fill_exchange(ch: &mut [Pending]) {
    let anchors: Vec<usize> = (0..ch.len()).filter(|&k| is_anchor(&ch[k])).collect();
    if anchors.is_empty() {
        return;
    }
    let mut fills: Vec<(usize, String)> = Vec::new();
    for k in 0..ch.len() {
        if is_anchor(&ch[k]) {
            continue;
        }
        let a = *anchors
            .iter()
            .min_by_key(|&&a| (a.abs_diff(k), a > k))
            .expect("anchors");
        let sa = ch[a].speaker.clone().expect("anchor speaker");
        // The other person: another anchor with a different speaker nearest to
        // `a`, else whom `a` addresses, else a recent name.
        let other = anchors
            .iter()
            .filter(|&&b| ch[b].speaker.as_ref() != Some(&sa))
            .min_by_key(|&&b| b.abs_diff(a))
            .map(|&b| (b, ch[b].speaker.clone().expect("anchor speaker")));
        let sb = match other {
            Some((b, n)) if (b.abs_diff(a)) % 2 == 1 => Some(n),
            Some(_) => None,
            None => None,
        }
        .or_else(|| ch[a].vocative.clone().filter(|v| v != &sa))
        .or_else(|| ch[a.min(k)].recent_names.iter().find(|n| **n != sa).cloned());
        let d = a.abs_diff(k);
        let who = if d % 2 == 0 { Some(sa) } else { sb };
        if let Some(w) = who {
            fills.push((k, w));
        }
    }
    for (k, w) in fills {
        ch[k].speaker = Some(w);
        ch[k].method = Attribution::Alternation;
        ch[k].conf = 0.5;
    }
}

/// A name opening the narration right after a quote (`"…" Emma laughed.`,
/// `“……”晓霞有点结巴地……`): the speaker acting, without a speech verb.
fn after_beat(names: &Names, beat: &str) -> Option<(Subject, bool)> {
    let b = beat.trim_start_matches(|c: char| c.is_whitespace() || ",，—-".contains(c));
    if b.is_empty() {
        return None;
    }
    let (pos, n) = names.mentions(b).into_iter().next()?;
    let lead = &b[..pos];
    (lead.is_empty() || lead.trim().eq_ignore_ascii_case("the")).then_some((Subject::Name(n), false))
}

/// First-person novels: the narrator ("I said") is the person the others
/// address by name in the quotes right before and after the narrator's own.
fn resolve_narrator(out: &mut [Pending], tag: &str) {
    let is_narr = |p: &Pending| p.speaker.as_deref() == Some(tag);
    let mut votes: HashMap<&str, usize> = HashMap::new();
    let mut total = 0;
    for i in 0..out.len() {
        if !is_narr(&out[i]) {
            continue;
        }
        for j in [i.wrapping_sub(1), i + 1] {
            if let Some(p) = out.get(j) {
                if let (false, Some(v)) = (is_narr(p), p.vocative.as_deref()) {
                    *votes.entry(v).or_default() += 1;
                    total += 1;
                }
            }
        }
    }
    let Some((name, n)) = votes.into_iter().max_by_key(|(n, c)| (*c, std::cmp::Reverse(*n))) else {
        return;
    };
    if n < 3 || n * 5 < total * 2 {
        return;
    }
    let name = name.to_owned();
    for p in out.iter_mut() {
        if is_narr(p) {
            p.speaker = Some(name.clone());
        }
    }
}

/// The first clause of the narration after a quote: up to the end of the
/// sentence (a title's or an initial's period does not end it).
fn first_clause(after: &str) -> String {
    let a = after.trim_start_matches([',', '，', ' ', '—', '-']);
    let mut from = 0;
    while let Some(i) = a[from..]
        .find(['.', '!', '?', '。', '！', '？', '；', '“', '"'])
        .map(|i| i + from)
    {
        if a[i..].starts_with('.') {
            let word_start = a[..i].rfind(|c: char| !c.is_alphabetic()).map_or(0, |j| j + 1);
            let w = &a[word_start..=i];
            if is_title(w) || (w.len() == 2 && w.starts_with(|c: char| c.is_ascii_uppercase())) {
                from = i + 1;
                continue;
            }
        }
        return a[..i].to_owned();
    }
    a.to_owned()
}

/// Where the last sentence of `b` starts (a title's period does not end a sentence).
fn last_sentence_start(b: &str) -> usize {
    let body = &b[..b.len() - b.chars().last().map_or(0, char::len_utf8)];
    let mut end = body.len();
    while let Some(i) = body[..end].rfind(['.', '!', '?', '。', '！', '？', '；', ';', '”', '"']) {
        if body[i..].starts_with('.') {
            let word_start = body[..i].rfind(|c: char| !c.is_alphabetic()).map_or(0, |j| j + 1);
            if is_title(&body[word_start..=i]) {
                end = word_start;
                continue;
            }
        }
        return i + body[i..].chars().next().map_or(1, char::len_utf8);
    }
    0
}

/// `text[a..b]` with both ends moved back to char boundaries; empty when a ≥ b.
fn safe_slice(text: &str, a: usize, b: usize) -> &str {
    let b = crate::ingest::text::prefix(text, b).len();
    let a = crate::ingest::text::prefix(text, a.min(b)).len();
    &text[a..b]
}

fn vocative(names: &Names, quote: &str, zh: bool) -> Option<String> {
    let ms = names.mentions(quote);
    for (pos, n) in ms {
        let before = quote[..pos].trim_end();
        let after_start = quote[pos..]
            .find([',', '，', '!', '！', '?', '？', '.', '。'])
            .map(|i| pos + i);
        let at_start = before.is_empty()
            || before.ends_with([',', '，', '!', '！'])
            || (!zh && (before == "Oh" || before == "Yes" || before == "No"));
        let followed = after_start.is_some_and(|i| {
            let between = &quote[pos..i];
            names.mentions(between).len() == 1 && between.chars().count() <= n.chars().count() + 6
        });
        if at_start && followed {
            return Some(n);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cast(groups: &[(&[&str], char)]) -> Names {
        let hints: Vec<CastHint> = groups
            .iter()
            .map(|(a, g)| CastHint {
                aliases: a.iter().map(|s| s.to_string()).collect(),
                gender: Some(*g),
            })
            .collect();
        build_names("", false, &hints)
    }

    fn name(n: &str) -> Option<(Subject, bool)> {
        Some((Subject::Name(n.to_owned()), true))
    }

    #[test]
    fn after_clause_keeps_titles_and_initials() {
        assert_eq!(first_clause(", asked Mr. Gradgrind. \"Yes\""), "asked Mr. Gradgrind");
        assert_eq!(
            first_clause(" retorted Mr. E. W. B. Childers, facing about. More"),
            "retorted Mr. E. W. B. Childers, facing about"
        );
    }

    #[test]
    fn english_speech_clauses() {
        let n = cast(&[
            (&["The Mouse"], 'M'),
            (&["Mr. Elton"], 'M'),
            (&["Mrs. Gradgrind"], 'F'),
            (&["Louisa"], 'F'),
            (&["Emma", "Miss Woodhouse"], 'F'),
            (&["Harriet"], 'F'),
        ]);
        assert_eq!(
            en_subject(&n, "said the Mouse with an important air", true),
            name("The Mouse")
        );
        assert_eq!(en_subject(&n, "said the gallant Mr. Elton", true), name("Mr. Elton"));
        assert_eq!(
            en_subject(&n, "Mrs. Gradgrind considered", true),
            name("Mrs. Gradgrind")
        );
        assert_eq!(en_subject(&n, "pouted Louisa", true), name("Louisa"));
        // The subject nearest the verb, not a name after a preposition.
        assert_eq!(
            en_subject(
                &n,
                "While she talked to Harriet, Emma found an opportunity of saying,",
                false
            ),
            name("Emma")
        );
        assert_eq!(en_subject(&n, "Emma turned to Harriet and said,", false), name("Emma"));
    }

    #[test]
    fn bare_surname_is_the_mister() {
        let hints = vec![
            CastHint {
                aliases: vec!["Bounderby".into()],
                gender: None,
            },
            CastHint {
                aliases: vec!["Josiah Bounderby".into(), "Mr. Bounderby".into()],
                gender: Some('M'),
            },
        ];
        let n = build_names("", false, &hints);
        assert_eq!(n.canonical("Bounderby"), Some("Josiah Bounderby"));
        assert_eq!(n.canonical("Mr. Bounderby's"), Some("Josiah Bounderby"));
    }

    #[test]
    fn quotes_by_two_speakers_in_one_paragraph_are_split() {
        let text = "\"Fibs, fibs!\" interrupted Emma. \"How on earth did you come?\" continued Mr. Elton.\n";
        let d = crate::ingest::import_bytes(
            std::path::Path::new("n.txt"),
            text.as_bytes(),
            &crate::ingest::IngestOptions::default(),
        )
        .expect("doc");
        let hints = vec![
            CastHint {
                aliases: vec!["Emma".into()],
                gender: Some('F'),
            },
            CastHint {
                aliases: vec!["Mr. Elton".into()],
                gender: Some('M'),
            },
        ];
        let s = super::super::extract(
            &[d],
            &super::super::ExtractOptions {
                known_cast: hints,
                layout: Some(super::super::Layout::Novel),
            },
        );
        let got: Vec<Option<&str>> = s.utterances.iter().map(|u| u.speaker.as_deref()).collect();
        assert_eq!(got, vec![Some("Emma"), Some("Mr. Elton")]);
    }
}
