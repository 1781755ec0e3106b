//! Novels: find quotations and attribute each to a speaker.
//!
//! Rules, in order of trust: a speech verb next to a name ("said Emma",
//! “……”晓霞说), a speech verb next to a pronoun resolved to a recent name of
//! that gender (in Chinese, the latest one opening a clause; never the one
//! spoken to: `他对少安说`), a name acting in the quote's paragraph, the person addressed in
//! the previous quote, and turn-taking in a two-person exchange.

use super::cast::CastHint;
use super::{Attribution, Collector, FastMap, FastSet, UtteranceKind};
use crate::text::{is_cjk, is_han, is_heading};
use std::collections::HashMap;
use std::ops::Range;

pub(crate) mod lexicon;
mod names;
mod subject;

use lexicon::*;
use names::*;
use subject::*;

struct Para {
    range: Range<usize>,
}

// Confidences are the accuracy each rule reaches on the 14 PDNC development
// novels (the reliability table of `cargo bench --bench attribution`), so that
// a confidence means what it says and `unsure` (below 0.6) marks what to review.
/// A speech verb next to a pronoun: about two in three right.
const PRONOUN_CONF: f32 = 0.65;
/// A name acting in the quote's paragraph: about four in five.
const MENTION_CONF: f32 = 0.8;
/// Turn-taking and the person addressed: about one in two.
const TURN_CONF: f32 = 0.55;
/// "I said" where the narrator could not be named: wrong for every cast list.
const UNNAMED_NARRATOR_CONF: f32 = 0.3;
/// "I said" once the narrator is named.
pub(crate) const NARRATOR_CONF: f32 = 0.8;

struct Quote {
    /// Paragraph of the first part (a quote can run over several paragraphs).
    start_para: usize,
    /// Paragraph of the last part.
    para: usize,
    parts: Vec<Range<usize>>,
}

/// Scan one paragraph for quotations; `open` carries a quote left open at the
/// end of the previous paragraph.
fn scan_quotes(s: &str, base: usize, style: (char, char), open: &mut bool) -> Vec<Range<usize>> {
    let (o, c) = style;
    let mut out = Vec::new();
    let mut start = if *open {
        // A continued quote re-opens with the opening mark.
        let t = s.trim_start();
        if t.starts_with(o) {
            Some(s.len() - t.len() + o.len_utf8())
        } else {
            *open = false;
            None
        }
    } else {
        None
    };
    let skip = start.unwrap_or(0);
    for (i, ch) in s[skip..].char_indices().map(|(i, ch)| (i + skip, ch)) {
        match start {
            None if ch == o => {
                // A straight quote followed by a space is a closing quote of nothing.
                start = Some(i + ch.len_utf8());
            }
            Some(st) if ch == c && i >= st => {
                if i > st {
                    out.push(base + st..base + i);
                }
                start = None;
            }
            _ => {}
        }
    }
    *open = false;
    if let Some(st) = start {
        if st < s.len() {
            out.push(base + st..base + s.trim_end().len());
        }
        *open = true;
    }
    out
}

fn quote_style(text: &str) -> (char, char) {
    let sample = crate::text::prefix(text, 1 << 20);
    let (mut curly, mut corner, mut straight, mut single) = (0, 0, 0, 0);
    for ch in sample.chars() {
        match ch {
            '“' => curly += 1,
            '「' => corner += 1,
            '"' => straight += 1,
            '‘' => single += 1,
            _ => {}
        }
    }
    if single > curly * 2 && single > straight && single > corner {
        ('‘', '’')
    } else if corner > curly && corner >= straight {
        ('「', '」')
    } else if straight > curly {
        ('"', '"')
    } else {
        ('“', '”')
    }
}

/// Who speaks, with the narration clause that says so.
type Clause<'a> = (Subject, &'a str);

/// Split quotes into up to `n` runs of about equal size, each starting at a
/// scene break; books under 20,000 quotes stay one run (same result as serial).
fn split_runs(quotes: &[Quote], breaks: &[usize], n: usize) -> Vec<(usize, usize)> {
    if n < 2 || quotes.len() < 20_000 {
        return vec![(0, quotes.len())];
    }
    let mut runs = Vec::new();
    let mut start = 0;
    for k in 1..n {
        let mut i = (quotes.len() * k / n).max(start + 1);
        // Move forward to the first quote after a scene break.
        while i < quotes.len() {
            let (a, b) = (quotes[i - 1].para, quotes[i].para);
            let j = breaks.partition_point(|&x| x <= a);
            if j < breaks.len() && breaks[j] <= b {
                break;
            }
            i += 1;
        }
        if i >= quotes.len() {
            break;
        }
        runs.push((start, i));
        start = i;
    }
    runs.push((start, quotes.len()));
    runs
}

