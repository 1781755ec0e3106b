//! The cast: every speaker with line counts and first appearance, and
//! suggested alias groups for the person to confirm or edit.

use super::{FastMap, FastSet, Utterance, UtteranceKind};
use crate::text::{is_cjk, is_han};
use serde::{Deserialize, Serialize};

/// A character the user (or a data set) already knows: aliases, main name first.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CastHint {
    pub aliases: Vec<String>,
    /// 'M' or 'F' where known.
    #[serde(default)]
    pub gender: Option<char>,
    /// The first-person narrator ("I said"): the app asks who tells the story
    /// when a novel has many such quotes, and the answer is marked here.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub narrator: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct CastMember {
    pub name: String,
    pub lines: usize,
    /// Characters spoken, a rough measure of how much material there is.
    pub chars: usize,
    /// First utterance: its scene and offset in the original text.
    pub first_scene: usize,
    pub first_offset: usize,
    pub first_file: usize,
    pub narrator: bool,
    /// Other names this character seems to go by (suggestions to confirm).
    pub suggested_aliases: Vec<AliasSuggestion>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AliasSuggestion {
    pub alias: String,
    /// Why it was suggested: "contains the name", "said to them N times", …
    pub evidence: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Cast {
    pub members: Vec<CastMember>,
    /// Utterances whose speaker is unknown.
    pub unknown_lines: usize,
}

impl Cast {
    /// Find a member by name or by one of the suggested aliases.
    pub fn find(&self, name: &str) -> Option<&CastMember> {
        self.members
            .iter()
            .find(|m| m.name == name)
            .or_else(|| self.members.iter().find(|m| m.name.eq_ignore_ascii_case(name)))
            .or_else(|| {
                self.members
                    .iter()
                    .find(|m| m.suggested_aliases.iter().any(|a| a.alias == name))
            })
    }
}

const ZH_TITLES: &[&str] = &[
    "贵妃", "皇后", "娘娘", "小主", "贵人", "答应", "常在", "嫔", "妃", "姐姐", "妹妹", "公公", "姑姑", "大人", "格格",
    "福晋", "姑娘", "典药", "哥哥", "王爷", "先生", "太太", "少爷", "小姐", "夫人", "老师",
];

/// Characters that end a word before a title rather than name someone: 请小主, 谢王爷.
const ZH_NOT_PREFIX: &str = "是请对着道谢给跟那知望替犯看害的了在你我他她这各位以之今别叫让和与被把向见为问说告带去来到有没不也都就还又才再吗呢吧啊呀么一二三几个们众诸老小大好多少新";

/// Given-name forms of a Chinese name that others may use: 嬛嬛, 嬛儿, 实初.
fn zh_name_forms(name: &str) -> Vec<String> {
    let nc: Vec<char> = name.chars().collect();
    let mut out = Vec::new();
    if let Some(&last) = nc.last() {
        if nc.len() >= 2 && nc.iter().all(|&c| is_han(c)) {
            out.push(format!("{last}{last}"));
            out.push(format!("{last}儿"));
            if nc.len() == 3 {
                out.push(nc[1..].iter().collect());
            }
        }
    }
    out
}

/// Ways others may address a character: given-name forms (嬛嬛, 嬛儿, 实初)
/// and one character plus a title (莞嫔, 苏公公).
fn zh_candidates(line: &str, forms: &[String]) -> Vec<String> {
    let mut out: Vec<String> = forms.iter().filter(|f| line.contains(f.as_str())).cloned().collect();
    let chars: Vec<char> = line.chars().collect();
    for i in 0..chars.len().saturating_sub(1) {
        // Cheap test first: does a title start at the next character?
        if !matches!(
            chars[i + 1],
            '贵' | '皇'
                | '娘'
                | '小'
                | '答'
                | '常'
                | '嫔'
                | '妃'
                | '姐'
                | '妹'
                | '公'
                | '姑'
                | '大'
                | '格'
                | '福'
                | '典'
                | '哥'
                | '王'
                | '先'
                | '太'
                | '少'
                | '夫'
                | '老'
        ) {
            continue;
        }
        let p = chars[i];
        if !is_han(p) || ZH_NOT_PREFIX.contains(p) {
            continue;
        }
        for t in ZH_TITLES {
            let n = t.chars().count();
            if i + 1 + n <= chars.len() && t.chars().zip(&chars[i + 1..]).all(|(a, &b)| a == b) {
                let mut w = String::with_capacity(3 * (n + 1));
                w.push(p);
                w.push_str(t);
                out.push(w);
                break;
            }
        }
    }
    out
}

fn en_candidates(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut sentence_start = true;
    let mut prev = "";
    for raw in line.split_whitespace() {
        // Most words start in lower case: neither a name nor a title.
        if raw
            .bytes()
            .find(u8::is_ascii_alphanumeric)
            .is_some_and(|b| b.is_ascii_lowercase())
            && raw.is_ascii()
        {
            sentence_start = raw.ends_with(['.', '!', '?', ':', ';', '"']) || raw.ends_with("--");
            prev = "";
            continue;
        }
        let w = raw.trim_matches(|c: char| !c.is_alphanumeric());
        let capital = w.len() > 1
            && w.chars().next().is_some_and(char::is_uppercase)
            && w.chars().skip(1).all(|c| c.is_lowercase());
        let vocative = raw.ends_with([',', '!', '?']);
        if capital && (!sentence_start || vocative) && !super::novel::lexicon::is_stop_word(w) {
            if matches!(
                prev,
                "Mr" | "Mrs" | "Miss" | "Dr" | "Father" | "Aunt" | "Uncle" | "Mister"
            ) {
                out.push(format!("{prev} {w}"));
            } else if !matches!(
                w,
                "Mr" | "Mrs" | "Miss" | "Dr" | "Father" | "Aunt" | "Uncle" | "Mister" | "God" | "Lord" | "Saint"
            ) {
                out.push(w.to_owned());
            }
        }
        sentence_start = raw.ends_with(['.', '!', '?', ':', ';', '"', '—']) || raw.ends_with("--");
        prev = w;
    }
    out
}

/// What candidate aliases look like, to skip most positions cheaply.
struct Shapes<'w> {
    /// First words of two-word candidates ("Mrs" of "Mrs Doyle").
    firsts: FastSet<&'w str>,
    /// Last characters of the candidates.
    lasts: FastSet<char>,
}

