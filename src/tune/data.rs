//! Training examples: dataset samples rendered with the model's own chat
//! template, tokenized, with the loss on the reply only, and batched by length.

use crate::dataset::Sample;
use crate::jobs::Result;
use crate::model::{template, ChatMessage, TextTokenizer};
use crate::random::Rng;

/// Marks positions that do not count in the loss.
pub const IGNORE: u32 = u32::MAX;

/// One tokenized example: `ids` and, per position, the token it must predict
/// next (`IGNORE` on the prompt).
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub ids: Vec<u32>,
    pub targets: Vec<u32>,
}

impl Example {
    pub fn response_tokens(&self) -> usize {
        self.targets.iter().filter(|&&t| t != IGNORE).count()
    }
}

pub use crate::dataset::chat_messages as messages;

/// Render and tokenize `s`: the prompt (with the assistant turn opened) is
/// masked, the reply and its end-of-turn marker are learned. Older history
/// turns are dropped to fit `max_len`; then the reply is cut.
pub fn encode(s: &Sample, tpl: &str, tok: &TextTokenizer, max_len: usize) -> Result<Option<Example>> {
    let name = |id: Option<u32>| id.and_then(|i| tok.inner.id_to_token(i)).unwrap_or_default();
    let (bos, eos) = (name(tok.bos), name(tok.eos));
    for drop in 0..=s.history.len() {
        let mut msgs = messages(s, drop);
        let prompt = template::render(tpl, &msgs, true, &bos, &eos)?;
        msgs.push(ChatMessage::new("assistant", &s.output));
        let full = template::render(tpl, &msgs, false, &bos, &eos)?;
        // Tokenize the reply on its own so the mask boundary is exact.
        let reply = match full.strip_prefix(&prompt) {
            Some(r) => r.to_owned(),
            None => {
                // A template that renders the last turn differently: learn the reply text itself.
                format!("{}{}", s.output, eos)
            }
        };
        let p = tok.encode_prompt(&prompt)?;
        let r = tok.encode(&reply)?;
        if r.is_empty() {
            return Ok(None);
        }
        if p.len() + r.len() > max_len && drop < s.history.len() {
            continue;
        }
        let mut ids = p.clone();
        ids.extend_from_slice(&r);
        // Position i predicts ids[i+1]: only positions whose next token is in the reply count.
        let mut targets = vec![IGNORE; ids.len()];
        let from = p.len().saturating_sub(1);
        let n = ids.len() - 1;
        targets[from..n].copy_from_slice(&ids[from + 1..]);
        ids.truncate(max_len);
        targets.truncate(max_len);
        if let Some(last) = targets.last_mut() {
            if ids.len() == max_len {
                *last = IGNORE; // its next token was cut
            }
        }
        let e = Example { ids, targets };
        return Ok((e.response_tokens() > 0).then_some(e));
    }
    Ok(None)
}

/// Batches of example indices for one epoch: shuffled with `seed` and
/// `epoch`, then grouped by similar length so little padding is wasted.
pub fn epoch_batches(lengths: &[usize], batch: usize, seed: u64, epoch: usize) -> Vec<Vec<usize>> {
    let mut rng = Rng::new(seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    for i in (1..order.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    // Sort by length inside windows of 32 batches, keep windows in random order.
    let window = (batch * 32).max(1);
    let mut batches = Vec::new();
    for chunk in order.chunks(window) {
        let mut c = chunk.to_vec();
        c.sort_by_key(|&i| lengths[i]);
        batches.extend(c.chunks(batch.max(1)).map(|b| b.to_vec()));
    }
    for i in (1..batches.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        batches.swap(i, j);
    }
    batches
}

/// Right-pad a batch: ids `[b, l]` (padding with `pad`) and flat targets.
pub fn pad(batch: &[&Example], pad: u32) -> (Vec<u32>, Vec<u32>, usize) {
    let l = batch.iter().map(|e| e.ids.len()).max().unwrap_or(0);
    let mut ids = Vec::with_capacity(batch.len() * l);
    let mut targets = Vec::with_capacity(batch.len() * l);
    for e in batch {
        ids.extend_from_slice(&e.ids);
        ids.extend(std::iter::repeat_n(pad, l - e.ids.len()));
        targets.extend_from_slice(&e.targets);
        targets.extend(std::iter::repeat_n(IGNORE, l - e.ids.len()));
    }
    (ids, targets, l)
}
