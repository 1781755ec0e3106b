//! Text-overlap metrics for generated replies against the character's real
//! lines: corpus BLEU as sacrebleu computes it (13a tokenization, with CJK
//! characters split as sacrebleu's `zh` tokenizer does; "exp" smoothing),
//! ROUGE-L F1 and SQuAD-style token F1.

use std::collections::HashMap;

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2EBEF
        | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F | 0x3000..=0x303F | 0xFF00..=0xFFEF
        | 0x2E80..=0x2EFF | 0x31C0..=0x31EF | 0x3200..=0x32FF)
}

/// sacrebleu's 13a tokenizer (mteval-v13a), after splitting CJK characters.
pub fn tokenize_13a(text: &str) -> Vec<String> {
    let mut s = String::with_capacity(text.len() + 16);
    for c in text
        .replace("<skipped>", "")
        .replace("-\n", "")
        .replace('\n', " ")
        .chars()
    {
        if is_cjk(c) {
            s.push(' ');
            s.push(c);
            s.push(' ');
        } else {
            s.push(c);
        }
    }
    let s = if s.contains('&') {
        s.replace("&quot;", "\"")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
    } else {
        s
    };
    // Punctuation classes of 13a: {-~, [-`, space-&, (-+, :-@, /
    let punct = |c: char| matches!(c, '{'..='~' | '['..='`' | ' '..='&' | '('..='+' | ':'..='@' | '/') && c != ' ';
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(chars.len() * 2);
    for (i, &c) in chars.iter().enumerate() {
        let prev = if i > 0 { Some(chars[i - 1]) } else { None };
        let next = chars.get(i + 1).copied();
        if punct(c) {
            out.push(' ');
            out.push(c);
            out.push(' ');
        } else if c == '.' || c == ',' {
            // Period and comma split off unless between digits.
            let prev_digit = prev.is_some_and(|p| p.is_ascii_digit());
            let next_digit = next.is_some_and(|n| n.is_ascii_digit());
            if prev_digit && next_digit {
                out.push(c);
            } else {
                out.push(' ');
                out.push(c);
                out.push(' ');
            }
        } else if c == '-' && prev.is_some_and(|p| p.is_ascii_digit()) {
            out.push(' ');
            out.push(c);
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out.split_whitespace().map(str::to_owned).collect()
}

fn ngrams(tokens: &[String], n: usize) -> HashMap<&[String], usize> {
    let mut m = HashMap::new();
    if tokens.len() >= n {
        for w in tokens.windows(n) {
            *m.entry(w).or_insert(0) += 1;
        }
    }
    m
}

/// Corpus BLEU (0–100) of `hyps` against one reference each.
pub fn corpus_bleu(hyps: &[String], refs: &[String]) -> f64 {
    let mut correct = [0usize; 4];
    let mut total = [0usize; 4];
    let (mut sys_len, mut ref_len) = (0usize, 0usize);
    for (h, r) in hyps.iter().zip(refs) {
        let (h, r) = (tokenize_13a(h), tokenize_13a(r));
        sys_len += h.len();
        ref_len += r.len();
        for n in 1..=4 {
            let hn = ngrams(&h, n);
            let rn = ngrams(&r, n);
            for (g, &c) in &hn {
                correct[n - 1] += c.min(rn.get(g).copied().unwrap_or(0));
            }
            total[n - 1] += h.len().saturating_sub(n - 1);
        }
    }
    if sys_len == 0 {
        return 0.0;
    }
    let bp = if sys_len < ref_len {
        (1.0 - ref_len as f64 / sys_len as f64).exp()
    } else {
        1.0
    };
    let mut precisions = [0f64; 4];
    let mut smooth = 1f64;
    for n in 0..4 {
        if total[n] == 0 {
            break;
        }
        precisions[n] = if correct[n] == 0 {
            smooth *= 2.0;
            100.0 / (smooth * total[n] as f64)
        } else {
            100.0 * correct[n] as f64 / total[n] as f64
        };
    }
    let log = |p: f64| if p == 0.0 { -9_999_999_999.0 } else { p.ln() };
    bp * (precisions.iter().map(|&p| log(p)).sum::<f64>() / 4.0).exp()
}

/// Words for ROUGE-L and F1: lower-cased, punctuation dropped, CJK
/// characters one by one.
pub fn words(text: &str) -> Vec<String> {
    tokenize_13a(&text.to_lowercase())
        .into_iter()
        .filter(|t| t.chars().any(|c| c.is_alphanumeric()))
        .collect()
}

fn lcs(a: &[String], b: &[String]) -> usize {
    let mut prev = vec![0usize; b.len() + 1];
    let mut cur = vec![0usize; b.len() + 1];
    for x in a {
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = if x == y { prev[j] + 1 } else { cur[j].max(prev[j + 1]) };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// ROUGE-L F1 (0–1) of one reply.
pub fn rouge_l(hyp: &str, reference: &str) -> f64 {
    let (h, r) = (words(hyp), words(reference));
    if h.is_empty() || r.is_empty() {
        return 0.0;
    }
    let l = lcs(&h, &r) as f64;
    if l == 0.0 {
        return 0.0;
    }
    let (p, rc) = (l / h.len() as f64, l / r.len() as f64);
    2.0 * p * rc / (p + rc)
}

/// Token-overlap F1 (0–1) of one reply, as in SQuAD (articles dropped too).
pub fn token_f1(hyp: &str, reference: &str) -> f64 {
    let clean = |s: &str| -> Vec<String> {
        words(s)
            .into_iter()
            .filter(|w| !matches!(w.as_str(), "a" | "an" | "the"))
            .collect()
    };
    let (h, r) = (clean(hyp), clean(reference));
    if h.is_empty() || r.is_empty() {
        return if h.is_empty() && r.is_empty() { 1.0 } else { 0.0 };
    }
    let mut counts: HashMap<&str, isize> = HashMap::new();
    for w in &r {
        *counts.entry(w.as_str()).or_insert(0) += 1;
    }
    let mut same = 0usize;
    for w in &h {
        if let Some(c) = counts.get_mut(w.as_str()) {
            if *c > 0 {
                *c -= 1;
                same += 1;
            }
        }
    }
    if same == 0 {
        return 0.0;
    }
    let (p, rc) = (same as f64 / h.len() as f64, same as f64 / r.len() as f64);
    2.0 * p * rc / (p + rc)
}
