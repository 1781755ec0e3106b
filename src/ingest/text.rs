//! The normalised text of a document and its map back to the original.
//!
//! Normalisation deletes and rejoins characters (CRLF, hard wraps, footnote
//! markers), so the extractor's offsets are mapped back through anchors: at
//! each anchor a normalised byte offset corresponds to an original character
//! offset, and between anchors the two advance one character for one.

use crate::extract::par_map;
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

    /// Append what another builder built, as if its pushes had been made
    /// here. The other builder must begin with text from the original (or
    /// this one end with a separator): a builder that starts empty does not
    /// know whether a separator it begins with follows a separator.
    fn append(&mut self, other: TextBuilder) {
        let base = self.text.len();
        let mut anchors = other.anchors.into_iter().peekable();
        if let (Some(last), Some(first)) = (self.anchors.last_mut(), anchors.peek()) {
            if first.0 == 0 && first.1 != SYNTHETIC && last.0 == base {
                last.1 = first.1;
                anchors.next();
            } else if first.0 == 0 && first.1 == SYNTHETIC && last.1 == SYNTHETIC {
                anchors.next();
            }
        }
        self.anchors.extend(anchors.map(|(b, o)| (b + base, o)));
        self.text.push_str(&other.text);
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
    map_offset_at(text, anchors, byte, anchors.partition_point(|a| a.0 <= byte))
}

/// [`map_offset`] for offsets that mostly grow (the utterances of a book, in
/// order): the anchor search starts at `hint`, where the previous one ended.
pub fn map_offset_near(text: &str, anchors: &[(usize, usize)], byte: usize, hint: &mut usize) -> usize {
    let byte = byte.min(text.len());
    let mut i = (*hint).min(anchors.len());
    if i == 0 || anchors[i - 1].0 <= byte {
        let stop = (i + 16).min(anchors.len());
        while i < stop && anchors[i].0 <= byte {
            i += 1;
        }
        if i < anchors.len() && anchors[i].0 <= byte {
            i = anchors.partition_point(|a| a.0 <= byte);
        }
    } else {
        i = anchors.partition_point(|a| a.0 <= byte);
    }
    *hint = i;
    map_offset_at(text, anchors, byte, i)
}

/// `i` is the number of anchors at or before `byte`.
fn map_offset_at(text: &str, anchors: &[(usize, usize)], byte: usize, i: usize) -> usize {
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

impl NormalizeReport {
    fn add(&mut self, o: &NormalizeReport) {
        self.line_endings_fixed += o.line_endings_fixed;
        self.wrapped_lines_joined += o.wrapped_lines_joined;
        self.footnote_markers_removed += o.footnote_markers_removed;
        self.fullwidth_chars_folded += o.fullwidth_chars_folded;
    }
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

/// Split into lines on CRLF, CR or LF, remembering each line's original char
/// offset (counted from the start of `s`) and its width; also returns the
/// number of chars in `s`. `s` is the whole text
/// or a piece of it that ends just after a line feed; a piece that is not
/// the last one leaves out the empty line after its final line feed (it is
/// the next piece's first line).
fn split_lines<'a>(s: &'a str, last: bool, report: &mut NormalizeReport) -> (Vec<Line<'a>>, usize) {
    let mut lines = Vec::with_capacity(s.len() / 40 + 1);
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut chars_before = 0;
    let push = |lines: &mut Vec<Line<'a>>, text: &'a str, orig_char: usize| {
        lines.push(Line {
            text,
            orig_char,
            width: width(text.trim_end()),
        })
    };
    let mut i = 0;
    while let Some(off) = memchr::memchr2(b'\n', b'\r', &bytes[i..]) {
        i += off;
        let b = bytes[i];
        let text = &s[start..i];
        push(&mut lines, text, chars_before);
        chars_before += text.chars().count() + 1;
        if b == b'\r' {
            report.line_endings_fixed += 1;
            if i + 1 < bytes.len() && bytes[i + 1] == b'\n' {
                i += 1;
                chars_before += 1;
            }
        }
        i += 1;
        start = i;
    }
    if last {
        push(&mut lines, &s[start..], chars_before);
    }
    (lines, chars_before + s[start..].chars().count())
}

/// [`split_lines`] on all cores: the text is cut in pieces just after line
/// feeds, each piece split on its own, and the char offsets of the pieces
/// after the first moved by the chars before them.
fn split_lines_par<'a>(s: &'a str, parts: usize, report: &mut NormalizeReport) -> Vec<Line<'a>> {
    let pieces = crate::text::line_pieces(s, parts);
    let split: Vec<(Vec<Line<'a>>, usize, NormalizeReport)> = par_map(&pieces, |p| {
        let mut r = NormalizeReport::default();
        let (lines, chars) = split_lines(&s[p.clone()], p.end == s.len(), &mut r);
        (lines, chars, r)
    });
    let mut lines = Vec::with_capacity(split.iter().map(|p| p.0.len()).sum());
    let mut base = 0;
    for (piece, chars, r) in split {
        report.add(&r);
        lines.extend(piece.into_iter().map(|l| Line {
            orig_char: l.orig_char + base,
            ..l
        }));
        base += chars;
    }
    lines
}

/// Width of hard-wrapped lines, if the text looks hard-wrapped: most lines end
/// near the same width and blank lines (or indents) separate paragraphs.
fn wrap_width(lines: &[Line]) -> Option<usize> {
    let mut widths: Vec<usize> = lines.iter().filter(|l| l.width > 0).map(|l| l.width).collect();
    if widths.len() < 20 {
        return None;
    }
    let at = widths.len() * 9 / 10;
    let p90 = *widths.select_nth_unstable(at).1;
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
    normalize_in(original, crate::extract::pieces_for(original.len()))
}

