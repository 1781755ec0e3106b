//! Character names: the given cast or names discovered in the text, their
//! aliases and genders, and finding them in a sentence.

use super::*;

/// Chinese aliases longer than this many characters are not looked for.
const MAX_ALIAS_CHARS: usize = 16;

/// Two characters as one number.
fn pair(a: char, b: char) -> u64 {
    (a as u64) << 32 | b as u64
}

/// A canonical name, shared by every mention of it.
pub(crate) type Name = std::sync::Arc<str>;

pub(crate) struct Names {
    /// alias (as written) → canonical name.
    pub(crate) alias: FastMap<String, Name>,
    pub(crate) gender: FastMap<String, Gender>,
    /// Lower-cased alias → canonical name, for `Winnie-the-pooh` vs `Winnie-the-Pooh`.
    pub(crate) lower: FastMap<String, Name>,
    /// First character of the aliases → their lengths in characters (bit n:
    /// an alias of n characters); most positions in Chinese text start none.
    pub(crate) lengths: FastMap<char, u32>,
    /// The first two characters of the aliases of two or more (see [`pair`]).
    pub(crate) pairs: FastSet<u64>,
    pub(crate) zh: bool,
}

impl Names {
    #[cfg(test)]
    pub(crate) fn canonical(&self, s: &str) -> Option<&str> {
        self.canonical_name(s).map(|n| &**n)
    }

    pub(crate) fn canonical_name(&self, s: &str) -> Option<&Name> {
        if let Some(c) = self.alias.get(s) {
            return Some(c);
        }
        let t = s.strip_prefix("the ").or_else(|| s.strip_prefix("The ")).unwrap_or(s);
        if let Some(c) = self.alias.get(t) {
            return Some(c);
        }
        let lower = if t.is_ascii() {
            super::lexicon::with_lowercase(t, |l| self.lower.get(l))
        } else {
            self.lower.get(&t.to_lowercase())
        };
        if let Some(c) = lower {
            return Some(c);
        }
        // "Mr. Woodhouse's": the possessive names the person too.
        let t = t.strip_suffix("'s").or_else(|| t.strip_suffix("’s"))?;
        self.canonical_name(t)
    }

    /// Known names among name-like spans found earlier (English).
    pub(crate) fn mentions_in_spans(&self, spans: &[(usize, &str)]) -> Vec<(usize, Name)> {
        spans
            .iter()
            .filter_map(|&(pos, n)| self.canonical_name(n).map(|c| (pos, c.clone())))
            .collect()
    }

    /// Chinese: the longest alias at the start of `s`: its length in bytes
    /// and the canonical name. Only the lengths some alias with that first
    /// character has are looked up.
    pub(crate) fn zh_alias_at(&self, s: &str) -> Option<(usize, &Name)> {
        let mut cs = s.chars();
        let first = cs.next()?;
        let mut mask = *self.lengths.get(&first)?;
        // Most positions that start with a name's character go on with no
        // name's second character: then only one-character names are left.
        if !cs
            .next()
            .is_some_and(|second| self.pairs.contains(&pair(first, second)))
        {
            mask &= 1 << 1;
            if mask == 0 {
                return None;
            }
        }
        let longest = (u32::BITS - mask.leading_zeros() - 1) as usize;
        // Ends of the first `longest` characters, without allocating.
        let mut ends = [0usize; MAX_ALIAS_CHARS];
        let mut n = 0;
        for e in s.char_indices().skip(1).map(|(i, _)| i).chain([s.len()]) {
            if n == longest {
                break;
            }
            ends[n] = e;
            n += 1;
        }
        (1..=n)
            .rev()
            .filter(|k| mask & (1 << k) != 0)
            .find_map(|k| self.alias.get(&s[..ends[k - 1]]).map(|c| (ends[k - 1], c)))
    }

    /// Names mentioned in `s` with their byte offsets.
    pub(crate) fn mentions(&self, s: &str) -> Vec<(usize, Name)> {
        let mut out = Vec::new();
        if self.zh {
            let mut skip_to = 0;
            for (i, _) in s.char_indices() {
                if i < skip_to {
                    continue;
                }
                if let Some((len, name)) = self.zh_alias_at(&s[i..]) {
                    out.push((i, name.clone()));
                    skip_to = i + len;
                }
            }
        } else {
            for (pos, name) in en_name_spans(s) {
                if let Some(c) = self.canonical_name(name) {
                    out.push((pos, c.clone()));
                }
            }
        }
        out
    }
}

