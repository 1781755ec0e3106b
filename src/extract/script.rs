//! Scripts (`角色：台词`, `NAME: line`) and plays (the speaker on its own line).

use super::play::{inline_cue, is_direction_text, is_stage_line, CueNames};
use super::{lines_with_offsets, strip_directions_with, Attribution, Collector, FastMap, Layout, UtteranceKind};
use crate::text::{is_heading, is_play_cue, offset_in, speaker_tag, tag_at};

fn is_direction_line(t: &str) -> bool {
    let pairs = [
        ('（', '）'),
        ('(', ')'),
        ('[', ']'),
        ('【', '】'),
        ('(', '）'),
        ('（', ')'),
    ];
    pairs.iter().any(|&(o, c)| t.starts_with(o) && t.ends_with(c))
}

fn is_narrator(name: &str) -> bool {
    matches!(
        name.to_lowercase().as_str(),
        "旁白" | "画外音" | "narrator" | "narration" | "voice over" | "v.o." | "字幕"
    )
}

/// Walk a script or play line by line.
pub fn parse(c: &mut Collector, layout: Layout) {
    let text = c.doc.text.as_str();
    let play = layout == Layout::Play;
    let names = if play {
        CueNames::scan(text)
    } else {
        CueNames::default()
    };
    let script_names = if play { FastMap::default() } else { tag_counts(text) };
    // Play: the current cue and the speech lines gathered under it.
    let mut cue: Option<(String, Option<String>)> = None;
    let mut speech: Vec<(usize, usize)> = Vec::new();
    let flush = |c: &mut Collector, cue: &Option<(String, Option<String>)>, speech: &mut Vec<(usize, usize)>| {
        if speech.is_empty() {
            return;
        }
        let (s, e) = (speech[0].0, speech[speech.len() - 1].1);
        let joined: Vec<&str> = speech.iter().map(|&(a, b)| &text[a..b]).collect();
        // Verse has spoken parentheses; a script's brackets are all directions.
        let (clean, mut dirs) = strip_directions_with(&joined.join("\n"), |open, inner| {
            play && !is_direction_text(open, inner)
        });
        speech.clear();
        let Some((name, dir)) = cue else { return };
        if let Some(d) = dir {
            dirs.insert(0, d.clone());
        }
        if clean.is_empty() {
            for d in dirs {
                c.context(d);
            }
            return;
        }
        let kind = if is_narrator(name) {
            UtteranceKind::Narration
        } else {
            UtteranceKind::Dialogue
        };
        c.push(Some(name.clone()), clean, s..e, Attribution::Tagged, 1.0, kind, dirs);
    };
    // Whether the line opens a paragraph: a cue there is believed more readily.
    let mut para_start = true;
    // The line under a scene heading is often its place: `Elsinore. A room…`.
    let mut after_heading = false;
    for (at, raw) in lines_with_offsets(text) {
        let t = raw.trim();
        if t.is_empty() {
            if play {
                flush(c, &cue, &mut speech);
                cue = None;
            }
            para_start = true;
            continue;
        }
        let opens = std::mem::replace(&mut para_start, false);
        let under_heading = std::mem::replace(&mut after_heading, false);
        let t_at = at + offset_in(raw, t);
        if is_heading(t) && speaker_tag(t).is_none_or(|tag| tag.text_start >= t.len()) {
            flush(c, &cue, &mut speech);
            cue = None;
            c.new_scene(Some(t.trim_start_matches('#').trim().to_owned()));
            para_start = true;
            after_heading = true;
            continue;
        }
        if is_direction_line(t) {
            let open = t.chars().next().unwrap_or('(');
            let inner: String = t.chars().skip(1).take(t.chars().count().saturating_sub(2)).collect();
            if play && is_direction_text(open, &inner) {
                // A direction inside a speech does not end it.
                c.context(inner.trim());
                para_start = true;
                continue;
            }
            if !play {
                flush(c, &cue, &mut speech);
                // A narrator inside brackets: （旁白：……）
                if let Some(tag) = speaker_tag(&inner).filter(|tag| is_narrator(tag.name)) {
                    let body = inner[tag.text_start..].trim().to_owned();
                    let start = t_at + t.find(&body).unwrap_or(0);
                    c.push(
                        Some(tag.name.to_owned()),
                        body.clone(),
                        start..start + body.len(),
                        Attribution::Tagged,
                        1.0,
                        UtteranceKind::Narration,
                        Vec::new(),
                    );
                } else {
                    c.context(inner.trim());
                }
                continue;
            }
        }
        if play {
            if let Some(ic) = inline_cue(t)
                .filter(|ic| names.believe_inline(ic.name, opens, raw) && !(under_heading && names.count(ic.name) < 2))
            {
                flush(c, &cue, &mut speech);
                cue = Some((ic.name.to_owned(), ic.direction.map(str::to_owned)));
                push_play_line(c, &mut speech, t_at + ic.text_start, &t[ic.text_start..]);
                continue;
            }
        }
        let tag = speaker_tag(t).or_else(|| {
            // A script line may open with a quotation when its speaker is known.
            tag_at(t, true).filter(|tag| !play && script_names.get(tag.name).is_some_and(|&n| n >= 2))
        });
        // In a play, `Good my lord: how does…` is verse, unless the name is a cue.
        // Nor is a line right under a cue: a cue has a speech.
        let under_cue = cue.is_some() && speech.is_empty() && !opens;
        if let Some(tag) = tag.filter(|tag| !play || (names.believe(tag.name, opens) && !under_cue)) {
            flush(c, &cue, &mut speech);
            let body = &t[tag.text_start..];
            cue = Some((tag.name.to_owned(), tag.direction.map(str::to_owned)));
            if body.is_empty() {
                // Play layout: `Name:` alone, speech follows.
                continue;
            }
            let s = t_at + tag.text_start;
            if play {
                push_play_line(c, &mut speech, s, body);
            } else {
                speech.push((s, t_at + t.len()));
                flush(c, &cue, &mut speech);
                cue = None;
            }
            continue;
        }
        if play && is_play_cue(t) && names.believe(t.trim_end_matches('.'), opens) {
            flush(c, &cue, &mut speech);
            cue = Some((t.trim_end_matches('.').to_owned(), None));
            continue;
        }
        if cue.is_some() && !(play && is_stage_line(t)) {
            if play {
                push_play_line(c, &mut speech, t_at, t);
            } else {
                speech.push((t_at, t_at + t.len()));
            }
            continue;
        }
        flush(c, &cue, &mut speech);
        c.context(t);
        // `Enter Hamlet.` stands before a cue, as a blank line does.
        para_start = play && is_stage_line(t);
    }
    flush(c, &cue, &mut speech);
}