/// [`normalize`] in up to `parts` pieces on all cores; the same result for
/// any number of pieces.
fn normalize_in(original: &str, parts: usize) -> (TextBuilder, NormalizeReport) {
    let mut report = NormalizeReport::default();
    let lines = if parts > 1 {
        split_lines_par(original, parts, &mut report)
    } else {
        split_lines(original, true, &mut report).0
    };
    let wrap = wrap_width(&lines);
    // Whether line `idx` is joined to the next one (a hard wrap).
    let join = |idx: usize| -> bool {
        let (line, next) = (&lines[idx], &lines[idx + 1]);
        wrap.is_some_and(|w| {
            line.width * 10 >= w * 6
                && next.width > 0
                && !starts_indented(next.text)
                && !starts_block(next.text.trim())
                && !line.text.trim_end().ends_with([':', '：'])
        })
    };
    // Pieces of lines that start after a line break (not a join): each piece
    // then begins as a fresh builder does, and the pieces join end to end.
    let mut cuts = vec![0];
    for k in 1..parts {
        let mut at = (lines.len() * k / parts).max(*cuts.last().unwrap_or(&0));
        while at < lines.len() && at > 0 && join(at - 1) {
            at += 1;
        }
        if at > 0 && at < lines.len() {
            cuts.push(at);
        }
    }
    cuts.dedup();
    cuts.push(lines.len());
    let pieces: Vec<(usize, usize)> = cuts.windows(2).map(|w| (w[0], w[1])).collect();
    let built = par_map(&pieces, |&(a, b)| {
        let mut out = TextBuilder::with_capacity(lines[a..b].iter().map(|l| l.text.len() + 1).sum());
        let mut r = NormalizeReport::default();
        let mut buf = String::new();
        for idx in a..b {
            let line = &lines[idx];
            push_line(&mut out, &mut buf, line, &mut r);
            if idx + 1 == lines.len() {
                break;
            }
            if join(idx) {
                r.wrapped_lines_joined += 1;
                let next = &lines[idx + 1];
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
        (out, r)
    });
    let mut built = built.into_iter();
    let (mut out, r) = built.next().unwrap_or_default();
    report.add(&r);
    out.text.reserve(original.len().saturating_sub(out.text.len()));
    for (piece, r) in built {
        report.add(&r);
        out.append(piece);
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

    /// A text with every case that crosses a piece boundary: hard-wrapped
    /// paragraphs (joined with and without a space), CRLF and lone CR,
    /// blank and whitespace-only lines, markers, full-width digits, a colon
    /// at a wrap, CJK lines.
    fn mixed_text(seed: u64, paras: usize) -> String {
        let mut x = seed;
        let mut next = |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        let words = [
            "the", "farmer", "said", "Emma", "quietly", "and", "went", "home", "again", "to",
        ];
        let mut t = String::new();
        for _ in 0..paras {
            let eol = ["\n", "\r\n", "\n", "\r"][next(4)];
            match next(6) {
                0 => t.push_str(&format!("“你好，”少平说。他走了很远的路，才到家里。①{eol}{eol}")),
                1 => t.push_str(&format!("   {eol}")),
                2 => t.push_str(&format!("CHAPTER {}{eol}{eol}", next(40))),
                _ => {
                    for l in 0..2 + next(4) {
                        let mut line = String::new();
                        while line.len() < 58 + next(10) {
                            line.push_str(words[next(words.len())]);
                            line.push(' ');
                        }
                        if next(9) == 0 {
                            line.push_str("[12] ");
                        }
                        if next(11) == 0 {
                            line.push_str("第１集 ");
                        }
                        if l == 1 && next(7) == 0 {
                            line.push_str("they said:");
                        }
                        if next(5) == 0 {
                            line = "这是一段很长的中文句子，作者在这里按固定宽度折行了，没有空格的语言。".into();
                        }
                        t.push_str(line.trim_end_matches(' '));
                        t.push_str(eol);
                    }
                    t.push_str(eol);
                }
            }
        }
        t
    }

    #[test]
    fn pieces_on_all_cores_give_the_same_result() {
        for seed in 1..12u64 {
            let text = mixed_text(seed * 0x9E37_79B9, 60 + seed as usize * 7);
            let (one, r1) = normalize_in(&text, 1);
            let one = one.finish();
            assert!(r1.wrapped_lines_joined > 0 && r1.line_endings_fixed > 0, "{r1:?}");
            for parts in 2..=9 {
                let (many, r) = normalize_in(&text, parts);
                assert_eq!(many.finish(), one, "seed {seed}, {parts} pieces");
                assert_eq!(format!("{r:?}"), format!("{r1:?}"), "seed {seed}, {parts} pieces");
            }
        }
    }

    #[test]
    fn a_search_from_a_hint_maps_as_a_full_search() {
        let (b, _) = normalize(&mixed_text(3, 120));
        let (text, anchors) = b.finish();
        let mut hint = 0;
        let mut x = 17usize;
        for k in 0..4000 {
            // Mostly growing offsets, with jumps back and far ahead.
            x = match k % 97 {
                0 => x / 3,
                1 => (x * 7) % (text.len() + 40),
                _ => x + k % 13,
            };
            let byte = x % (text.len() + 40);
            assert_eq!(
                map_offset_near(&text, &anchors, byte, &mut hint),
                map_offset(&text, &anchors, byte),
                "at {byte}"
            );
        }
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
