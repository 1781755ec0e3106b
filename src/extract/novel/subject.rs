//! Who speaks, from the narration next to a quote: speech clauses, pronouns,
//! vocatives.

use super::*;

/// Who speaks according to a narration clause next to a quote.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Subject {
    Name(Name),
    Pronoun(Gender),
    /// "I said": the narrator.
    Narrator,
}

/// English: find the speaker in the clause after a quote (`said Emma`,
/// `Emma said`, `he replied`) or before it (`Emma turned and said,`).
pub(crate) fn en_subject(names: &Names, clause: &str, after: bool) -> Option<(Subject, bool)> {
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
                return names.canonical_name(n).map(|c| (Subject::Name(c.clone()), last));
            }
        }
        // "said the cook": a lower-case description the cast lists as a name.
        if after && k > 0 && ws[k - 1].1 == "the" && w.chars().all(|c| c.is_lowercase() || c == '-') {
            return names.canonical_name(w).map(|c| (Subject::Name(c.clone()), k));
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
                    // `than Emma exclaimed`: a name right before the verb is its subject.
                    let object = k > 0 && is_preposition(ws[k - 1].1) && !(last + 1 == v && plain_gap(v));
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

/// Chinese: the subject at the start of the sentence (或 the first name in it).
pub(crate) fn zh_subject(names: &Names, clause: &str, after: bool) -> Option<(Subject, bool)> {
    let verb = zh_has_verb(clause);
    let mut c = zh_clause_start(clause);
    // `当田福军上前握住高老的手时，高老……说`: the subject follows the time clause.
    if let Some(rest) = c.strip_prefix('当').and_then(|r| r.split_once("时，")).map(|(_, r)| r) {
        c = zh_clause_start(rest);
    }
    // Names that are not someone's (`俊武的媳妇李玉玲`).
    let ms: Vec<(usize, Name)> = names
        .mentions(c)
        .into_iter()
        .filter(|(p, _)| {
            names
                .zh_alias_at(&c[*p..])
                .is_none_or(|(l, _)| !c[p + l..].starts_with('的'))
        })
        .collect();
    if let Some((0, n)) = ms.first() {
        return Some((Subject::Name(n.clone()), verb));
    }
    // `他旁边的安锁子突然大声喊叫说`, `懂事的秀莲劝丈夫`: the person a
    // phrase opening the clause ends with.
    if let Some((p, n)) = ms.first() {
        if c[..*p].ends_with('的') && !c[..*p].contains(['，', '“']) {
            return Some((Subject::Name(n.clone()), verb));
        }
    }
    if let Some(g) = zh_pronoun(c) {
        if verb {
            return Some((Subject::Pronoun(g), true));
        }
    }
    if c.starts_with('我') && verb {
        return Some((Subject::Narrator, true));
    }
    // `哭了一会，他呻吟着说`: the subject of the part with the speech verb.
    if verb {
        if let Some(sub) = c.rsplit('，').find(|p| zh_has_verb(p)) {
            let t = zh_clause_start(sub);
            match names.zh_alias_at(t) {
                Some((l, n)) if !t[l..].starts_with('的') => return Some((Subject::Name(n.to_owned()), true)),
                _ => {}
            }
            let head = names
                .mentions(t)
                .into_iter()
                .next()
                .filter(|(p, _)| t[..*p].ends_with('的'));
            if let Some((_, n)) = head {
                return Some((Subject::Name(n), true));
            }
            if let Some(g) = zh_pronoun(t) {
                return Some((Subject::Pronoun(g), true));
            }
        }
    }
    if verb || !after {
        if let Some((_, n)) = ms.first() {
            return Some((Subject::Name(n.clone()), verb));
        }
    }
    None
}

/// A Chinese clause without leading punctuation and connectives (`这时，`).
pub(crate) fn zh_clause_start(clause: &str) -> &str {
    let c = clause.trim_start_matches(|ch: char| !is_cjk(ch) || "，。：；、“”".contains(ch));
    [
        "这时", "于是", "接着", "只见", "然后", "忽然", "突然", "随后", "此时", "那时",
    ]
    .iter()
    .find_map(|p| c.strip_prefix(p))
    .map(|r| r.trim_start_matches('，'))
    .unwrap_or(c)
}

/// Narration of a paragraph: the text outside its quotes.
pub(crate) fn narration_before<'t>(text: &'t str, para: &Range<usize>, q: &Range<usize>, open_len: usize) -> &'t str {
    &text[para.start..q.start.saturating_sub(open_len).max(para.start)]
}