pub(crate) fn is_title(w: &str) -> bool {
    static SET: std::sync::OnceLock<FastSet<&'static str>> = std::sync::OnceLock::new();
    w.as_bytes().first().is_some_and(u8::is_ascii_uppercase) && word_set(EN_TITLES, &SET).contains(w)
}

pub(crate) fn is_cap_word(w: &str) -> bool {
    w.chars().next().is_some_and(char::is_uppercase) && w.chars().any(char::is_lowercase)
        || (w.len() >= 2 && w.chars().all(|c| c.is_uppercase() || c == '.') && w != "I")
}

/// Words of `s` with byte offsets; words keep inner apostrophes, hyphens and
/// the period of a title.
pub(crate) fn words(s: &str) -> Vec<(usize, &str)> {
    Words::new(s).collect()
}

/// The words of a string, lazily (see [`words`]).
#[derive(Clone)]
pub(crate) struct Words<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Words<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        Words { s, pos: 0 }
    }
}

fn in_word(c: char) -> bool {
    c.is_alphanumeric() || c == '\'' || c == '’' || c == '-'
}

impl<'a> Iterator for Words<'a> {
    type Item = (usize, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let s = self.s;
        let bytes = s.as_bytes();
        // Skip to the next word start.
        let mut i = self.pos;
        while i < bytes.len() {
            let b = bytes[i];
            if b < 0x80 {
                if b.is_ascii_alphanumeric() || b == b'\'' || b == b'-' {
                    break;
                }
                i += 1;
            } else {
                let c = s[i..].chars().next()?;
                if in_word(c) {
                    break;
                }
                i += c.len_utf8();
            }
        }
        if i >= bytes.len() {
            self.pos = i;
            return None;
        }
        let st = i;
        let mut stop: Option<char> = None;
        while i < bytes.len() {
            let b = bytes[i];
            if b < 0x80 {
                if !(b.is_ascii_alphanumeric() || b == b'\'' || b == b'-') {
                    stop = Some(b as char);
                    break;
                }
                i += 1;
            } else {
                let c = s[i..].chars().next()?;
                if !in_word(c) {
                    stop = Some(c);
                    break;
                }
                i += c.len_utf8();
            }
        }
        // Skip the stop character too, as the eager version did.
        self.pos = i + stop.map_or(0, char::len_utf8);
        let w = if stop == Some('.') && is_title(&s[st..i + 1]) {
            &s[st..i + 1]
        } else {
            &s[st..i]
        };
        Some((st, w.trim_end_matches(['\'', '’', '-'])))
    }
}

/// Capitalised name-like spans: `Mr. Knightley`, `Emma Woodhouse`, `the Hatter`.
pub(crate) fn en_name_spans(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    // Only a word that begins with a capital can start a name: jump from one
    // capital (or non-ASCII character) to the next instead of reading every word.
    while let Some(off) = bytes[i.min(bytes.len())..]
        .iter()
        .position(|&b| b.is_ascii_uppercase() || b >= 0x80)
    {
        let p = i + off;
        let c = s[p..].chars().next().unwrap_or(' ');
        if !c.is_uppercase() || s[..p].chars().next_back().is_some_and(in_word) {
            i = p + c.len_utf8();
            continue;
        }
        let mut words = Words::new(s);
        words.pos = p;
        let Some((pos, w)) = words.next() else { break };
        i = words.pos;
        if !(is_title(w) || (is_cap_word(w) && !is_stop_word(w))) {
            continue;
        }
        let mut last = (pos, w);
        let mut n = 1;
        while n < 4 {
            let mut ahead = words.clone();
            match ahead.next() {
                Some((p2, w2))
                    if s[last.0 + last.1.len()..p2].trim().is_empty() && is_cap_word(w2) && !is_stop_word(w2) =>
                {
                    last = (p2, w2);
                    n += 1;
                    words = ahead;
                }
                _ => break,
            }
        }
        i = words.pos;
        // The word before: "the" before a title used as a name (the Hatter).
        let before = s[..pos].trim_end_matches(|ch: char| !in_word(ch));
        let prev_start = before
            .rfind(|ch: char| !in_word(ch))
            .map_or(0, |k| k + before[k..].chars().next().map_or(1, char::len_utf8));
        let prev_word = before[prev_start..].trim_end_matches(['\'', '’', '-']);
        let the_before = !before.is_empty() && prev_word.eq_ignore_ascii_case("the");
        if is_title(w) && n == 1 && !the_before {
            continue;
        }
        let end = last.0 + last.1.len();
        // Include a preceding "the" for titles used as names (the Hatter).
        let start = if the_before && n == 1 { prev_start } else { pos };
        out.push((start, &s[start..end]));
    }
    out
}