/// An attributed quote before it is handed to the collector.
struct Pending {
    /// Starts a new scene with this title.
    scene: Option<String>,
    speaker: Option<Name>,
    text: String,
    range: Range<usize>,
    method: Attribution,
    conf: f32,
    vocative: Option<Name>,
    /// Paragraphs the quote spans.
    paras: Range<usize>,
    /// The latest distinct names mentioned before the quote, newest first.
    recent_names: Vec<Name>,
}

fn recent_distinct(mentions: &[Name]) -> Vec<Name> {
    let mut v: Vec<Name> = Vec::new();
    for m in mentions.iter().rev() {
        if !v.contains(m) {
            v.push(m.clone());
            if v.len() == 4 {
                break;
            }
        }
    }
    v
}

/// Exchanges: quotes in consecutive paragraphs alternate between two people.
/// Quotes without a clue of their own take their turn from the nearest quote
/// of the exchange whose speaker is known, forwards or backwards.
fn fill_exchanges(out: &mut [Pending], max_gap: usize) {
    let mut i = 0;
    while i < out.len() {
        let mut j = i + 1;
        while j < out.len() && out[j].scene.is_none() && out[j].paras.start <= out[j - 1].paras.end + max_gap {
            j += 1;
        }
        fill_exchange(&mut out[i..j]);
        i = j;
    }
}

fn is_anchor(p: &Pending) -> bool {
    p.speaker.is_some()
        && matches!(
            p.method,
            Attribution::Explicit | Attribution::Pronoun | Attribution::Mention
        )
}

fn fill_exchange(ch: &mut [Pending]) {
    let anchors: Vec<usize> = (0..ch.len()).filter(|&k| is_anchor(&ch[k])).collect();
    if anchors.is_empty() {
        return;
    }
    let mut fills: Vec<(usize, Name)> = Vec::new();
    for k in 0..ch.len() {
        if is_anchor(&ch[k]) {
            continue;
        }
        let a = *anchors
            .iter()
            .min_by_key(|&&a| (a.abs_diff(k), a > k))
            .expect("anchors");
        let sa = ch[a].speaker.clone().expect("anchor speaker");
        // The other person: another anchor with a different speaker nearest to
        // `a`, else whom `a` addresses, else a recent name.
        let other = anchors
            .iter()
            .filter(|&&b| ch[b].speaker.as_ref() != Some(&sa))
            .min_by_key(|&&b| b.abs_diff(a))
            .map(|&b| (b, ch[b].speaker.clone().expect("anchor speaker")));
        let sb = match other {
            Some((b, n)) if (b.abs_diff(a)) % 2 == 1 => Some(n),
            Some(_) => None,
            None => None,
        }
        .or_else(|| ch[a].vocative.clone().filter(|v| v != &sa))
        .or_else(|| ch[a.min(k)].recent_names.iter().find(|n| **n != sa).cloned());
        let d = a.abs_diff(k);
        let who = if d % 2 == 0 { Some(sa) } else { sb };
        // Whom the quote addresses does not say it.
        if let Some(w) = who.filter(|w| ch[k].vocative.as_ref() != Some(w)) {
            fills.push((k, w));
        }
    }
    for (k, w) in fills {
        ch[k].speaker = Some(w);
        ch[k].method = Attribution::Alternation;
        ch[k].conf = TURN_CONF;
    }
}

/// First-person novels: the narrator ("I said") is the person the others
/// address by name in the quotes right before and after the narrator's own.
fn resolve_narrator(out: &mut [Pending], tag: &str) {
    let is_narr = |p: &Pending| p.speaker.as_deref() == Some(tag);
    let mut votes: HashMap<&str, usize> = HashMap::new();
    let mut total = 0;
    for i in 0..out.len() {
        if !is_narr(&out[i]) {
            continue;
        }
        for j in [i.wrapping_sub(1), i + 1] {
            if let Some(p) = out.get(j) {
                if let (false, Some(v)) = (is_narr(p), p.vocative.as_deref()) {
                    *votes.entry(v).or_default() += 1;
                    total += 1;
                }
            }
        }
    }
    let Some((name, n)) = votes.into_iter().max_by_key(|(n, c)| (*c, std::cmp::Reverse(*n))) else {
        return;
    };
    if n < 3 || n * 5 < total * 2 {
        return;
    }
    let name = Name::from(name);
    for p in out.iter_mut() {
        if is_narr(p) {
            p.speaker = Some(name.clone());
        }
    }
}

