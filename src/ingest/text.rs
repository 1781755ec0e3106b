//! The normalised text of a document and its map back to the original.
//!
//! Normalisation deletes and rejoins characters (CRLF, hard wraps, footnote
//! markers), so the extractor's offsets are mapped back through anchors: at
//! each anchor a normalised byte offset corresponds to an original character
//! offset, and between anchors the two advance one character for one.

use crate::text::{floor_boundary, is_cjk, is_heading, is_play_cue, speaker_tag, width};
/// Builds normalised text while recording where each piece came from.
#[derive(Debug, Default, Clone)]
pub struct TextBuilder {
    text: String,
    anchors: Vec<(usize, usize)>,
}

impl TextBuilder {
    pub fn with_capacity(n: usize) -> Self {
        TextBuilder {
            text: String::with_capacity(n),
            anchors: Vec::with_capacity(n / 40 + 1),
        }
    }

    /// Append `s`, whose first character is at `orig_char` in the original.
    pub fn push_from(&mut self, s: &str, orig_char: usize) {
        if s.is_empty() {
            return;
        }
        let here = self.text.len();
        match self.anchors.last_mut() {
            Some(last) if last.0 == here => last.1 = orig_char,
            _ => self.anchors.push((here, orig_char)),
        }
        self.text.push_str(s);
    }

    /// Append characters that have no counterpart in the original (separators).
    /// Offsets inside them map to the end of the piece before.
    pub fn push_synthetic(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        if self.anchors.last().is_some_and(|a| a.1 != SYNTHETIC) {
            self.anchors.push((self.text.len(), SYNTHETIC));
        }
        self.text.push_str(s);
    }

    pub fn len(&self) -> usize {
        self.text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn finish(self) -> (String, Vec<(usize, usize)>) {
        (self.text, self.anchors)
    }
}

/// Marks an anchor where synthetic text (a separator) begins.
const SYNTHETIC: usize = usize::MAX;

/// Map a byte offset in the normalised text to a character offset in the original.
pub fn map_offset(text: &str, anchors: &[(usize, usize)], byte: usize) -> usize {
    let byte = byte.min(text.len());
    let i = anchors.partition_point(|a| a.0 <= byte);
    if i == 0 {
        return text[..floor_boundary(text, byte)].chars().count();
    }
    let (nb, oc) = anchors[i - 1];
    if oc == SYNTHETIC {
        // Inside a separator: the position right after the text before it.
        return map_offset(text, &anchors[..i - 1], nb);
    }
    oc + text[nb..floor_boundary(text, byte)].chars().count()
}

/// What normalisation changed, for the import report.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct NormalizeReport {
    pub line_endings_fixed: usize,
    pub wrapped_lines_joined: usize,
    pub footnote_markers_removed: usize,
    pub fullwidth_chars_folded: usize,
}

/// Per-character substitution: fold full-width letters and digits, NBSP.
/// Returns None for characters to delete (zero-width marks).
#[inline]
fn fold(c: char) -> Option<char> {
    match c as u32 {
        0xFF10..=0xFF19 | 0xFF21..=0xFF3A | 0xFF41..=0xFF5A => char::from_u32(c as u32 - 0xFF10 + 0x30),
        0x00A0 => Some(' '),
        0x200B..=0x200D | 0xFEFF | 0x2060 => None,
        _ => Some(c),
    }
}

fn is_circled_marker(c: char) -> bool {
    matches!(c as u32, 0x2460..=0x2487)
}

/// Length in bytes of a bracketed footnote number at the start of `s`,
/// such as `[12]`, `［３］` or `〔4〕`.
fn bracket_marker_len(s: &str) -> Option<usize> {
    let mut it = s.char_indices();
    let (_, open) = it.next()?;
    let close = match open {
        '[' => ']',
        '［' => '］',
        '〔' => '〕',
        _ => return None,
    };
    let mut digits = 0;
    for (i, c) in it {
        if c.is_ascii_digit() || ('０'..='９').contains(&c) {
            digits += 1;
            if digits > 3 {
                return None;
            }
        } else if c == close && digits > 0 {
            return Some(i + c.len_utf8());
        } else {
            return None;
        }
    }
    None
}

