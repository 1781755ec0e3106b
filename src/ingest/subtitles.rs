//! SRT and ASS/SSA subtitles: cues with times and, for ASS, the speaker name.
//! Formatting tags (`<i>`, `{\an8}`) are dropped; the text keeps offsets back
//! to the original file.

use super::text::TextBuilder;
use serde::Serialize;
use std::ops::Range;

/// One subtitle cue; `range` is a byte range in the document's normalised text.
#[derive(Debug, Clone, Serialize)]
pub struct Cue {
    pub start_ms: u64,
    pub end_ms: u64,
    /// The speaker, where the file names one (ASS `Name` field).
    pub name: Option<String>,
    #[serde(skip)]
    pub range: Range<usize>,
}

struct Lines<'a> {
    s: &'a str,
    pos: usize,
    chars: usize,
}

/// Lines of the original with their character offsets.
impl<'a> Iterator for Lines<'a> {
    type Item = (&'a str, usize);
    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.s.len() {
            return None;
        }
        let rest = &self.s[self.pos..];
        let end = rest.find('\n').unwrap_or(rest.len());
        let raw = &rest[..end];
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let at = self.chars;
        self.chars += raw.chars().count() + usize::from(end < rest.len());
        self.pos += end + 1;
        Some((line, at))
    }
}

fn lines(s: &str) -> Lines<'_> {
    Lines { s, pos: 0, chars: 0 }
}

/// Parse `HH:MM:SS,mmm` (SRT) or `H:MM:SS.cc` (ASS) into milliseconds.
fn parse_time(t: &str) -> Option<u64> {
    let t = t.trim();
    let (hms, frac) = match t.find([',', '.']) {
        Some(i) => (&t[..i], &t[i + 1..]),
        None => (t, "0"),
    };
    let mut parts = hms.split(':').map(|p| p.trim().parse::<u64>());
    let (h, m, s) = match (parts.next(), parts.next(), parts.next()) {
        (Some(Ok(h)), Some(Ok(m)), Some(Ok(s))) => (h, m, s),
        (Some(Ok(m)), Some(Ok(s)), None) => (0, m, s),
        _ => return None,
    };
    let digits: String = frac.chars().take_while(|c| c.is_ascii_digit()).take(3).collect();
    let ms = match digits.len() {
        0 => 0,
        1 => digits.parse::<u64>().ok()? * 100,
        2 => digits.parse::<u64>().ok()? * 10,
        _ => digits.parse::<u64>().ok()?,
    };
    Some(((h * 60 + m) * 60 + s) * 1000 + ms)
}

/// Push `line` minus markup tags (`<…>` in SRT, `{…}` in both), mapping offsets.
fn push_stripped(out: &mut TextBuilder, line: &str, at: usize, ass: bool) {
    let mut seg_start = 0usize; // byte in line
    let mut seg_char = at;
    let mut chars = at;
    let mut it = line.char_indices().peekable();
    let mut pending = String::new();
    while let Some((i, c)) = it.next() {
        let close = match c {
            '{' => Some('}'),
            '<' if !ass => Some('>'),
            '\\' if ass => {
                if let Some(&(_, n)) = it.peek() {
                    if matches!(n, 'N' | 'n' | 'h') {
                        pending.push_str(&line[seg_start..i]);
                        out.push_from(&pending, seg_char);
                        pending.clear();
                        out.push_synthetic(if n == 'h' { " " } else { "\n" });
                        it.next();
                        chars += 2;
                        seg_start = i + 2;
                        seg_char = chars;
                        continue;
                    }
                }
                None
            }
            _ => None,
        };
        if let Some(close) = close {
            if let Some(j) = line[i..].find(close) {
                pending.push_str(&line[seg_start..i]);
                out.push_from(&pending, seg_char);
                pending.clear();
                let tag = &line[i..i + j + close.len_utf8()];
                chars += tag.chars().count();
                while it.peek().is_some_and(|&(k, _)| k < i + tag.len()) {
                    it.next();
                }
                seg_start = i + tag.len();
                seg_char = chars;
                continue;
            }
        }
        chars += 1;
    }
    pending.push_str(&line[seg_start..]);
    out.push_from(&pending, seg_char);
}

fn finish_cue(out: &mut TextBuilder, cues: &mut Vec<Cue>, start: usize, times: (u64, u64), name: Option<String>) {
    // Drop cues that were only tags.
    if out.as_str()[start..].trim().is_empty() {
        return;
    }
    cues.push(Cue {
        start_ms: times.0,
        end_ms: times.1,
        name,
        range: start..out.len(),
    });
    out.push_synthetic("\n\n");
}