/// A name opening the narration right after a quote (`"…" Emma laughed.`,
/// `“……”晓霞有点结巴地……`): the speaker acting, without a speech verb.
pub(crate) fn after_beat(names: &Names, beat: &str) -> Option<(Subject, bool)> {
    let b = beat.trim_start_matches(|c: char| c.is_whitespace() || ",，—-".contains(c));
    if b.is_empty() {
        return None;
    }
    let (pos, n) = names.mentions(b).into_iter().next()?;
    let lead = &b[..pos];
    (lead.is_empty() || lead.trim().eq_ignore_ascii_case("the")).then_some((Subject::Name(n), false))
}

/// The first clause of the narration after a quote: up to the end of the
/// sentence (a title's or an initial's period does not end it).
pub(crate) fn first_clause(after: &str) -> &str {
    let a = after.trim_start_matches([',', '，', ' ', '—', '-']);
    let mut from = 0;
    while let Some(i) = a[from..]
        .find(['.', '!', '?', '。', '！', '？', '；', '“', '"'])
        .map(|i| i + from)
    {
        if a[i..].starts_with('.') {
            let word_start = a[..i]
                .char_indices()
                .rfind(|(_, c)| !c.is_alphabetic())
                .map_or(0, |(j, c)| j + c.len_utf8());
            let w = &a[word_start..=i];
            if is_title(w) || (w.len() == 2 && w.starts_with(|c: char| c.is_ascii_uppercase())) {
                from = i + 1;
                continue;
            }
        }
        return &a[..i];
    }
    a
}

/// Where the last sentence of `b` starts (a title's period does not end a sentence).
pub(crate) fn last_sentence_start(b: &str) -> usize {
    let body = &b[..b.len() - b.chars().last().map_or(0, char::len_utf8)];
    let mut end = body.len();
    while let Some(i) = body[..end].rfind(['.', '!', '?', '。', '！', '？', '；', ';', '”', '"']) {
        if body[i..].starts_with('.') {
            let word_start = body[..i]
                .char_indices()
                .rfind(|(_, c)| !c.is_alphabetic())
                .map_or(0, |(j, c)| j + c.len_utf8());
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
pub(crate) fn safe_slice(text: &str, a: usize, b: usize) -> &str {
    let b = crate::text::prefix(text, b).len();
    let a = crate::text::prefix(text, a.min(b)).len();
    &text[a..b]
}

pub(crate) fn vocative(names: &Names, quote: &str, zh: bool) -> Option<Name> {
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

/// Names after the pronoun of a speech clause (`他对少安说`, `she said to
/// Emma`): the people spoken to or about, not the speaker.
pub(crate) fn pronoun_objects(names: &Names, clause: &str, zh: bool) -> Vec<Name> {
    if zh {
        return match clause.find(['他', '她']) {
            Some(p) => names.mentions(&clause[p..]).into_iter().map(|m| m.1).collect(),
            None => Vec::new(),
        };
    }
    let ws = words(clause);
    let Some(k) = ws.iter().position(|(_, w)| en_pronoun(w).is_some()) else {
        return Vec::new();
    };
    let from = ws[k].0;
    names
        .mentions(&clause[from..])
        .into_iter()
        .filter(|(p, _)| {
            let before = clause[from..from + p].trim_end();
            let prev = before.rsplit(|c: char| !c.is_alphabetic()).next().unwrap_or("");
            is_preposition(prev)
                || prev == "the" && {
                    let b = before[..before.len() - 3].trim_end();
                    is_preposition(b.rsplit(|c: char| !c.is_alphabetic()).next().unwrap_or(""))
                }
        })
        .map(|m| m.1)
        .collect()
}

/// Chinese: the names that open a clause of `s` (`润叶很快明白，……`), the
/// people acting, not those acted on; `俊武的媳妇` is not 俊武.
pub(crate) fn zh_clause_subjects(names: &Names, s: &str) -> Vec<Name> {
    let mut out = Vec::new();
    for clause in s.split(['。', '！', '？', '；', '，', '：', '“', '”']) {
        let c = zh_clause_start(clause);
        if let Some((len, n)) = names.zh_alias_at(c) {
            if !c[len..].starts_with('的') {
                out.push(n.to_owned());
            }
        }
    }
    out
}