struct Line<'a> {
    text: &'a str,
    orig_char: usize,
    width: usize,
}

/// Split into lines on CRLF, CR or LF, remembering each line's original char offset.
fn split_lines<'a>(s: &'a str, report: &mut NormalizeReport) -> Vec<Line<'a>> {
    let mut lines = Vec::with_capacity(s.len() / 40 + 1);
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut chars_before = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\n' || b == b'\r' {
            let text = &s[start..i];
            let n = text.chars().count();
            lines.push(Line {
                text,
                orig_char: chars_before,
                width: 0,
            });
            chars_before += n + 1;
            if b == b'\r' {
                report.line_endings_fixed += 1;
                if i + 1 < bytes.len() && bytes[i + 1] == b'\n' {
                    i += 1;
                    chars_before += 1;
                }
            }
            i += 1;
            start = i;
        } else {
            i += 1;
        }
    }
    lines.push(Line {
        text: &s[start..],
        orig_char: chars_before,
        width: 0,
    });
    lines
}

/// Width of hard-wrapped lines, if the text looks hard-wrapped: most lines end
/// near the same width and blank lines (or indents) separate paragraphs.
fn wrap_width(lines: &[Line]) -> Option<usize> {
    let mut widths: Vec<usize> = lines.iter().filter(|l| l.width > 0).map(|l| l.width).collect();
    if widths.len() < 20 {
        return None;
    }
    widths.sort_unstable();
    let p90 = widths[widths.len() * 9 / 10];
    if !(40..=120).contains(&p90) {
        return None;
    }
    let near = widths.iter().filter(|&&w| w * 100 >= p90 * 75 && w <= p90 + 4).count();
    // Verse: nearly every continuation line starts with a capital letter.
    let (mut cont, mut capital) = (0usize, 0usize);
    for pair in lines.windows(2) {
        if pair[0].width > 0 && pair[1].width > 0 {
            if let Some(c) = pair[1].text.trim_start().chars().next() {
                if c.is_alphabetic() && !is_cjk(c) {
                    cont += 1;
                    capital += c.is_uppercase() as usize;
                }
            }
        }
    }
    if cont >= 20 && capital * 10 >= cont * 7 {
        return None;
    }
    (near * 2 >= widths.len()).then_some(p90)
}

/// A line that begins something of its own: a speaker tag, a heading, a stage direction.
fn starts_block(t: &str) -> bool {
    t.starts_with(['(', '（', '[', '【', '#']) || speaker_tag(t).is_some() || is_heading(t) || is_play_cue(t)
}

fn starts_indented(s: &str) -> bool {
    s.starts_with("  ") || s.starts_with('\u{3000}') || s.starts_with('\t')
}

/// Normalise decoded text: line endings to LF, full-width letters and digits
/// folded, footnote markers removed, hard-wrapped paragraphs rejoined.
pub fn normalize(original: &str) -> (TextBuilder, NormalizeReport) {
    let mut report = NormalizeReport::default();
    let mut lines = split_lines(original, &mut report);
    for l in lines.iter_mut() {
        l.width = width(l.text.trim_end());
    }
    let wrap = wrap_width(&lines);
    let mut out = TextBuilder::with_capacity(original.len());
    let mut buf = String::new();
    for (idx, line) in lines.iter().enumerate() {
        push_line(&mut out, &mut buf, line, &mut report);
        if idx + 1 == lines.len() {
            break;
        }
        let next = &lines[idx + 1];
        let join = wrap.is_some_and(|w| {
            line.width * 10 >= w * 6
                && next.width > 0
                && !starts_indented(next.text)
                && !starts_block(next.text.trim())
                && !line.text.trim_end().ends_with([':', '：'])
        });
        if join {
            report.wrapped_lines_joined += 1;
            let last = line.text.trim_end().chars().last();
            let first = next.text.chars().next();
            let cjk = last.is_some_and(is_cjk) || first.is_some_and(is_cjk);
            if !cjk && !line.text.ends_with(' ') {
                out.push_synthetic(" ");
            }
        } else {
            out.push_synthetic("\n");
        }
    }
    (out, report)
}