pub fn parse(c: &mut Collector, hints: &[CastHint]) {
    let book = Book::read(c.doc.text.as_str(), &c.doc.chapter_starts, hints);
    let quotes = book.quotes();
    // Long books: runs that start at scene breaks are attributed on all cores.
    // Conversation state resets at scene breaks anyway; only the memory of
    // names mentioned in the previous chapter is lost at a run boundary.
    let runs = split_runs(&quotes, &book.breaks, super::threads());
    let mut out: Vec<Pending> = super::par_map(&runs, |&(start, end)| {
        let (brk, seen) = match start.checked_sub(1) {
            Some(prev) => {
                let last = quotes[prev].para;
                (&book.breaks[book.breaks.partition_point(|&b| b <= last)..], last + 1)
            }
            None => (&book.breaks[..], 0),
        };
        Attributor::new(&book, seen).run(&quotes[start..end], brk)
    })
    .into_iter()
    .flatten()
    .collect();
    let zh = book.zh;
    fill_exchanges(&mut out, if zh { 3 } else { 0 });
    let narrator = if zh { "我" } else { "I" };
    // The narrator the person confirmed, else the one the quotes around the
    // narrator's own address by name.
    match hints.iter().find(|h| h.narrator).and_then(|h| h.aliases.first()) {
        Some(main) => {
            let main = Name::from(main.as_str());
            for p in out.iter_mut().filter(|p| p.speaker.as_deref() == Some(narrator)) {
                p.speaker = Some(main.clone());
            }
        }
        None => resolve_narrator(&mut out, narrator),
    }
    for p in out.iter_mut().filter(|p| p.speaker.as_deref() == Some(narrator)) {
        p.conf = p.conf.min(UNNAMED_NARRATOR_CONF);
    }
    c.utterances.reserve(out.len());
    for p in out {
        if let Some(t) = p.scene {
            c.new_scene(Some(t));
        }
        c.push(
            p.speaker.map(|s| s.to_string()),
            p.text,
            p.range,
            p.method,
            p.conf,
            UtteranceKind::Dialogue,
            Vec::new(),
        );
    }
}

/// What attribution reads: the text in paragraphs, the scene breaks, the
/// names, and what each paragraph mentions, all found once.
struct Book<'a> {
    text: &'a str,
    zh: bool,
    /// Opening and closing quotation marks.
    style: (char, char),
    paras: Vec<Para>,
    /// Paragraph indices that start a scene.
    breaks: Vec<usize>,
    names: Names,
    /// Names mentioned in each paragraph.
    mentions: Vec<Vec<(usize, Name)>>,
    /// Chinese: names that open a clause in each paragraph, the subjects
    /// pronouns refer back to.
    subjects: Vec<Vec<Name>>,
}

impl<'a> Book<'a> {
    fn read(text: &'a str, chapter_starts: &[usize], hints: &[CastHint]) -> Book<'a> {
        let cjk = text.chars().take(4000).filter(|&ch| is_cjk(ch)).count();
        let zh = cjk * 5 > text.chars().take(4000).count();
        let style = quote_style(text);
        // Paragraphs, and whether they look like headings, on all cores.
        let pieces = crate::text::line_pieces(text, super::pieces_for(text.len()));
        let found: Vec<Vec<(Range<usize>, bool)>> = super::par_map(&pieces, |piece| {
            let mut found = Vec::with_capacity(piece.len() / 80);
            for (at, line) in super::lines_with_offsets(&text[piece.clone()]) {
                let t = line.trim();
                if !t.is_empty() {
                    let start = piece.start + at + crate::text::offset_in(line, t);
                    found.push((start..start + t.len(), is_heading(t) && !t.contains(style.0)));
                }
            }
            found
        });
        let mut paras: Vec<Para> = Vec::with_capacity(found.iter().map(Vec::len).sum());
        let mut breaks: Vec<usize> = Vec::new();
        let mut chapter_iter = chapter_starts.iter().peekable();
        for (range, heading) in found.into_iter().flatten() {
            let mut brk = false;
            while chapter_iter.peek().is_some_and(|&&s| s <= range.start) {
                chapter_iter.next();
                brk = true;
            }
            if brk || heading {
                breaks.push(paras.len());
            }
            paras.push(Para { range });
        }
        // Name-like spans of every English paragraph, found once (on all cores).
        let en_spans: Vec<NameSpans> = if zh {
            Vec::new()
        } else {
            super::par_map(&paras, |p| {
                let t = &text[p.range.clone()];
                (t, en_name_spans(t))
            })
        };
        let mut names = build_names(text, zh, hints, &en_spans);
        let mentions: Vec<Vec<(usize, Name)>> = if zh {
            super::par_map(&paras, |p| names.mentions(&text[p.range.clone()]))
        } else {
            super::par_map(&en_spans, |(_, spans)| names.mentions_in_spans(spans))
        };
        infer_genders(&mut names, &paras, text, &mentions);
        let subjects: Vec<Vec<Name>> = if zh {
            super::par_map(&paras, |p| zh_clause_subjects(&names, &text[p.range.clone()]))
        } else {
            Vec::new()
        };
        Book {
            text,
            zh,
            style,
            paras,
            breaks,
            names,
            mentions,
            subjects,
        }
    }

    fn para(&self, i: usize) -> &'a str {
        &self.text[self.paras[i].range.clone()]
    }

