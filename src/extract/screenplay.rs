//! Fountain screenplays: scene headings, character cues with extensions,
//! parentheticals, dual dialogue, transitions, notes and boneyard.

use super::{lines_with_offsets, strip_directions, Attribution, Collector, UtteranceKind};
use crate::text::{is_scene_heading, offset_in};

fn is_transition(t: &str) -> bool {
    (t.starts_with('>') && !t.ends_with('<'))
        || (t.ends_with("TO:") && t == t.to_uppercase())
        || matches!(t, "FADE IN:" | "FADE OUT." | "FADE TO BLACK." | "THE END")
}

/// An all-caps character cue, possibly with extensions: `STEEL (V.O.)`, `BRICK ^`, `@McCLANE`.
pub fn is_character_cue(t: &str) -> bool {
    if t.starts_with('@') {
        return t.len() > 1;
    }
    let name = cue_name(t);
    !name.is_empty()
        && name.len() <= 40
        && name.chars().any(|c| c.is_alphabetic())
        && !name.chars().any(|c| c.is_lowercase())
        && !t.ends_with(':')
        && !t.ends_with('.')
        && !is_scene_heading(t)
        && !is_transition(t)
        && name.split_whitespace().count() <= 5
}

/// The name in a cue without extensions or markers.
fn cue_name(t: &str) -> &str {
    let t = t.trim_start_matches('@').trim_end_matches('^').trim();
    let t = match t.find('(') {
        Some(i) => &t[..i],
        None => t,
    };
    t.trim()
}

/// Remove `[[notes]]` and `/* boneyard */`, keeping byte positions (replaced by spaces).
fn blank_out(text: &str) -> String {
    let mut s = text.to_owned();
    for (open, close) in [("/*", "*/"), ("[[", "]]")] {
        let mut from = 0;
        while let Some(i) = s[from..].find(open).map(|i| i + from) {
            let Some(j) = s[i..].find(close).map(|j| i + j + close.len()) else {
                break;
            };
            // Keep the byte length so offsets stay valid.
            let blank: String = s[i..j]
                .chars()
                .map(|ch| {
                    if ch == '\n' {
                        "\n".to_owned()
                    } else {
                        " ".repeat(ch.len_utf8())
                    }
                })
                .collect();
            s.replace_range(i..j, &blank);
            from = j;
        }
    }
    s
}

pub fn parse(c: &mut Collector) {
    let cleaned = blank_out(&c.doc.text);
    let text = cleaned.as_str();
    let lines: Vec<(usize, &str)> = lines_with_offsets(text).collect();
    let mut i = 0;
    // Title page: `Key: value` lines up to the first blank line.
    if lines.first().is_some_and(|(_, l)| {
        let l = l.trim();
        l.contains(':') && !is_scene_heading(l) && l.split(':').next().is_some_and(|k| k.len() < 20 && !k.is_empty())
    }) {
        while i < lines.len() && !lines[i].1.trim().is_empty() {
            i += 1;
        }
    }
    let mut prev_blank = true;
    while i < lines.len() {
        let (_, raw) = lines[i];
        let t = raw.trim();
        i += 1;
        if t.is_empty() {
            prev_blank = true;
            continue;
        }
        let was_blank = prev_blank;
        prev_blank = false;
        if t.starts_with('#') || t.starts_with('=') || t.starts_with('~') {
            if t.starts_with('#') {
                c.new_scene(Some(t.trim_start_matches('#').trim().to_owned()));
            }
            continue;
        }
        if is_scene_heading(t) {
            let h = t.strip_prefix('.').unwrap_or(t);
            c.new_scene(Some(h.to_owned()));
            continue;
        }
        if is_transition(t) {
            c.context(t.trim_start_matches('>').trim());
            continue;
        }
        let next_text = i < lines.len() && !lines[i].1.trim().is_empty();
        if was_blank && next_text && is_character_cue(t) {
            let name = cue_name(t).to_owned();
            let mut dirs: Vec<String> = Vec::new();
            // Each extension on its own: `(V.O.) (CONT'D)` is two, not `V.O.) (CONT'D`.
            let mut rest = t;
            while let Some(a) = rest.find('(') {
                let Some(b) = rest[a..].find(')').map(|b| a + b) else {
                    break;
                };
                let ext = rest[a + 1..b].trim();
                if !ext.is_empty() {
                    dirs.push(ext.to_owned());
                }
                rest = &rest[b + 1..];
            }
            let mut parts: Vec<&str> = Vec::new();
            let (mut s, mut e) = (usize::MAX, 0);
            while i < lines.len() && !lines[i].1.trim().is_empty() {
                let (lat, lraw) = lines[i];
                let lt = lraw.trim();
                i += 1;
                if lt.starts_with('(') && lt.ends_with(')') {
                    dirs.push(lt[1..lt.len() - 1].to_owned());
                    continue;
                }
                let la = lat + offset_in(lraw, lt);
                s = s.min(la);
                e = la + lt.len();
                parts.push(lt);
            }
            let (clean, more) = strip_directions(&parts.join(" "));
            dirs.extend(more);
            if !clean.is_empty() {
                c.push(
                    Some(name),
                    clean,
                    s..e,
                    Attribution::Tagged,
                    1.0,
                    UtteranceKind::Dialogue,
                    dirs,
                );
            }
            prev_blank = false;
            continue;
        }
        c.context(t.trim_start_matches('!'));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cues() {
        assert!(is_character_cue("STEEL"));
        assert!(is_character_cue("BRICK (V.O.)"));
        assert!(is_character_cue("STEEL ^"));
        assert!(is_character_cue("@McCLANE"));
        assert!(!is_character_cue("CUT TO:"));
        assert!(!is_character_cue("EXT. BRICK'S PATIO - DAY"));
        assert!(!is_character_cue("Steel sits."));
        assert_eq!(cue_name("BRICK (CONT'D) ^"), "BRICK");
    }

    #[test]
    fn boneyard_keeps_length() {
        let s = "a /* gone\n“x” */ b [[note]] c";
        let b = blank_out(s);
        assert_eq!(b.len(), s.len());
        assert!(b.starts_with("a ") && b.ends_with(" c") && !b.contains("note"));
    }
}
