//! Text helpers every stage shares, a leaf that uses nothing else of the
//! crate: CJK tests and display width, char-boundary prefixes, and the shape
//! of a line (a speaker tag `Name:` / `角色：`, a heading, a play's cue), which
//! import needs to keep lines apart and extraction needs to read them.

/// Cut `s` into up to `parts` pieces of about equal size, each ending just
/// after a line feed (the last one at the end of `s`), for work on all
/// cores that goes line by line.
pub fn line_pieces(s: &str, parts: usize) -> Vec<std::ops::Range<usize>> {
    let mut cuts = vec![0];
    for k in 1..parts.max(1) {
        let from = (s.len() * k / parts).max(cuts[cuts.len() - 1]);
        if let Some(off) = memchr::memchr(b'\n', &s.as_bytes()[from..]) {
            if from + off + 1 < s.len() {
                cuts.push(from + off + 1);
            }
        }
    }
    cuts.dedup();
    cuts.push(s.len());
    cuts.windows(2).map(|w| w[0]..w[1]).collect()
}

/// The largest char boundary of `s` at or before byte `i`.
pub fn floor_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A CJK character: Han, kana, CJK punctuation and full-width forms.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x2FDF | 0x3000..=0x303F | 0x3040..=0x30FF | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0xFF00..=0xFF60 | 0x20000..=0x2FA1F)
}

/// A Han character (a letter of Chinese text, not punctuation).
pub fn is_han(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// Display width: CJK and full-width forms count double.
pub fn width(s: &str) -> usize {
    if s.is_ascii() {
        return s.len();
    }
    s.chars().map(|c| if is_cjk(c) { 2 } else { 1 }).sum()
}

/// The longest prefix of `s` no longer than `max` bytes that ends on a char boundary.
pub fn prefix(s: &str, max: usize) -> &str {
    &s[..floor_boundary(s, max.min(s.len()))]
}

/// Byte offset of `sub` (a subslice of `whole`) within `whole`.
pub fn offset_in(whole: &str, sub: &str) -> usize {
    (sub.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize)
}

/// Abbreviations that end in a full stop inside a name (`MRS. ALLONBY.`).
const TITLES: &[&str] = &[
    "mr", "mrs", "ms", "dr", "st", "mme", "mlle", "messrs", "rev", "capt", "col", "gen", "lieut", "sgt", "mons",
];

pub fn is_title(word: &str) -> bool {
    TITLES.iter().any(|t| t.eq_ignore_ascii_case(word))
}

pub fn is_scene_heading(t: &str) -> bool {
    if t.starts_with('.')
        && !t.starts_with("..")
        && t.len() > 1
        && t.chars().nth(1).is_some_and(|c| c.is_alphanumeric())
    {
        return true;
    }
    [
        "INT. ", "EXT. ", "EST. ", "INT/EXT", "INT./EXT", "I/E ", "I/E. ", "INT ", "EXT ",
    ]
    .iter()
    .any(|p| t.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p)))
}

/// A speaker tag at the start of a line.
#[derive(Debug, PartialEq)]
pub struct SpeakerTag<'a> {
    pub name: &'a str,
    /// The parenthetical inside the tag, `宣旨` in `苏培盛（宣旨）：`.
    pub direction: Option<&'a str>,
    /// Byte offset in the line where the spoken text begins.
    pub text_start: usize,
}

const NOT_IN_NAME: &[char] = &[
    '，', '。', '！', '？', '、', '；', ',', '!', '?', ';', '"', '“', '”', '‘', '’', '「', '」', '『', '』', '…', '—',
    '/', '<', '>', '=', '*', '#', '|',
];

const NOT_NAMES: &[&str] = &[
    "note",
    "notes",
    "chapter",
    "http",
    "https",
    "www",
    "title",
    "author",
    "source",
    "credit",
    "contact",
    "copyright",
    "draft date",
    "date",
    "time",
    "scene",
    "act",
    "episode",
    "part",
    "translator",
    "isbn",
    "email",
    "tel",
    "注",
    "注释",
    "作者",
    "译者",
    "来源",
    "时间",
    "地点",
    "人物",
    "出场人物",
    "原文",
    "按",
    "编者按",
    "公元",
];