    /// The quotations, a quote left open at a paragraph's end continuing into
    /// the next paragraph.
    fn quotes(&self) -> Vec<Quote> {
        let mut quotes: Vec<Quote> = Vec::new();
        let mut open = false;
        for (pi, p) in self.paras.iter().enumerate() {
            let was_open = open;
            let parts = scan_quotes(&self.text[p.range.clone()], p.range.start, self.style, &mut open);
            if parts.is_empty() {
                continue;
            }
            if was_open {
                if let Some(last) = quotes.last_mut() {
                    if last.para + 1 == pi {
                        // The continuation and the paragraph's other parts: the
                        // speech clause there tells who speaks.
                        last.parts.extend(parts);
                        last.para = pi;
                        continue;
                    }
                }
            }
            quotes.push(Quote {
                start_para: pi,
                para: pi,
                parts,
            });
        }
        quotes
    }

    fn subject_of(&self, clause: &str, is_after: bool) -> Option<(Subject, bool)> {
        if self.zh {
            zh_subject(&self.names, clause, is_after)
        } else {
            en_subject(&self.names, clause, is_after)
        }
    }
}

/// The narration around one quote's parts.
struct Around<'a> {
    /// gaps[i] comes before part i, gaps[n] after the last.
    gaps: Vec<&'a str>,
    /// What happens right after the quote (`She turned away.`).
    beat: &'a str,
    /// Names mentioned in each gap.
    local: Vec<Vec<Name>>,
    /// Chinese: names opening a clause in each gap.
    local_subjects: Vec<Vec<Name>>,
}

/// Attributes one run of quotes (a run starts at a scene break or the start),
/// keeping the conversation's state; one method per rule.
struct Attributor<'b, 'a> {
    book: &'b Book<'a>,
    /// Recent quotes' paragraphs and speakers (None = unknown).
    recent: Vec<(usize, Option<Name>)>,
    /// Names mentioned lately, newest last.
    last_mentions: Vec<Name>,
    /// Chinese: names that opened a clause lately, newest last.
    last_subjects: Vec<Name>,
    /// The one the previous quote addressed.
    addressee: Option<Name>,
    /// The first paragraph whose narration is not yet in `last_mentions`.
    last_para_seen: usize,
    out: Vec<Pending>,
}

impl<'b, 'a> Attributor<'b, 'a> {
    fn new(book: &'b Book<'a>, first_unseen_para: usize) -> Self {
        Attributor {
            book,
            recent: Vec::new(),
            last_mentions: Vec::new(),
            last_subjects: Vec::new(),
            addressee: None,
            last_para_seen: first_unseen_para,
            out: Vec::new(),
        }
    }

    fn run(mut self, quotes: &[Quote], breaks: &[usize]) -> Vec<Pending> {
        let mut next_break = breaks.iter().peekable();
        for q in quotes {
            let mut scene_break = false;
            while next_break.peek().is_some_and(|&&b| b <= q.para) {
                next_break.next();
                scene_break = true;
            }
            let scene_title = scene_break.then(|| self.book.para(q.para).chars().take(40).collect::<String>());
            if scene_break {
                self.recent.clear();
                self.addressee = None;
            }
            self.quote(q, scene_title);
        }
        self.out
    }

    /// Names mentioned in the narration since the last quote, for pronouns.
    fn catch_up(&mut self, q: &Quote) {
        let b = self.book;
        let from = self.last_para_seen.min(q.start_para);
        for i in from..q.start_para {
            if !b.para(i).contains(b.style.0) {
                self.last_mentions.extend(b.mentions[i].iter().map(|m| m.1.clone()));
                if b.zh {
                    self.last_subjects.extend(b.subjects[i].iter().cloned());
                }
            }
        }
        if self.last_subjects.len() > 32 {
            self.last_subjects.drain(..self.last_subjects.len() - 32);
        }
        if self.last_mentions.len() > 32 {
            self.last_mentions.drain(..self.last_mentions.len() - 32);
        }
        // A long stretch of narration ends the exchange.
        if q.para > self.last_para_seen + 3 {
            self.recent.clear();
        }
        self.last_para_seen = q.para + 1;
    }