/// The members of `wanted` that occur in `text`, each once. Candidates are
/// two or three Han characters, or one or two words, so only those are tried.
fn occurrences<'w>(text: &str, wanted: &FastSet<&'w str>, shapes: &Shapes) -> Vec<&'w str> {
    let mut out: Vec<&'w str> = Vec::new();
    let mut push = |piece: &str| {
        if let Some(&w) = wanted.get(piece) {
            if !out.contains(&w) {
                out.push(w);
            }
        }
    };
    if !text.is_ascii() && text.chars().any(is_cjk) {
        // Only windows that end in the last character of some candidate.
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        for end in 0..chars.len() {
            let (at, c) = chars[end];
            if !shapes.lasts.contains(&c) {
                continue;
            }
            let end_byte = at + c.len_utf8();
            for len in 2..=3 {
                if end + 1 >= len {
                    push(&text[chars[end + 1 - len].0..end_byte]);
                }
            }
        }
    } else {
        let mut words = text
            .split_whitespace()
            .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
            .peekable();
        let mut pair = String::new();
        // Two-word forms ("Mrs Doyle") are tried only after a word that starts one.
        while let Some(w) = words.next() {
            // Every English candidate starts with a capital letter.
            if w.as_bytes().first().is_some_and(u8::is_ascii_lowercase) {
                continue;
            }
            push(w);
            if let Some(next) = words.peek().filter(|_| shapes.firsts.contains(w)) {
                pair.clear();
                pair.push_str(w);
                pair.push(' ');
                pair.push_str(next);
                push(&pair);
            }
        }
    }
    out
}

/// Lines that someone else answers in the same scene, with who answers.
fn answered(utterances: &[Utterance]) -> impl Iterator<Item = (&Utterance, &str)> {
    utterances.windows(2).filter_map(|w| {
        let (prev, cur) = (&w[0], &w[1]);
        match (&prev.speaker, &cur.speaker) {
            (Some(ps), Some(cs)) if ps != cs && prev.scene == cur.scene => Some((prev, cs.as_str())),
            _ => None,
        }
    })
}