/// A paragraph and its name-like spans (English), computed once per document.
pub(crate) type NameSpans<'a> = (&'a str, Vec<(usize, &'a str)>);

/// Discover names when the cast is not given.
pub(crate) fn discover_names(text: &str, zh: bool, en_spans: &[NameSpans]) -> HashMap<String, usize> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    if zh {
        // Two or three characters at the start of a clause, before a speech
        // verb, and the two that open a clause: counted per stretch of the
        // book on all cores.
        type Counts<'t> = (FastMap<&'t str, usize>, FastMap<&'t str, usize>);
        fn count(part: &str) -> Counts<'_> {
            let (mut verb_led, mut subjects) = Counts::default();
            for clause in part.split(['。', '！', '？', '，', '；', '\n', '”', '“', '：']) {
                let clause = clause.trim_start_matches(['\u{3000}', ' ']);
                // Byte ends of the first four characters, without allocating.
                let mut ends = [0usize; 4];
                let mut firsts = [' '; 4];
                let mut n = 0;
                for (i, c) in clause.char_indices().take(4) {
                    firsts[n] = c;
                    ends[n] = i + c.len_utf8();
                    n += 1;
                }
                if n < 3 || !is_cjk(firsts[0]) || !is_cjk(firsts[1]) {
                    continue;
                }
                let verb_at = |r: &str| ZH_VERBS.iter().any(|v| r.starts_with(v));
                if verb_at(&clause[ends[1]..]) {
                    *verb_led.entry(&clause[..ends[1]]).or_default() += 1;
                }
                if n > 3 && is_cjk(firsts[2]) && !ZH_STOP_3RD.contains(firsts[2]) && verb_at(&clause[ends[2]..]) {
                    *verb_led.entry(&clause[..ends[2]]).or_default() += 1;
                }
                // The subject of a clause, speaking or not ("少平对着镜子…").
                if is_han(firsts[0]) && is_han(firsts[1]) {
                    *subjects.entry(&clause[..ends[1]]).or_default() += 1;
                }
            }
            (verb_led, subjects)
        }
        let (mut verb_led, mut subjects) = Counts::default();
        let size = text.len().div_ceil(super::super::threads()).max(1 << 16);
        for (v, s) in super::super::par_map(&line_chunks(text, size), |p| count(p)) {
            for (k, n) in v {
                *verb_led.entry(k).or_default() += n;
            }
            for (k, n) in s {
                *subjects.entry(k).or_default() += n;
            }
        }
        counts.extend(verb_led.into_iter().map(|(k, v)| (k.to_owned(), v)));
        let need = if text.len() < 20_000 { 2 } else { 6 };
        let subjects: Vec<(String, usize)> = subjects
            .into_iter()
            .filter(|&(_, c)| c >= need)
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        // A pair of characters that keeps opening clauses is a name too;
        // short texts (a scene, a chapter) need less evidence (`need`).
        for (n, c) in subjects {
            if c >= need && (counts.contains_key(&n) || text.len() < 20_000) {
                *counts.entry(n).or_default() += c;
            }
        }
        counts.retain(|n, c| {
            let mut cs = n.chars();
            let (a, b) = (cs.next().unwrap_or(' '), cs.next().unwrap_or(' '));
            *c >= 2 && !ZH_NOT_FIRST.contains(a) && !ZH_NOT_SECOND.contains(b) && !ZH_NOT_NAMES.contains(&n.as_str())
        });
    } else {
        // Counted as borrowed strings; only the names kept are copied.
        let mut found: FastMap<&str, usize> = FastMap::default();
        let mut strong: FastSet<&str> = FastSet::default();
        // Where a name stands after `in`, `into`, `near`…: a place (`in
        // Longbourn`), which speaks no lines; people are seldom there.
        let mut seen: FastMap<&str, (usize, usize)> = FastMap::default();
        for (line, spans) in en_spans {
            let mut sentence_start = true;
            for &(pos, name) in spans {
                let before = line[..pos].trim_end();
                let initial = before.is_empty() || before.ends_with(['.', '!', '?', '"', '“', '”', ':']);
                if !(initial && sentence_start && !name.contains(' ')) {
                    *found.entry(name).or_default() += 1;
                }
                // "said Emma" / "Emma replied": a speaker even if named once.
                let prev_word = before.rsplit(|c: char| !c.is_alphabetic()).next().unwrap_or("");
                let e = seen.entry(name).or_default();
                e.1 += 1;
                if ["in", "into", "near", "inside", "within", "through", "across", "towards"].contains(&prev_word) {
                    e.0 += 1;
                }
                let after = &line[pos + name.len()..];
                let next_word = after
                    .trim_start()
                    .split(|c: char| !c.is_alphabetic())
                    .next()
                    .unwrap_or("");
                let titled = name.split_whitespace().next().is_some_and(is_title) && name.contains(' ');
                if titled || has_en_verb(prev_word) || (has_en_verb(next_word) && after.starts_with(' ')) {
                    strong.insert(name);
                    found.entry(name).or_default();
                }
                sentence_start = false;
            }
        }
        counts.extend(
            found
                .into_iter()
                .filter(|(n, c)| {
                    let (place, all) = seen.get(n).copied().unwrap_or((0, 1));
                    (*c >= 3 || strong.contains(n)) && !(place >= 2 && place * 4 >= all)
                })
                .map(|(n, c)| (n.to_owned(), c)),
        );
    }
    counts
}

