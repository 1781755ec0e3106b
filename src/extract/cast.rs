//! The cast: every speaker with line counts and first appearance, and
//! suggested alias groups for the person to confirm or edit.

use super::{Utterance, UtteranceKind};
use crate::ingest::text::{is_cjk, is_han};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A character the user (or a data set) already knows: aliases, main name first.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CastHint {
    pub aliases: Vec<String>,
    /// 'M' or 'F' where known.
    #[serde(default)]
    pub gender: Option<char>,
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
            .or_else(|| self.members.iter().find(|m| m.suggested_aliases.iter().any(|a| a.alias == name)))
    }
}

const ZH_TITLES: &[&str] = &[
    "贵妃", "皇后", "太后", "娘娘", "小主", "贵人", "答应", "常在", "嫔", "妃", "姐姐", "妹妹", "公公", "大人", "格格", "阿哥", "福晋", "姑娘",
    "典药", "哥", "姐", "叔", "婶", "嫂", "爷", "奶奶", "老师", "先生", "太太", "少爷", "小姐", "夫人",
];

fn zh_candidates(line: &str, name: &str) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut out = Vec::new();
    let name_chars: Vec<char> = name.chars().collect();
    for i in 0..chars.len() {
        for len in 2..=3 {
            if i + len > chars.len() {
                break;
            }
            let w: String = chars[i..i + len].iter().collect();
            if !chars[i..i + len].iter().all(|&c| is_han(c)) {
                continue;
            }
            let titled = ZH_TITLES.iter().any(|t| w.ends_with(t) && w.chars().count() > t.chars().count());
            // Given-name forms: 嬛嬛, 嬛儿, 清禾
            let given = name_chars.len() >= 2
                && chars[i..i + len].contains(name_chars.last().unwrap_or(&' '))
                && !w.contains(name_chars[0]);
            if titled || given {
                out.push(w);
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
        let w = raw.trim_matches(|c: char| !c.is_alphanumeric());
        let capital = w.len() > 1 && w.chars().next().is_some_and(char::is_uppercase) && w.chars().skip(1).all(|c| c.is_lowercase());
        if capital && !sentence_start {
            if matches!(prev, "Mr" | "Mrs" | "Miss" | "Dr" | "Father" | "Aunt" | "Uncle" | "Mister") {
                out.push(format!("{prev} {w}"));
            } else if !matches!(w, "Mr" | "Mrs" | "Miss" | "Dr" | "Father" | "Aunt" | "Uncle" | "Mister" | "God" | "Lord" | "Saint") {
                out.push(w.to_owned());
            }
        }
        sentence_start = raw.ends_with(['.', '!', '?', ':', ';', '"', '—']) || raw.ends_with("--");
        prev = w;
    }
    out
}

/// Count speakers and suggest aliases.
pub fn build(utterances: &[Utterance], hints: &[CastHint]) -> Cast {
    let mut by_name: HashMap<&str, usize> = HashMap::new();
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
    // Names that are parts of each other: 孙少平 / 少平, Emma / Emma Woodhouse.
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
    // Forms of address: words said to a character just before they answer.
    let mut said_to: HashMap<(usize, String), usize> = HashMap::new();
    let mut everywhere: HashMap<String, usize> = HashMap::new();
    for w in utterances.windows(2) {
        let (prev, cur) = (&w[0], &w[1]);
        let (Some(ps), Some(cs)) = (&prev.speaker, &cur.speaker) else { continue };
        if ps == cs || prev.scene != cur.scene {
            continue;
        }
        let Some(&ci) = by_name.get(cs.as_str()) else { continue };
        let cands = if prev.text.chars().any(is_cjk) { zh_candidates(&prev.text, cs) } else { en_candidates(&prev.text) };
        let mut seen = std::collections::HashSet::new();
        for c in cands {
            if seen.insert(c.clone()) {
                *said_to.entry((ci, c)).or_default() += 1;
            }
        }
    }
    if !said_to.is_empty() {
        for u in utterances {
            let cands = if u.text.chars().any(is_cjk) {
                zh_candidates(&u.text, "")
            } else {
                en_candidates(&u.text)
            };
            let mut seen = std::collections::HashSet::new();
            for c in cands {
                if seen.insert(c.clone()) {
                    *everywhere.entry(c).or_default() += 1;
                }
            }
        }
    }
    let mut suggestions: Vec<(usize, String, usize)> = said_to
        .into_iter()
        .filter(|((ci, alias), n)| {
            let total = everywhere.get(alias).copied().unwrap_or(*n).max(*n);
            *n >= 3 && *n * 2 >= total && !by_name.contains_key(alias.as_str()) && &members[*ci].name != alias
        })
        .map(|((ci, a), n)| (ci, a, n))
        .collect();
    suggestions.sort_by(|a, b| b.2.cmp(&a.2).then(a.1.cmp(&b.1)));
    for (ci, alias, n) in suggestions {
        let m = &mut members[ci];
        if m.suggested_aliases.len() < 12 && !m.suggested_aliases.iter().any(|s| s.alias.contains(&alias) || alias.contains(&s.alias)) {
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