/// Parse SRT. Returns the cue list, or None when nothing looks like a cue.
pub fn parse_srt(original: &str, out: &mut TextBuilder) -> Option<Vec<Cue>> {
    let mut cues = Vec::new();
    let mut cur: Option<(usize, (u64, u64))> = None;
    let mut first_line = true;
    for (line, at) in lines(original) {
        if let Some(arrow) = line.find("-->") {
            if let (Some(a), Some(b)) = (
                parse_time(&line[..arrow]),
                parse_time(line[arrow + 3..].split_whitespace().next().unwrap_or("")),
            ) {
                if let Some((start, times)) = cur.take() {
                    finish_cue(out, &mut cues, start, times, None);
                }
                cur = Some((out.len(), (a, b)));
                first_line = true;
                continue;
            }
        }
        let Some((start, _)) = cur else { continue };
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        // A bare number just before a timing line is the next cue's index.
        if t.bytes().all(|b| b.is_ascii_digit()) && out.len() > start {
            continue;
        }
        if !first_line {
            out.push_synthetic("\n");
        }
        first_line = false;
        push_stripped(out, line, at, false);
    }
    if let Some((start, times)) = cur {
        finish_cue(out, &mut cues, start, times, None);
    }
    (!cues.is_empty()).then_some(cues)
}

/// Parse ASS/SSA `[Events]`. Returns None when there is no dialogue.
pub fn parse_ass(original: &str, out: &mut TextBuilder) -> Option<Vec<Cue>> {
    let mut cues = Vec::new();
    let mut in_events = false;
    let mut fields: Vec<String> = [
        "layer", "start", "end", "style", "name", "marginl", "marginr", "marginv", "effect", "text",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for (line, at) in lines(original) {
        let t = line.trim_start();
        if t.starts_with('[') {
            in_events = t.to_ascii_lowercase().starts_with("[events]");
            continue;
        }
        if !in_events {
            continue;
        }
        if let Some(f) = t.strip_prefix("Format:") {
            fields = f.split(',').map(|s| s.trim().to_ascii_lowercase()).collect();
            continue;
        }
        let Some(rest) = t.strip_prefix("Dialogue:") else {
            continue;
        };
        let n = fields.len().max(1);
        let parts: Vec<&str> = rest.splitn(n, ',').collect();
        if parts.len() < n {
            continue;
        }
        let get = |k: &str| fields.iter().position(|f| f == k).and_then(|i| parts.get(i).copied());
        let (Some(a), Some(b)) = (get("start").and_then(parse_time), get("end").and_then(parse_time)) else {
            continue;
        };
        let name = get("name").map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        let text = parts[n - 1];
        let text_byte = text.as_ptr() as usize - line.as_ptr() as usize;
        let text_at = at + line[..text_byte].chars().count();
        let start = out.len();
        push_stripped(out, text, text_at, true);
        finish_cue(out, &mut cues, start, (a, b), name);
    }
    (!cues.is_empty()).then_some(cues)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::text::map_offset;

    #[test]
    fn srt_cues_and_tags() {
        let srt = "1\r\n00:00:01,000 --> 00:00:02,500\r\n<i>Hello</i> there\r\n\r\n2\r\n00:00:03,000 --> 00:00:04,000\r\n{\\an8}BOB: Hi!\r\nsecond line\r\n";
        let mut b = TextBuilder::default();
        let cues = parse_srt(srt, &mut b).unwrap();
        let (text, anchors) = b.finish();
        assert_eq!(cues.len(), 2);
        assert_eq!(&text[cues[0].range.clone()], "Hello there");
        assert_eq!(&text[cues[1].range.clone()], "BOB: Hi!\nsecond line");
        assert_eq!((cues[1].start_ms, cues[1].end_ms), (3000, 4000));
        let o: Vec<char> = srt.chars().collect();
        let s = map_offset(&text, &anchors, cues[1].range.start);
        assert_eq!(o[s..s + 4].iter().collect::<String>(), "BOB:");
        let th = text.find("there").unwrap();
        let s = map_offset(&text, &anchors, th);
        assert_eq!(o[s..s + 5].iter().collect::<String>(), "there");
    }

    #[test]
    fn ass_names_and_overrides() {
        let ass = "[Script Info]\nTitle: x\n\n[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\nDialogue: 0,0:00:01.00,0:00:02.50,Default,Alice,0,0,0,,{\\an8}Hello, there\\NBob!\nComment: 0,0:00:01.00,0:00:02.50,Default,,0,0,0,,ignored\n";
        let mut b = TextBuilder::default();
        let cues = parse_ass(ass, &mut b).unwrap();
        let (text, anchors) = b.finish();
        assert_eq!(cues.len(), 1);
        assert_eq!(cues[0].name.as_deref(), Some("Alice"));
        assert_eq!(&text[cues[0].range.clone()], "Hello, there\nBob!");
        assert_eq!(cues[0].end_ms, 2500);
        let o: Vec<char> = ass.chars().collect();
        let s = map_offset(&text, &anchors, text.find("Bob").unwrap());
        assert_eq!(o[s..s + 3].iter().collect::<String>(), "Bob");
    }
}