    /// The narration around the quote's parts, a lead-in on the line before
    /// (`他问：`, `Emma smilingly said,`) and the beat after.
    fn around(&self, q: &Quote) -> Around<'a> {
        let b = self.book;
        let (text, zh) = (b.text, b.zh);
        let olen = b.style.0.len_utf8();
        let clen = b.style.1.len_utf8();
        let para = &b.paras[q.para].range;
        let start_para = &b.paras[q.start_para].range;
        let n = q.parts.len();
        let mut gaps: Vec<&'a str> = Vec::with_capacity(n + 1);
        gaps.push(if q.parts[0].start >= start_para.start + olen {
            narration_before(text, start_para, &q.parts[0], olen)
        } else {
            ""
        });
        for w in q.parts.windows(2) {
            let g = safe_slice(text, w[0].end + clen, w[1].start.saturating_sub(olen));
            gaps.push(if g.contains('\n') { "" } else { g });
        }
        gaps.push(safe_slice(text, q.parts[n - 1].end + clen, para.end));
        let mut lead_in = false;
        if gaps[0].trim().is_empty() && q.start_para > 0 {
            let prev = b.para(q.start_para - 1).trim_end();
            if zh {
                if prev.ends_with(['：', ':', '，']) && !prev.contains(b.style.0) {
                    gaps[0] = prev;
                    lead_in = true;
                }
            } else if prev.ends_with([':', ',', '—']) || prev.ends_with("--") {
                let tail = prev.rfind(b.style.1).map_or(prev, |i| &prev[i + clen..]);
                gaps[0] = tail.trim_end_matches(['-', '—']);
            }
        }
        // Chinese prose often puts `她问。` or `少安第一次用平静的语调对妻子说话。`
        // on a line of its own; a line that starts with a name
        // (`晓霞有点结巴地……`) tells who acts right after.
        let mut beat = "";
        if zh && gaps[n].trim().is_empty() && q.para + 1 < b.paras.len() {
            let next = b.para(q.para + 1).trim_end();
            let lead = next.ends_with(['：', ':']);
            if !next.contains(b.style.0) && !lead {
                if !lead_in && next.chars().count() <= 30 && zh_has_verb(next) {
                    gaps[n] = next;
                } else {
                    beat = next;
                }
            }
        } else {
            beat = first_clause(gaps[n]);
        }
        let local = gaps
            .iter()
            .map(|g| b.names.mentions(g).into_iter().map(|m| m.1).collect())
            .collect();
        let local_subjects = if zh {
            gaps.iter().map(|g| zh_clause_subjects(&b.names, g)).collect()
        } else {
            Vec::new()
        };
        Around {
            gaps,
            beat,
            local,
            local_subjects,
        }
    }

    /// The parts grouped by speech clause: a part's own clause after it
    /// (`"…," said Emma`), else before it (`Emma turned and said, "…"`); parts
    /// without one belong to the speaker before them in the paragraph, else to
    /// the one after.
    fn segments(&self, a: &Around<'a>) -> Vec<(Range<usize>, Option<Clause<'a>>)> {
        let n = a.gaps.len() - 1;
        let own: Vec<Option<Clause<'a>>> = (0..n)
            .map(|i| {
                let after = first_clause(a.gaps[i + 1]);
                if let Some((s, true)) = self.book.subject_of(after, true) {
                    return Some((s, after));
                }
                let before = before_clause(a.gaps[i]);
                self.book
                    .subject_of(before, false)
                    .filter(|s| s.1)
                    .map(|s| (s.0, before))
            })
            .collect();
        let mut segments: Vec<(Range<usize>, Option<Clause<'a>>)> = Vec::new();
        for i in 0..n {
            let r = own[..=i]
                .iter()
                .rev()
                .find_map(Clone::clone)
                .or_else(|| own[i..].iter().find_map(Clone::clone));
            match segments.last_mut() {
                Some((rg, s)) if s.as_ref().map(|s| &s.0) == r.as_ref().map(|r| &r.0) => rg.end = i + 1,
                _ => segments.push((i..i + 1, r)),
            }
        }
        segments
    }

    fn quote(&mut self, q: &Quote, scene_title: Option<String>) {
        self.catch_up(q);
        let a = self.around(q);
        let n = q.parts.len();
        let zh = self.book.zh;
        for (si, (rg, subj)) in self.segments(&a).into_iter().enumerate() {
            self.last_mentions.extend(a.local[rg.start].iter().cloned());
            if zh {
                self.last_subjects.extend(a.local_subjects[rg.start].iter().cloned());
            }
            let (found, clause) = match subj {
                Some((s, cl)) => (Some((s, true)), cl),
                None => {
                    let before = before_clause(a.gaps[0]);
                    match self.book.subject_of(before, false) {
                        Some(f) => (Some(f), before),
                        None => (after_beat(&self.book.names, a.beat), ""),
                    }
                }
            };
            let (speaker, method, conf) = self.speaker(found, clause, &a.local[rg.start]);
            // Quote text: parts joined; span from the first to the last part.
            let parts = &q.parts[rg];
            let joined: Vec<&str> = parts.iter().map(|r| self.book.text[r.clone()].trim()).collect();
            let utext = joined.join(if zh { "" } else { " " });
            if utext.trim().is_empty() {
                continue;
            }
            let (speaker, method, conf, voc) = self.not_the_one_addressed(&utext, speaker, method, conf);
            if let Some(s) = &speaker {
                self.last_mentions.push(s.clone());
            }
            self.recent.push((q.para, speaker.clone()));
            self.out.push(Pending {
                scene: if si == 0 { scene_title.clone() } else { None },
                speaker,
                text: utext,
                range: parts[0].start..parts[parts.len() - 1].end,
                method,
                conf,
                vocative: voc,
                paras: q.start_para..q.para + 1,
                recent_names: recent_distinct(&self.last_mentions),
            });
        }
        self.last_mentions.extend(a.local[n].iter().cloned());
        if zh {
            self.last_subjects.extend(a.local_subjects[n].iter().cloned());
        }
    }

    fn prev_speaker(&self) -> Option<Name> {
        self.recent.last().and_then(|r| r.1.clone())
    }

    /// In a two-person exchange, the one who spoke before the last speaker.
    fn alternation(&self) -> Option<Name> {
        match self.recent.as_slice() {
            [.., (_, Some(a)), (_, Some(b))] if a != b => Some(a.clone()),
            _ => None,
        }
    }

    /// Who speaks, by the subject found for the quote.
    fn speaker(&self, found: Option<(Subject, bool)>, clause: &str, local: &[Name]) -> Guess {
        match found {
            Some((Subject::Name(n), true)) => (Some(n), Attribution::Explicit, 0.95),
            Some((Subject::Pronoun(g), _)) => match self.by_pronoun(g, clause, local) {
                Some(n) => (Some(n), Attribution::Pronoun, PRONOUN_CONF),
                None => (None, Attribution::Unknown, 0.0),
            },
            Some((Subject::Name(n), false)) => (Some(n), Attribution::Mention, MENTION_CONF),
            Some((Subject::Narrator, _)) => {
                let narrator = if self.book.zh { "我" } else { "I" };
                (Some(Name::from(narrator)), Attribution::Explicit, NARRATOR_CONF)
            }
            None => self.by_turns(),
        }
    }

    /// A pronoun's referent: a name of that gender opening a clause just
    /// before the quote (Chinese), else in the quote's paragraph, else the
    /// other person of the exchange, else a recent mention; never the one
    /// spoken to (`他对少安说`, `she said to Emma`).
    fn by_pronoun(&self, g: Gender, clause: &str, local: &[Name]) -> Option<Name> {
        let b = self.book;
        let objects = pronoun_objects(&b.names, clause, b.zh);
        let fits = |n: &Name| b.names.gender.get(&**n) == Some(&g) && !objects.contains(n);
        let prev_speaker = self.prev_speaker();
        self.last_subjects
            .iter()
            .rev()
            .find(|n| fits(n))
            .or_else(|| local.iter().rev().find(|n| fits(n)))
            .cloned()
            .or_else(|| self.alternation().filter(|a| fits(a)))
            .or_else(|| {
                self.last_mentions
                    .iter()
                    .rev()
                    .find(|n| fits(n) && Some(*n) != prev_speaker.as_ref())
                    .or_else(|| self.last_mentions.iter().rev().find(|n| fits(n)))
                    .cloned()
            })
    }

    /// No clause at all: the one the previous quote addressed, else turn-taking.
    fn by_turns(&self) -> Guess {
        let prev_speaker = self.prev_speaker();
        match (
            self.addressee.clone().filter(|a| Some(a) != prev_speaker.as_ref()),
            self.alternation(),
        ) {
            (Some(a), _) => (Some(a), Attribution::Addressee, TURN_CONF),
            (None, Some(a)) => (Some(a), Attribution::Alternation, TURN_CONF),
            _ => (None, Attribution::Unknown, 0.0),
        }
    }

    /// Who is addressed (a name at the start or end of the quote, set off by a
    /// comma) is not the speaker, unless the narration names them (`"Emma,
    /// Emma," said Emma to herself` is rare but explicit). Remembers the
    /// addressee for the next quote; returns the guess and the vocative.
    fn not_the_one_addressed(
        &mut self,
        utext: &str,
        speaker: Option<Name>,
        method: Attribution,
        conf: f32,
    ) -> (Option<Name>, Attribution, f32, Option<Name>) {
        let voc = vocative(&self.book.names, utext, self.book.zh);
        let (speaker, method, conf) = if voc.is_some() && speaker == voc && method != Attribution::Explicit {
            match self.prev_speaker().filter(|p| Some(p) != voc.as_ref()) {
                Some(p) => (Some(p), Attribution::Alternation, TURN_CONF),
                None => (None, Attribution::Unknown, 0.0),
            }
        } else {
            (speaker, method, conf)
        };
        self.addressee = voc.clone().filter(|a| Some(a) != speaker.as_ref());
        (speaker, method, conf, voc)
    }
}