fn push_line(out: &mut TextBuilder, buf: &mut String, line: &Line, report: &mut NormalizeReport) {
    // Fast path: nothing to change on this line.
    let clean = if line.text.is_ascii() {
        !line.text.contains('[')
    } else {
        !line
            .text
            .chars()
            .any(|c| fold(c) != Some(c) || is_circled_marker(c) || matches!(c, '[' | '［' | '〔'))
    };
    if clean {
        out.push_from(line.text, line.orig_char);
        return;
    }
    buf.clear();
    let mut seg_start = line.orig_char;
    let mut pos = line.orig_char;
    let lead = line.text.len() - line.text.trim_start().len();
    let mut rest = line.text;
    let mut byte = 0;
    while let Some(c) = rest.chars().next() {
        let at_start = byte <= lead;
        if !at_start {
            if is_circled_marker(c) {
                out.push_from(buf, seg_start);
                buf.clear();
                report.footnote_markers_removed += 1;
                pos += 1;
                seg_start = pos;
                byte += c.len_utf8();
                rest = &rest[c.len_utf8()..];
                continue;
            }
            if let Some(n) = bracket_marker_len(rest) {
                out.push_from(buf, seg_start);
                buf.clear();
                report.footnote_markers_removed += 1;
                pos += rest[..n].chars().count();
                seg_start = pos;
                byte += n;
                rest = &rest[n..];
                continue;
            }
        }
        match fold(c) {
            Some(f) => {
                if f != c {
                    report.fullwidth_chars_folded += 1;
                }
                buf.push(f);
                pos += 1;
            }
            None => {
                out.push_from(buf, seg_start);
                buf.clear();
                pos += 1;
                seg_start = pos;
            }
        }
        byte += c.len_utf8();
        rest = &rest[c.len_utf8()..];
    }
    out.push_from(buf, seg_start);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_map(orig: &str) {
        let (b, _) = normalize(orig);
        let (text, anchors) = b.finish();
        let oc: Vec<char> = orig.chars().collect();
        // Every normalised char that was copied maps to the same char in the original.
        for (i, c) in text.char_indices() {
            let o = map_offset(&text, &anchors, i);
            if c != ' ' && c != '\n' && c.is_ascii() {
                assert_eq!(oc[o], c, "at {i} in {text:?}");
            }
        }
    }

    #[test]
    fn crlf_and_markers_map_back() {
        check_map("a\r\nb\r\nHello⑵ world[12] end\rX");
        let (b, r) = normalize("a\r\nb\r\nHello⑵ world[12] end\rX");
        assert_eq!(b.as_str(), "a\nb\nHello world end\nX");
        assert_eq!(r.footnote_markers_removed, 2);
        assert_eq!(r.line_endings_fixed, 3);
    }

    #[test]
    fn fullwidth_digits_fold() {
        let (b, _) = normalize("第１集 ＡＢ");
        assert_eq!(b.as_str(), "第1集 AB");
    }

    #[test]
    fn hard_wrapped_paragraphs_rejoin() {
        let para = "The quick brown fox jumps over the lazy dog and keeps on running far\naway from the farmer who owns it, because the farmer is very angry now\nabout it.\n\n";
        let text = para.repeat(12);
        let (b, r) = normalize(&text);
        assert!(r.wrapped_lines_joined >= 24, "{r:?}");
        assert!(b
            .as_str()
            .starts_with("The quick brown fox jumps over the lazy dog and keeps on running far away from"));
        check_map(&text);
    }
}
