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
    "said", "says", "say", "asked", "asks", "replied", "replies", "answered", "answers", "cried", "cries", "exclaimed",
    "whispered", "shouted", "added", "adds", "continued", "returned", "observed", "remarked", "began", "muttered",
    "murmured", "called", "repeated", "rejoined", "resumed", "interrupted", "declared", "inquired", "enquired",
    "demanded", "retorted", "responded", "explained", "insisted", "suggested", "protested", "screamed", "sighed",
    "laughed", "groaned", "growled", "stammered", "faltered", "pleaded", "urged", "thought", "echoed", "went",
    "yelled", "roared", "sobbed", "snapped", "persisted", "concluded", "ventured", "gasped", "hissed", "breathed",
    "argued", "agreed", "admitted", "assented", "objected", "whimpered", "shrieked", "wondered", "proceeded",
    "pursued", "bawled", "called", "corrected", "warned", "smiled", "nodded", "chuckled", "grumbled", "sang",
];
const ZH_VERBS: &[&str] = &[
    "说道", "笑道", "问道", "答道", "喊道", "叫道", "骂道", "叹道", "嚷道", "哭道", "冷笑道", "回答", "说", "道", "问", "答", "喊",
    "叫", "嚷", "骂", "叹", "吼", "笑", "插嘴", "解释", "补充", "告诉", "念叨", "嘟囔", "喃喃", "安慰", "埋怨", "提醒", "吩咐",
    "命令", "劝", "央求", "反驳", "追问", "称赞", "开口", "应", "嘀咕",
];
const EN_TITLES: &[&str] = &[
    "Mr.", "Mrs.", "Miss", "Ms.", "Dr.", "Mr", "Mrs", "Lady", "Lord", "Sir", "Madame", "Monsieur", "Mademoiselle",
    "Mlle.", "Mme.", "Captain", "Colonel", "Major", "General", "Aunt", "Uncle", "Father", "Mother", "Professor",
    "King", "Queen", "Prince", "Princess", "Duchess", "Duke", "Count", "Countess", "Baron", "Baroness", "Mister",
];
pub(crate) const EN_STOP: &[&str] = &[
    "The", "A", "An", "He", "She", "It", "I", "We", "You", "They", "His", "Her", "Its", "Their", "Our", "My", "Your",
    "But", "And", "Or", "Then", "There", "This", "That", "These", "Those", "What", "When", "Where", "Why", "How",
    "Who", "Whom", "Oh", "Ah", "Yes", "No", "Well", "So", "If", "In", "On", "At", "As", "For", "With", "To", "Of",
    "By", "Not", "Now", "Here", "Do", "Did", "Does", "Is", "Was", "Are", "Were", "Be", "Let", "All", "One", "Some",
    "After", "Before", "While", "Though", "Although", "Yet", "Still", "Even", "Only", "Just", "Perhaps", "Indeed",
    "Nay", "Ay", "Dear", "Good", "Very", "Come", "Go", "Chapter", "CHAPTER", "Mr", "Mrs", "Sir", "Madam", "Ma'am",
    "God", "Heaven", "Lord", "O", "Alas", "Nothing", "Nobody", "Everybody", "Somebody", "Everything", "Why", "Upon",
    "From", "Into", "Out", "Up", "Down", "Over", "Under", "Again", "Never", "Always", "Once", "Twice", "Whatever",
    "However", "Besides", "Meanwhile", "Presently", "Suddenly", "Certainly", "Of", "Hush", "Pray", "Thank", "Thanks",
    "Good-bye", "Goodbye", "Hullo", "Hello", "Mamma", "Papa", "English", "French", "Monday", "Sunday", "Saturday",
    "Christmas", "Me", "Him", "Us", "Them", "Don't", "I'm", "I'll", "I've", "I'd", "It's", "That's", "There's",
];
const ZH_STOP_3RD: &str = "不说道问也就又都在把对和笑便却还才一了的是有这那忙连只向看听低大小着地得回答喊叫嚷骂叹吼想走站坐拉接望瞧转抬点摇冷";

/// Characters that do not begin a name, and words that look like names but are not.
const ZH_NOT_FIRST: &str = "他她我你您这那有一又便也没不谁说听笑只因如此就还却可但而且并把被让叫给在从向对和与同跟等些个里上下中来去到着了过得地的人都自大众已正忽又再才将要会能想看回答问喊叫道刚便其些所当于是该既若虽";
const ZH_NOT_SECOND: &str = "着了过都也又便就却只是的地得不没在把被向对说道问笑";
const ZH_NOT_NAMES: &[&str] = &["众人", "大家", "自己", "孩子", "母亲", "父亲", "老人", "女人", "男人", "先生", "太太", "姑娘", "丫头", "小姐", "媳妇", "老爷", "奶奶"];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Gender {
    Male,
    Female,
}

