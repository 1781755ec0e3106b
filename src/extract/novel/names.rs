//! Character names: the given cast or names discovered in the text, their
//! aliases and genders, and finding them in a sentence.

use super::*;

pub(crate) struct Names {
    /// alias (as written) → canonical name.
    pub(crate) alias: HashMap<String, String>,
    pub(crate) gender: HashMap<String, Gender>,
    /// Lower-cased alias → canonical name, for `Winnie-the-pooh` vs `Winnie-the-Pooh`.
    pub(crate) lower: HashMap<String, String>,
    /// Longest alias in characters, for scanning Chinese text.
    pub(crate) max_chars: usize,
    pub(crate) zh: bool,
}

impl Names {
    pub(crate) fn canonical(&self, s: &str) -> Option<&str> {
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
    pub(crate) fn mentions(&self, s: &str) -> Vec<(usize, String)> {
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

pub(crate) fn is_title(w: &str) -> bool {
    EN_TITLES.contains(&w)
}

pub(crate) fn is_cap_word(w: &str) -> bool {
    w.chars().next().is_some_and(char::is_uppercase) && w.chars().any(char::is_lowercase)
        || (w.len() >= 2 && w.chars().all(|c| c.is_uppercase() || c == '.') && w != "I")
}

/// Words of `s` with byte offsets; words keep inner apostrophes, hyphens and
/// the period of a title.
pub(crate) fn words(s: &str) -> Vec<(usize, &str)> {
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
pub(crate) fn en_name_spans(s: &str) -> Vec<(usize, &str)> {
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

/// Discover names when the cast is not given.
pub(crate) fn discover_names(text: &str, zh: bool) -> HashMap<String, usize> {
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

pub(crate) fn build_names(text: &str, zh: bool, hints: &[CastHint]) -> Names {
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
pub(crate) fn infer_genders(names: &mut Names, paras: &[Para], text: &str) {
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