fn valid_name(name: &str) -> bool {
    let n = name.trim();
    if n.is_empty() || n.contains(NOT_IN_NAME) {
        return false;
    }
    let first = n.chars().next().unwrap_or(' ');
    if first.is_ascii_digit() || n.ends_with(['.', '·']) && !n.is_ascii() {
        return false;
    }
    if n.len() <= 12 && NOT_NAMES.iter().any(|x| x.eq_ignore_ascii_case(n)) {
        return false;
    }
    let cjk = n.chars().filter(|&c| is_cjk(c)).count();
    if cjk > 0 {
        // Chinese speaker tags are short; a long run is a sentence with a colon.
        n.chars().count() <= 10 && !n.contains(' ')
    } else {
        let words = n.split_whitespace().count();
        // `ALGERNON. Well: …` is a play's cue and a speech with a colon, not a
        // name; a full stop inside a name only follows a title or an initial.
        let inner_stop = n
            .split_whitespace()
            .rev()
            .skip(1)
            .any(|w| w.ends_with('.') && w.len() > 2 && !is_title(w.trim_end_matches('.')));
        !inner_stop
            && first.is_uppercase()
            && words <= 4
            && n.len() <= 32
            && n.chars().all(|c| c.is_alphanumeric() || " .'-&".contains(c))
    }
}

/// Parse `Name:` / `Name（direction）：` at the start of a line.
pub fn speaker_tag(line: &str) -> Option<SpeakerTag<'_>> {
    tag_at(line, false)
}

/// Like [`speaker_tag`], with `quoted` also when the text opens with a
/// quotation mark: `甄嬛：“良辰美景奈何天”，王爷也读牡丹亭？` in a script, where
/// the same name also speaks without quotes (in prose it is `他说：“……”`).
pub fn tag_at(line: &str, quoted: bool) -> Option<SpeakerTag<'_>> {
    let name_end = line.find(['：', ':', '（', '('])?;
    if name_end == 0 || name_end > 40 {
        return None;
    }
    let name = &line[..name_end];
    let mut rest = &line[name_end..];
    let mut direction = None;
    if rest.starts_with(['（', '(']) {
        let open = rest.chars().next()?.len_utf8();
        let close = rest.find(['）', ')'])?;
        if close > 180 {
            return None;
        }
        direction = Some(rest[open..close].trim());
        rest = rest[close..].trim_start_matches(['）', ')']).trim_start();
    }
    let colon = rest.chars().next()?;
    if colon != '：' && colon != ':' {
        return None;
    }
    let name = name.trim();
    if !valid_name(name) {
        return None;
    }
    let after = &rest[colon.len_utf8()..];
    // `10:30`, `1:2`: a time or a ratio, not a speaker.
    if after.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let text = after.trim_start();
    // `他说：“……”` is prose, not a script line; `10:30` is a time.
    if text.starts_with('/') || (!quoted && text.starts_with(['“', '「', '"', '『'])) {
        return None;
    }
    Some(SpeakerTag {
        name,
        direction,
        text_start: offset_in(line, text),
    })
}

/// `HAMLET.` or `First Citizen:` alone on a line.
pub fn is_play_cue(line: &str) -> bool {
    if let Some(n) = line.strip_suffix('.') {
        return n.len() >= 2
            && n.len() <= 30
            && n.chars().any(|c| c.is_alphabetic())
            && n.chars().all(|c| c.is_uppercase() || " '-".contains(c))
            && !is_heading(line);
    }
    false
}

const NUMERALS: &str = "0123456789一二三四五六七八九十百千零〇两";

/// Scene and episode headings: 第1幕, 第一集, INT. HOUSE - DAY, ACT II, SCENE 3, # Title.
pub fn is_heading(line: &str) -> bool {
    let t = line.trim();
    if t.is_empty() || t.len() > 90 {
        return false;
    }
    if let Some(rest) = t.strip_prefix('第') {
        let num_len: usize = rest
            .chars()
            .take_while(|c| NUMERALS.contains(*c))
            .map(char::len_utf8)
            .sum();
        if num_len > 0 {
            if let Some(unit) = rest[num_len..].chars().next() {
                return "集幕场場回章节節部卷折出".contains(unit) && t.chars().count() <= 30;
            }
        }
        return false;
    }
    if t.starts_with('#') {
        return true;
    }
    if is_scene_heading(t) {
        return true;
    }
    let starts = |kw: &str| t.get(..kw.len()).is_some_and(|p| p.eq_ignore_ascii_case(kw));
    for kw in [
        "ACT ", "SCENE ", "EPISODE ", "CHAPTER ", "PROLOGUE", "EPILOGUE", "ACTUS ", "SCENA ", "SCOENA ",
    ] {
        if !starts(kw) {
            continue;
        }
        let words = t.split_whitespace().count();
        if t.starts_with(kw) || words <= 3 {
            return words <= 8;
        }
        // `Scene II. A room of state in the castle.`: a numbered heading.
        if words <= 14 {
            let num = t
                .split_whitespace()
                .nth(1)
                .unwrap_or("")
                .trim_end_matches(['.', ':', ',']);
            return !num.is_empty()
                && (num.chars().all(|c| c.is_ascii_digit()) || num.chars().all(|c| "IVXLC".contains(c)));
        }
    }
    false
}