struct Para {
    range: Range<usize>,
}

struct Quote {
    para: usize,
    parts: Vec<Range<usize>>,
}

struct Names {
    /// alias (as written) → canonical name.
    alias: HashMap<String, String>,
    gender: HashMap<String, Gender>,
    /// Longest alias in characters, for scanning Chinese text.
    max_chars: usize,
    zh: bool,
}

impl Names {
    fn canonical(&self, s: &str) -> Option<&str> {
        if let Some(c) = self.alias.get(s) {
            return Some(c);
        }
        let t = s.strip_prefix("the ").or_else(|| s.strip_prefix("The "))?;
        self.alias.get(t).map(String::as_str)
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
                let w = if c == '.' && is_title(&s[st..i + 1]) { &s[st..i + 1] } else { w };
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
        if is_title(w) && j == i + 1 {
            i += 1;
            continue;
        }
        let end = ws[j - 1].0 + ws[j - 1].1.len();
        // Include a preceding "the" for titles used as names (the Hatter).
        let start = if i > 0 && ws[i - 1].1.eq_ignore_ascii_case("the") && j == i + 1 { ws[i - 1].0 } else { pos };
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
    EN_VERBS.contains(&w.to_ascii_lowercase().as_str())
}

/// English: find the speaker in the clause after a quote (`said Emma`,
/// `Emma said`, `he replied`) or before it (`Emma turned and said,`).
fn en_subject(names: &Names, clause: &str, after: bool) -> Option<(Subject, bool)> {
    let ws = words(clause);
    let ws: Vec<(usize, &str)> = if after { ws.into_iter().take(10).collect() } else { ws };
    let verb = ws.iter().position(|(_, w)| has_en_verb(w));
    let name_at = |k: usize| -> Option<Subject> {
        let (p, w) = ws[k];
        if let Some(g) = en_pronoun(w) {
            return Some(Subject::Pronoun(g));
        }
        if w == "I" {
            return Some(Subject::Narrator);
        }
        for (np, n) in en_name_spans(&clause[p..]) {
            if np == 0 || (np <= 4 && clause[p..p + np].trim().eq_ignore_ascii_case("the")) {
                return names.canonical(n).map(|c| Subject::Name(c.to_owned()));
            }
            break;
        }
        None
    };
    if let Some(v) = verb {
        if after {
            // "said Emma" / "said the Hatter" / "said he"
            if v + 1 < ws.len() {
                let k = if ws[v + 1].1 == "the" && v + 2 < ws.len() { v + 2 } else { v + 1 };
                if let Some(s) = name_at(k).or_else(|| if k != v + 1 { name_at(v + 1) } else { None }) {
                    return Some((s, true));
                }
            }
            for k in 0..v {
                if let Some(s) = name_at(k) {
                    return Some((s, true));
                }
            }
        } else {
            for k in 0..v {
                if let Some(s) = name_at(k) {
                    return Some((s, true));
                }
            }
        }
        return None;
    }
    // No speech verb: a name acting in the sentence before the quote.
    if !after {
        for k in 0..ws.len().min(4) {
            if let Some(s @ Subject::Name(_)) = name_at(k) {
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
    let c = ["这时", "于是", "接着", "只见", "然后", "忽然", "突然", "随后", "此时", "那时"]
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
                let next_word = after.trim_start().split(|c: char| !c.is_alphabetic()).next().unwrap_or("");
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
        }
        if let Some(g) = h.gender {
            gender.insert(main.clone(), if g == 'F' { Gender::Female } else { Gender::Male });
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
                for (k, v) in [("Mr.", Gender::Male), ("Mr", Gender::Male), ("Sir", Gender::Male), ("Lord", Gender::Male), ("King", Gender::Male), ("Mrs.", Gender::Female), ("Miss", Gender::Female), ("Lady", Gender::Female), ("Queen", Gender::Female), ("Mrs", Gender::Female), ("Duchess", Gender::Female)] {
                    if n.starts_with(k) || n.starts_with(&format!("the {k}")) {
                        gender.insert(n.clone(), v);
                    }
                }
            }
        }
    }
    let max_chars = alias.keys().map(|k| k.chars().count()).max().unwrap_or(1);
    Names { alias, gender, max_chars, zh }
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
        paras.push(Para { range: start..start + t.len() });
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
                    last.parts.push(parts[0].clone());
                    last.para = pi;
                    if parts.len() > 1 {
                        quotes.push(Quote { para: pi, parts: parts[1..].to_vec() });
                    }
                    continue;
                }
            }
        }
        quotes.push(Quote { para: pi, parts });
    }

    let olen = style.0.len_utf8();
    let mut next_break = breaks.iter().peekable();
    // Conversation state: recent speakers (None = unknown) and the last addressee.
    let mut recent: Vec<(usize, Option<String>)> = Vec::new();
    let mut last_mentions: Vec<String> = Vec::new();
    let mut addressee: Option<String> = None;
    let mut last_para_seen = 0usize;
    for q in &quotes {
        let qpara = q.para + 1 - q.parts.len().min(q.para + 1);
        let _ = qpara;
        let mut scene_break = false;
        while next_break.peek().is_some_and(|&&b| b <= q.para) {
            next_break.next();
            scene_break = true;
        }
        if scene_break {
            c.new_scene(Some(text[paras[q.para].range.clone()].chars().take(40).collect()));
            recent.clear();
            addressee = None;
        }
        // Mentions in narration since the last quote, for pronouns.
        for pi in last_para_seen..=q.para {
            let pr = &paras[pi].range;
            let s = &text[pr.clone()];
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
        let first = &q.parts[0];
        let last = &q.parts[q.parts.len() - 1];
        let mut before = if first.start >= para.start + olen {
            narration_before(text, para, first, olen)
        } else {
            String::new()
        };
        let mut after = safe_slice(text, last.end + style.1.len_utf8(), para.end).to_owned();
        // Chinese prose often puts `他问：` or `她问。` on a line of its own.
        if zh && before.trim().is_empty() && q.para > 0 {
            let prev = text[paras[q.para - 1].range.clone()].trim_end();
            if prev.ends_with(['：', ':', '，']) && !prev.contains(style.0) {
                before = prev.to_owned();
            }
        }
        if zh && after.trim().is_empty() && q.para + 1 < paras.len() {
            let next = &text[paras[q.para + 1].range.clone()];
            if next.chars().count() <= 20 && !next.contains(style.0) && zh_has_verb(next) {
                after = next.to_owned();
            }
        }
        let between: Vec<String> = q.parts.windows(2).map(|w| safe_slice(text, w[0].end + style.1.len_utf8(), w[1].start.saturating_sub(olen)).to_owned()).collect();
        // The last sentence of the narration before the quote.
        let before_clause = {
            let b = before.trim_end();
            b[last_sentence_start(b)..].to_owned()
        };
        let subject_of = |clause: &str, is_after: bool| -> Option<(Subject, bool)> {
            if zh {
                zh_subject(&names, clause, is_after)
            } else {
                en_subject(&names, clause, is_after)
            }
        };
        let after_clause: String = {
            let a = after.trim_start_matches([',', '，', ' ', '—', '-']);
            let end = a.find(['.', '!', '?', '。', '！', '？', '；', '“', '"']).unwrap_or(a.len());
            a[..end].to_owned()
        };
        let mut found = subject_of(&after_clause, true).filter(|s| s.1);
        for bw in &between {
            if found.is_none() {
                found = subject_of(bw, true).filter(|s| s.1);
            }
        }
        if found.is_none() {
            found = subject_of(&before_clause, false);
        }
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
                let by_alt = alt.clone().filter(|a| names.gender.get(a) == Some(&g));
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
            Some((Subject::Narrator, _)) => (Some(if zh { "我".to_owned() } else { "I".to_owned() }), Attribution::Explicit, 0.8),
            None => match (addressee.clone().filter(|a| Some(a) != prev_speaker.as_ref()), alt) {
                (Some(a), _) => (Some(a), Attribution::Addressee, 0.5),
                (None, Some(a)) => (Some(a), Attribution::Alternation, 0.5),
                _ => (None, Attribution::Unknown, 0.0),
            },
        };
        // Quote text: parts joined; span from the first to the last part.
        let joined: Vec<&str> = q.parts.iter().map(|r| text[r.clone()].trim()).collect();
        let sep = if zh { "" } else { " " };
        let utext = joined.join(sep);
        if utext.trim().is_empty() {
            continue;
        }
        // Who is addressed: a name at the start or end of the quote, set off by a comma.
        addressee = vocative(&names, &utext, zh).filter(|a| Some(a) != speaker.as_ref());
        if let Some(s) = &speaker {
            last_mentions.push(s.clone());
        }
        recent.push((q.para, speaker.clone()));
        c.push(speaker, utext, first.start..last.end, method, conf, UtteranceKind::Dialogue, Vec::new());
    }
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
        let after_start = quote[pos..].find([',', '，', '!', '！', '?', '？', '.', '。']).map(|i| pos + i);
        let at_start = before.is_empty() || before.ends_with([',', '，', '!', '！']) || (!zh && (before == "Oh" || before == "Yes" || before == "No"));
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