/// Count speakers and suggest aliases.
pub fn build(utterances: &[Utterance], hints: &[CastHint]) -> Cast {
    let (mut members, by_name, unknown) = count_speakers(utterances);
    // A novel told in the first person: its unnamed "I" is a narrator the
    // app asks about, when it says enough (not the odd "I" of a quote
    // inside a quote).
    let attributed: usize = members.iter().map(|m| m.lines).sum();
    for m in members.iter_mut().filter(|m| matches!(m.name.as_str(), "I" | "我")) {
        m.narrator |= m.lines >= 10 && m.lines * 50 >= attributed;
    }
    suggest_name_parts(&mut members, hints);
    for (ci, alias, n) in forms_of_address(utterances, &members, &by_name) {
        let m = &mut members[ci];
        if m.suggested_aliases.len() < 8
            && !m
                .suggested_aliases
                .iter()
                .any(|s| s.alias.contains(&alias) || alias.contains(&s.alias))
        {
            m.suggested_aliases.push(AliasSuggestion {
                alias,
                evidence: format!("said to them {n} times just before they answer"),
            });
        }
    }
    members.sort_by(|a, b| b.lines.cmp(&a.lines).then(a.first_offset.cmp(&b.first_offset)));
    Cast {
        members,
        unknown_lines: unknown,
    }
}

/// Every speaker with their lines and first appearance, an index by name,
/// and the number of lines without a speaker.
fn count_speakers(utterances: &[Utterance]) -> (Vec<CastMember>, FastMap<&str, usize>, usize) {
    let mut by_name: FastMap<&str, usize> = FastMap::default();
    let mut members: Vec<CastMember> = Vec::new();
    let mut unknown = 0;
    for u in utterances {
        let Some(name) = u.speaker.as_deref() else {
            unknown += 1;
            continue;
        };
        let i = *by_name.entry(name).or_insert_with(|| {
            members.push(CastMember {
                name: name.to_owned(),
                lines: 0,
                chars: 0,
                first_scene: u.scene,
                first_offset: u.start,
                first_file: u.file,
                narrator: u.kind == UtteranceKind::Narration,
                suggested_aliases: Vec::new(),
            });
            members.len() - 1
        });
        members[i].lines += 1;
        members[i].chars += u.text.chars().count();
    }
    (members, by_name, unknown)
}

/// Names that are parts of each other (孙少平 / 少平, Emma / Emma Woodhouse)
/// and the aliases of the cast list.
fn suggest_name_parts(members: &mut [CastMember], hints: &[CastHint]) {
    let names: Vec<String> = members.iter().map(|m| m.name.clone()).collect();
    for m in members.iter_mut() {
        for other in &names {
            if other != &m.name && other.chars().count() < m.name.chars().count() && other.chars().count() >= 2 {
                let is_part = if m.name.is_ascii() {
                    m.name.split_whitespace().any(|w| w == other) || m.name.ends_with(&format!(" {other}"))
                } else {
                    m.name.ends_with(other.as_str())
                };
                if is_part {
                    m.suggested_aliases.push(AliasSuggestion {
                        alias: other.clone(),
                        evidence: "a shorter form of the name".into(),
                    });
                }
            }
        }
        for h in hints {
            if h.aliases.first() == Some(&m.name) {
                for a in h.aliases.iter().skip(1) {
                    if !m.suggested_aliases.iter().any(|s| &s.alias == a) {
                        m.suggested_aliases.push(AliasSuggestion {
                            alias: a.clone(),
                            evidence: "given in the cast list".into(),
                        });
                    }
                }
            }
        }
    }
}

