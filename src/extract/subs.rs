//! Subtitles: speakers from ASS names, `NAME:` prefixes or `- ` dialogue
//! dashes (unknown speakers); long silences break scenes.

use super::{strip_directions, Attribution, Collector, UtteranceKind};
use crate::text::{offset_in, speaker_tag};

/// A silence this long (milliseconds) between cues starts a new scene.
const SCENE_GAP_MS: u64 = 8000;

pub fn parse(c: &mut Collector) {
    let doc = c.doc;
    let mut last_end: Option<u64> = None;
    for cue in &doc.cues {
        if last_end.is_some_and(|e| cue.start_ms.saturating_sub(e) >= SCENE_GAP_MS) {
            c.new_scene(None);
        }
        last_end = Some(cue.end_ms);
        let body = &doc.text[cue.range.clone()];
        // A cue with `- ` lines holds two speakers' lines.
        let dashed = body.lines().filter(|l| l.trim_start().starts_with(['-', '–'])).count() >= 2;
        let mut segments: Vec<(usize, &str)> = Vec::new();
        if dashed {
            for line in body.lines() {
                let l = line.trim();
                if let Some(rest) = l.strip_prefix(['-', '–']) {
                    let r = rest.trim_start();
                    segments.push((offset_in(body, r), r));
                } else if let Some(last) = segments.last_mut() {
                    // Continuation of the previous dash line.
                    let end = offset_in(body, l) + l.len();
                    last.1 = &body[last.0..end];
                }
            }
        } else {
            segments.push((0, body));
        }
        for (off, seg) in segments {
            let start = cue.range.start + off;
            let (speaker, method, conf, text_off) = match (&cue.name, speaker_tag(seg)) {
                (Some(n), _) => (Some(n.clone()), Attribution::Tagged, 0.95, 0),
                (None, Some(tag)) if tag.text_start < seg.len() => {
                    (Some(tag.name.to_owned()), Attribution::Tagged, 0.9, tag.text_start)
                }
                _ => (None, Attribution::Unknown, 0.0, 0),
            };
            let raw = &seg[text_off..];
            let (clean, dirs) = strip_directions(&raw.replace('\n', " "));
            if clean.is_empty() {
                c.context(dirs.join(" "));
                continue;
            }
            let s = start + text_off;
            c.push(
                speaker,
                clean,
                s..start + seg.len(),
                method,
                conf,
                UtteranceKind::Dialogue,
                dirs,
            );
        }
    }
}