/// A speaker guess: who, by which rule, how sure.
type Guess = (Option<Name>, Attribution, f32);

/// The last sentence of the narration before a quote.
fn before_clause(g: &str) -> &str {
    let b = g.trim_end();
    &b[last_sentence_start(b)..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cast(groups: &[(&[&str], char)]) -> Names {
        let hints: Vec<CastHint> = groups
            .iter()
            .map(|(a, g)| CastHint {
                aliases: a.iter().map(|s| s.to_string()).collect(),
                gender: Some(*g),
                ..Default::default()
            })
            .collect();
        build_names("", false, &hints, &[])
    }

    fn name(n: &str) -> Option<(Subject, bool)> {
        Some((Subject::Name(Name::from(n)), true))
    }

    #[test]
    fn after_clause_keeps_titles_and_initials() {
        assert_eq!(first_clause(", asked Mr. Gradgrind. \"Yes\""), "asked Mr. Gradgrind");
        assert_eq!(
            first_clause(" retorted Mr. E. W. B. Childers, facing about. More"),
            "retorted Mr. E. W. B. Childers, facing about"
        );
    }

    #[test]
    fn english_speech_clauses() {
        let n = cast(&[
            (&["The Mouse"], 'M'),
            (&["Mr. Elton"], 'M'),
            (&["Mrs. Gradgrind"], 'F'),
            (&["Louisa"], 'F'),
            (&["Emma", "Miss Woodhouse"], 'F'),
            (&["Harriet"], 'F'),
        ]);
        assert_eq!(
            en_subject(&n, "said the Mouse with an important air", true),
            name("The Mouse")
        );
        assert_eq!(en_subject(&n, "said the gallant Mr. Elton", true), name("Mr. Elton"));
        assert_eq!(
            en_subject(&n, "Mrs. Gradgrind considered", true),
            name("Mrs. Gradgrind")
        );
        assert_eq!(en_subject(&n, "pouted Louisa", true), name("Louisa"));
        // The subject nearest the verb, not a name after a preposition.
        assert_eq!(
            en_subject(
                &n,
                "While she talked to Harriet, Emma found an opportunity of saying,",
                false
            ),
            name("Emma")
        );
        assert_eq!(en_subject(&n, "Emma turned to Harriet and said,", false), name("Emma"));
    }

    #[test]
    fn chinese_speech_clauses() {
        let hints: Vec<CastHint> = [
            (&["李玉玲", "玉玲"][..], 'F'),
            (&["金俊武", "俊武"][..], 'M'),
            (&["安锁子"][..], 'M'),
        ]
        .iter()
        .map(|(a, g)| CastHint {
            aliases: a.iter().map(|s| s.to_string()).collect(),
            gender: Some(*g),
            ..Default::default()
        })
        .collect();
        let n = build_names("", true, &hints, &[]);
        let zh = |n: &str| Some((Subject::Name(Name::from(n)), true));
        // Someone's wife is not that someone.
        assert_eq!(
            zh_subject(&n, "俊武的媳妇李玉玲头叩在地上，心里骂道：", false),
            zh("李玉玲")
        );
        // After a time clause.
        assert_eq!(zh_subject(&n, "当金俊武上前时，李玉玲突然说：", false), zh("李玉玲"));
        // The part of the sentence with the speech verb.
        assert_eq!(
            zh_subject(&n, "大伙刚开始攉煤时候，他旁边的安锁子突然大声喊叫说：", false),
            zh("安锁子")
        );
        assert_eq!(
            zh_subject(&n, "哭了一会，他呻吟着说：", false),
            Some((Subject::Pronoun(Gender::Male), true))
        );
        // The one spoken to is not the speaker.
        assert_eq!(
            pronoun_objects(&n, "他然后感谢地对俊武说：", true),
            vec![Name::from("金俊武")]
        );
        assert_eq!(
            zh_clause_subjects(&n, "玉玲很快明白，俊武的事她不管。"),
            vec![Name::from("李玉玲")]
        );
    }

    #[test]
    fn qualified_cast_names_match_the_plain_name() {
        let hints = vec![CastHint {
            aliases: vec!["Christopher Robin - Story".into()],
            gender: Some('M'),
            ..Default::default()
        }];
        let n = build_names("", false, &hints, &[]);
        assert_eq!(n.canonical("Christopher Robin"), Some("Christopher Robin - Story"));
        assert_eq!(
            en_subject(&n, "asked Christopher Robin", true),
            name("Christopher Robin - Story")
        );
    }

    #[test]
    fn bare_surname_is_the_mister() {
        let hints = vec![
            CastHint {
                aliases: vec!["Bounderby".into()],
                gender: None,
                ..Default::default()
            },
            CastHint {
                aliases: vec!["Josiah Bounderby".into(), "Mr. Bounderby".into()],
                gender: Some('M'),
                ..Default::default()
            },
        ];
        let n = build_names("", false, &hints, &[]);
        assert_eq!(n.canonical("Bounderby"), Some("Josiah Bounderby"));
        assert_eq!(n.canonical("Mr. Bounderby's"), Some("Josiah Bounderby"));
    }

    #[test]
    fn a_found_surname_and_its_mister_are_one_person() {
        // No cast given: "Arobin" (more often) and "Mr. Arobin" are found.
        let text = "Arobin laughed. Arobin rode. Arobin said nothing. Mr. Arobin came in. \
                    \"Good night,\" said Arobin. \"Stay,\" said Mr. Arobin. Arobin went.\n";
        let spans: Vec<(&str, Vec<(usize, &str)>)> = text.lines().map(|t| (t, en_name_spans(t))).collect();
        let n = build_names(text, false, &[], &spans);
        assert_eq!(n.canonical("Mr. Arobin"), Some("Arobin"));
        assert_eq!(n.canonical("Arobin"), Some("Arobin"));
        assert_eq!(
            n.gender.get("Arobin"),
            Some(&Gender::Male),
            "the title's gender goes with the name"
        );
    }

    #[test]
    fn a_found_full_name_and_its_halves_are_one_person() {
        // No cast given: "Ralph Denham", "Ralph" and "Denham" (also as
        // "Mr. Denham") are found; "Katharine Hilbery" too, but bare
        // "Hilbery" is mostly her father's "Mr. Hilbery"; "Poor Fanny" is
        // not a name, as the book writes "poor" in small letters.
        let text = "Then Ralph Denham came in. \"Yes,\" said Denham. Then Denham sat. \"No,\" said Ralph. \
                    Then Ralph Denham left. Then Mr. Denham rang. Then Denham rode. \"Well,\" said Ralph. \
                    Then Ralph Denham slept.\n\
                    Then Katharine Hilbery smiled. \"Tea?\" said Katharine. Then Katharine Hilbery went. \
                    Then Katharine Hilbery sat. Then Mr. Hilbery read. \"Hm,\" said Mr. Hilbery. Then Mr. Hilbery \
                    slept. Then Hilbery woke. Then Hilbery yawned. Then Hilbery coughed. \"So,\" said Katharine. Then Mr. Hilbery left.\n\
                    Then Poor Fanny wept. Then Poor Fanny sat. Then Poor Fanny ran. \"Oh,\" said Fanny. Then \
                    Fanny ran. The poor man was poor, poor and tired, poor soul, poor thing, poor me.\n";
        let spans: Vec<(&str, Vec<(usize, &str)>)> = text.lines().map(|t| (t, en_name_spans(t))).collect();
        let n = build_names(text, false, &[], &spans);
        let denham = n.canonical("Ralph Denham");
        assert!(denham.is_some(), "{:?}", n.alias);
        for form in ["Ralph", "Denham", "Mr. Denham"] {
            assert_eq!(n.canonical(form), denham, "{form}: {:?}", n.alias);
        }
        assert_eq!(
            n.gender.get(denham.unwrap()),
            Some(&Gender::Male),
            "Mr.'s gender goes along"
        );
        assert_eq!(
            n.canonical("Hilbery"),
            Some("Mr. Hilbery"),
            "the bare surname stays the father's"
        );
        assert_ne!(n.canonical("Katharine Hilbery"), Some("Mr. Hilbery"));
        assert_ne!(n.canonical("Fanny"), n.canonical("Poor Fanny"), "{:?}", n.alias);
    }

    #[test]
    fn quotes_by_two_speakers_in_one_paragraph_are_split() {
        let text = "\"Fibs, fibs!\" interrupted Emma. \"How on earth did you come?\" continued Mr. Elton.\n";
        let d = crate::ingest::import_bytes(
            std::path::Path::new("n.txt"),
            text.as_bytes(),
            &crate::ingest::IngestOptions::default(),
        )
        .expect("doc");
        let hints = vec![
            CastHint {
                aliases: vec!["Emma".into()],
                gender: Some('F'),
                ..Default::default()
            },
            CastHint {
                aliases: vec!["Mr. Elton".into()],
                gender: Some('M'),
                ..Default::default()
            },
        ];
        let s = super::super::extract(
            &[d],
            &super::super::ExtractOptions {
                known_cast: hints,
                layout: Some(super::super::Layout::Novel),
            },
        );
        let got: Vec<Option<&str>> = s.utterances.iter().map(|u| u.speaker.as_deref()).collect();
        assert_eq!(got, vec![Some("Emma"), Some("Mr. Elton")]);
    }
}