/// Forms of address: words said to a character just before they answer,
/// kept where they are said to that character far more often than chance
/// (their lift), each for the one character it fits best; strongest first,
/// as (member, alias, times).
fn forms_of_address(
    utterances: &[Utterance],
    members: &[CastMember],
    by_name: &FastMap<&str, usize>,
) -> Vec<(usize, String, usize)> {
    let mut said_to: FastMap<(usize, String), usize> = FastMap::default();
    let mut everywhere: FastMap<&str, usize> = FastMap::default();
    let mut forms_cache: FastMap<usize, Vec<String>> = FastMap::default();
    let pairs: Vec<(&Utterance, usize)> = answered(utterances)
        .filter_map(|(prev, cs)| by_name.get(cs).map(|&ci| (prev, ci)))
        .collect();
    for &(_, ci) in &pairs {
        forms_cache
            .entry(ci)
            .or_insert_with(|| zh_name_forms(&members[ci].name));
    }
    // Candidate forms of address in each answered line, on all cores.
    let per_pair: Vec<Vec<String>> = super::par_map(&pairs, |&(prev, ci)| {
        let mut cands = if !prev.text.is_ascii() && prev.text.chars().any(is_cjk) {
            zh_candidates(&prev.text, forms_cache.get(&ci).map_or(&[][..], Vec::as_slice))
        } else {
            en_candidates(&prev.text)
        };
        cands.sort_unstable();
        cands.dedup();
        cands
    });
    for (&(_, ci), cands) in pairs.iter().zip(per_pair) {
        for c in cands {
            *said_to.entry((ci, c)).or_default() += 1;
        }
    }
    said_to.retain(|_, n| *n >= 2);
    // How often each candidate is in a line that someone else answers.
    let wanted: FastSet<&str> = said_to.keys().map(|(_, a)| a.as_str()).collect();
    let mut answered_total = 0usize;
    let mut answers_by: FastMap<usize, usize> = FastMap::default();
    let shapes = Shapes {
        firsts: wanted.iter().filter_map(|x| x.split_once(' ').map(|p| p.0)).collect(),
        lasts: wanted.iter().filter_map(|x| x.chars().next_back()).collect(),
    };
    let all: Vec<(&Utterance, &str)> = answered(utterances).collect();
    let found = super::par_map(&all, |(prev, _)| occurrences(&prev.text, &wanted, &shapes));
    for ((_, cs), found) in all.iter().zip(found) {
        answered_total += 1;
        if let Some(&ci) = by_name.get(cs) {
            *answers_by.entry(ci).or_default() += 1;
        }
        for a in found {
            *everywhere.entry(a).or_default() += 1;
        }
    }
    let speakers_lower: FastSet<String> = members.iter().map(|m| m.name.to_lowercase()).collect();
    // Lift: how much more likely this character answers a line that holds the alias.
    let lift = |ci: usize, alias: &str, n: usize| -> f64 {
        let total = everywhere.get(alias).copied().unwrap_or(n).max(n) as f64;
        let base = answers_by.get(&ci).copied().unwrap_or(1) as f64 / answered_total.max(1) as f64;
        (n as f64 / total) / base.max(1e-9)
    };
    let mut suggestions: Vec<(usize, String, usize, f64)> = said_to
        .iter()
        .filter(|((_, alias), _)| !speakers_lower.contains(&alias.to_lowercase()))
        .map(|(&(ci, ref a), &n)| (ci, a.clone(), n, lift(ci, a, n)))
        .filter(|s| {
            // Forms built from the name itself (嬛嬛, 清禾, Mrs Doyle) need less evidence.
            let name = &members[s.0].name;
            let related = if name.is_ascii() {
                s.1.split_whitespace()
                    .any(|w| name.split_whitespace().any(|n| n.eq_ignore_ascii_case(w)))
            } else {
                s.1.chars().any(|c| name.contains(c))
            };
            if related {
                s.3 >= 1.2 && s.2 >= 2
            } else {
                s.3 >= 1.8
            }
        })
        .collect();
    // An alias names one person: keep it only for the character it fits best.
    let mut best: FastMap<String, f64> = FastMap::default();
    for s in &suggestions {
        let b = best.entry(s.1.clone()).or_insert(0.0);
        *b = b.max(s.3);
    }
    suggestions.retain(|s| best.get(&s.1).is_some_and(|&b| s.3 >= b));
    suggestions.sort_by(|a, b| {
        (b.3 * (b.2 as f64).ln())
            .total_cmp(&(a.3 * (a.2 as f64).ln()))
            .then(a.1.cmp(&b.1))
    });
    suggestions.into_iter().map(|(c, a, n, _)| (c, a, n)).collect()
}