pub(crate) fn build_names(text: &str, zh: bool, hints: &[CastHint], en_spans: &[NameSpans]) -> Names {
    let mut alias = FastMap::default();
    let mut gender = FastMap::default();
    for h in hints {
        let Some(main) = h.aliases.first() else { continue };
        for a in &h.aliases {
            alias.entry(a.clone()).or_insert_with(|| main.clone());
            // "The Mouse" is written "the Mouse" or plain "Mouse" in narration.
            if let Some(bare) = a.strip_prefix("The ").or_else(|| a.strip_prefix("the ")) {
                alias.entry(bare.to_owned()).or_insert_with(|| main.clone());
            }
        }
        // "Christopher Robin - Story", "Anna (child)": a role told apart by a
        // qualifier is written with the plain name in the text.
        for a in &h.aliases {
            if let Some(base) = qualified_base(a) {
                alias.entry(base.to_owned()).or_insert_with(|| main.clone());
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
    // Names found twice that became one: (merged away, kept).
    let mut merged: FastMap<String, String> = FastMap::default();
    if hints.is_empty() {
        let found = discover_names(text, zh, en_spans);
        let times = |n: &str| found.get(n).copied().unwrap_or(0);
        for n in found.keys().cloned() {
            // "Elizabeth's" is Elizabeth, never a person of its own.
            match n
                .strip_suffix("'s")
                .or_else(|| n.strip_suffix("’s"))
                .filter(|b| !b.is_empty())
            {
                Some(base) => {
                    let base = base.to_owned();
                    alias.insert(n, base.clone());
                    alias.entry(base.clone()).or_insert(base);
                }
                None => {
                    alias.insert(n.clone(), n);
                }
            }
        }
        // A bare surname is the man's here too: "Bounderby" and the
        // "Mr. Bounderby" also found are one cast entry, named by the form
        // the book uses more; the title's gender goes with it (below).
        let remap: FastMap<String, String> = if zh {
            FastMap::default()
        } else {
            alias
                .keys()
                .filter_map(|k| {
                    let rest = k.strip_prefix("Mr. ").or_else(|| k.strip_prefix("Mr "))?;
                    if rest.contains(' ') || alias.get(rest).is_none_or(|v| v != rest) {
                        return None;
                    }
                    Some(if times(k) >= times(rest) {
                        (rest.to_owned(), k.clone())
                    } else {
                        (k.clone(), rest.to_owned())
                    })
                })
                .collect()
        };
        for v in alias.values_mut() {
            if let Some(m) = remap.get(v.as_str()) {
                *v = m.clone();
            }
        }
        merged = remap;
        if !zh {
            // "Ralph Denham", "Ralph" and "Denham" are one person: the first
            // name when no other full name found starts with it, the
            // surname when no other ends with it and the book uses it bare
            // more than with "Mr." (else "Hilbery" is the father, "Mr.
            // Hilbery", not "Katharine Hilbery").
            let full: Vec<(&String, &str, &str)> = alias
                .iter()
                .filter(|(k, v)| k == v && times(k) >= 2)
                .filter_map(|(k, _)| {
                    let (f, l) = k.split_once(' ')?;
                    let word = |w: &str| is_cap_word(w) && !is_title(w) && !w.contains(['.', '\'', '’']);
                    (word(f) && word(l)).then_some((k, f, l))
                })
                .collect();
            // Both halves are used alone as names, and neither is a word the
            // book also writes in small letters ("Poor Fanny", "Pooh Bear").
            let halves: Vec<&str> = full.iter().flat_map(|&(_, f, l)| [f, l]).collect();
            let small = lowercase_uses(text, &halves);
            let full: Vec<(&String, &str, &str)> = full
                .into_iter()
                .filter(|&(_, f, l)| {
                    [f, l].iter().all(|h| {
                        alias.get(*h).is_some_and(|v| v == h)
                            && small.get(*h).copied().unwrap_or(0) * 20 <= times(h).max(1)
                    })
                })
                .collect();
            let mut by_part: FastMap<(bool, &str), usize> = FastMap::default();
            for &(_, f, l) in &full {
                *by_part.entry((true, f)).or_default() += 1;
                *by_part.entry((false, l)).or_default() += 1;
            }
            let mut whole: FastMap<String, String> = FastMap::default();
            for &(k, f, l) in &full {
                let parts: Vec<&str> = [(true, f), (false, l)]
                    .into_iter()
                    .filter(|part| by_part[part] == 1 && alias.get(part.1).is_some_and(|v| v == part.1))
                    .map(|p| p.1)
                    .collect();
                // Named by the form the book uses most, as the "Mr." merge above.
                let label = parts
                    .iter()
                    .copied()
                    .fold(k.as_str(), |best, p| if times(p) > times(best) { p } else { best });
                for m in parts.iter().copied().chain([k.as_str()]).filter(|m| *m != label) {
                    whole.insert(m.to_owned(), label.to_owned());
                }
            }
            for v in alias.values_mut() {
                if let Some(m) = whole.get(v.as_str()) {
                    *v = m.clone();
                }
            }
            merged.extend(whole);
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
    // The merged name keeps the title's gender ("Mr. Arobin" → "Arobin").
    for (from, to) in &merged {
        if let Some(&g) = gender.get(from) {
            // Where the name went at last ("Mr. Denham" → "Denham" → "Ralph Denham").
            let to = alias.get(from).unwrap_or(to);
            gender.entry(to.clone()).or_insert(g);
        }
    }
    // One shared string per canonical name.
    let mut interned: FastMap<String, Name> = FastMap::default();
    let alias: FastMap<String, Name> = alias
        .into_iter()
        .map(|(k, v)| {
            let name = interned.entry(v).or_insert_with_key(|v| Name::from(v.as_str())).clone();
            (k, name)
        })
        .collect();
    let mut lower = FastMap::default();
    if !zh {
        for (k, v) in &alias {
            lower.entry(k.to_lowercase()).or_insert_with(|| v.clone());
        }
    }
    let mut lengths: FastMap<char, u32> = FastMap::default();
    let mut pairs: FastSet<u64> = FastSet::default();
    for k in alias.keys() {
        let n = k.chars().count();
        let mut cs = k.chars();
        if let (Some(first), 1..=MAX_ALIAS_CHARS) = (cs.next(), n) {
            *lengths.entry(first).or_default() |= 1 << n;
            if let Some(second) = cs.next() {
                pairs.insert(pair(first, second));
            }
        }
    }
    Names {
        alias,
        lower,
        gender,
        lengths,
        pairs,
        zh,
    }
}

/// How often each of `words` is written in small letters as a word of its
/// own in `text` (past 2 MB, the first 2 MB counted and scaled).
fn lowercase_uses<'w>(text: &str, words: &[&'w str]) -> FastMap<&'w str, usize> {
    const SAMPLE: usize = 2 << 20;
    let sample = &text[..crate::text::floor_boundary(text, SAMPLE.min(text.len()))];
    let bytes = sample.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b >= 0x80;
    let mut counts = FastMap::default();
    for &w in words {
        if counts.contains_key(w) {
            continue;
        }
        let lower = w.to_lowercase();
        let n = memchr::memmem::find_iter(bytes, lower.as_bytes())
            .filter(|&at| {
                let before = at.checked_sub(1).map(|i| bytes[i]);
                let after = bytes.get(at + lower.len()).copied();
                !before.is_some_and(is_word) && !after.is_some_and(is_word)
            })
            .count();
        counts.insert(w, n * text.len() / sample.len().max(1));
    }
    counts
}

/// `text` in stretches of about `size` bytes that end at line ends.
fn line_chunks(text: &str, size: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while rest.len() > size {
        let cut = crate::text::floor_boundary(rest, size);
        let end = rest[cut..].find('\n').map_or(rest.len(), |i| cut + i + 1);
        out.push(&rest[..end]);
        rest = &rest[end..];
    }
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// Guess genders from the pronoun that follows a name in narration.
pub(crate) fn infer_genders(names: &mut Names, paras: &[Para], text: &str, mentions: &[Vec<(usize, Name)>]) {
    // The pronoun after each mention (true: he), on all cores.
    let zh = names.zh;
    let items: Vec<(&Para, &Vec<(usize, Name)>)> =
        paras.iter().zip(mentions).filter(|(_, ms)| !ms.is_empty()).collect();
    let found: Vec<Vec<Option<bool>>> = super::super::par_map(&items, |(p, ms)| {
        let s = &text[p.range.clone()];
        ms.iter()
            .map(|(pos, _)| {
                let tail = crate::text::prefix(&s[*pos..], 120);
                if zh {
                    match (tail.find('他'), tail.find('她')) {
                        (Some(a), Some(b)) => Some(a < b),
                        (Some(_), None) => Some(true),
                        (None, Some(_)) => Some(false),
                        _ => None,
                    }
                } else {
                    Words::new(tail).skip(1).take(12).find_map(|(_, w)| match w {
                        "he" | "his" | "him" | "He" | "His" => Some(true),
                        "she" | "her" | "She" | "Her" => Some(false),
                        _ => None,
                    })
                }
            })
            .collect()
    });
    let mut votes: FastMap<&str, (u32, u32)> = FastMap::default();
    for ((_, ms), found) in items.iter().zip(&found) {
        for ((_, n), he) in ms.iter().zip(found) {
            let v = votes.entry(&**n).or_default();
            match he {
                Some(true) => v.0 += 1,
                Some(false) => v.1 += 1,
                None => {}
            }
        }
    }
    for (n, (m, f)) in votes {
        if names.gender.contains_key(n) {
            continue;
        }
        if m > f {
            names.gender.insert(n.to_owned(), Gender::Male);
        } else if f > m {
            names.gender.insert(n.to_owned(), Gender::Female);
        }
    }
}

/// The plain name of a qualified cast name: `Christopher Robin - Story`,
/// `Anna (child)` → `Christopher Robin`, `Anna`.
fn qualified_base(a: &str) -> Option<&str> {
    let base = if let Some((b, q)) = a.split_once(" - ") {
        (!q.trim().is_empty()).then_some(b)?
    } else if a.ends_with(')') {
        a.split_once(" (")?.0
    } else {
        return None;
    };
    let base = base.trim();
    (!base.is_empty()).then_some(base)
}