/// Add a line of a speech; an `Exit.` set off at its end (old editions print
/// `Farewell.            Exit.`) is a direction for the scene, not speech.
fn push_play_line(c: &mut Collector, speech: &mut Vec<(usize, usize)>, at: usize, line: &str) {
    let mut end = line.len();
    if let Some(i) = line.find("   ") {
        let tail = line[i..].trim();
        if is_stage_line(tail) {
            c.context(tail);
            end = line[..i].trim_end().len();
        }
    }
    if end > 0 {
        speech.push((at, at + end));
    }
}

/// How often each name stands in a `Name：text` line whose text is not quoted.
fn tag_counts(text: &str) -> FastMap<&str, usize> {
    let mut counts: FastMap<&str, usize> = FastMap::default();
    for line in text.lines() {
        if let Some(tag) = speaker_tag(line.trim()) {
            *counts.entry(tag.name).or_default() += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags() {
        let t = speaker_tag("苏培盛（宣旨）：奉天承运，皇帝诏曰").unwrap();
        assert_eq!((t.name, t.direction), ("苏培盛", Some("宣旨")));
        assert_eq!(
            &"苏培盛（宣旨）：奉天承运，皇帝诏曰"[t.text_start..],
            "奉天承运，皇帝诏曰"
        );
        assert_eq!(
            speaker_tag("MAGS (without looking up): You're late.").unwrap().name,
            "MAGS"
        );
        assert_eq!(
            speaker_tag("First Citizen:").unwrap().text_start,
            "First Citizen:".len()
        );
        assert!(speaker_tag("他说：“我还漂亮吗？”").is_none());
        assert!(speaker_tag("At 10:30 we left.").is_none());
        assert!(speaker_tag("少平对着镜子一照，问：").is_none());
        assert!(speaker_tag("http://example.com").is_none());
    }

    #[test]
    fn headings() {
        for h in [
            "第1幕",
            "第一集",
            "第十二回 宝玉挨打",
            "INT. HOUSE - DAY",
            "EXT. HARBOUR - DAY",
            "ACT II",
            "SCENE 3",
            "EPISODE 1",
        ] {
            assert!(is_heading(h), "{h}");
        }
        for h in [
            "第一次见面我就喜欢上了这个地方，真是奇怪。",
            "Actually, no.",
            "苏培盛：皇上",
        ] {
            assert!(!is_heading(h), "{h}");
        }
        assert!(is_play_cue("HAMLET."));
        assert!(!is_play_cue("I."));
    }
}
