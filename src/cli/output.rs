//! What every command shares: progress bars, Ctrl-C, JSON output, threads.

use super::*;
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::{Arc, Mutex};

pub(crate) type Bar = Arc<Mutex<Option<ProgressBar>>>;

/// The process's cancel token: the first Ctrl-C asks the running step to
/// stop cleanly (a training run saves its checkpoint), the second one ends
/// the process at once. Exit status 130 either way.
pub(crate) fn interrupt_token() -> CancelToken {
    static TOKEN: std::sync::OnceLock<CancelToken> = std::sync::OnceLock::new();
    extern "C" fn on_sigint(_: libc::c_int) {
        match TOKEN.get() {
            Some(t) if !t.is_cancelled() => t.cancel(),
            // SAFETY: _exit is async-signal-safe.
            _ => unsafe { libc::_exit(130) },
        }
    }
    TOKEN
        .get_or_init(|| {
            #[cfg(unix)]
            // SAFETY: the handler only touches atomics and calls _exit.
            unsafe {
                libc::signal(libc::SIGINT, on_sigint as *const () as libc::sighandler_t);
            }
            CancelToken::new()
        })
        .clone()
}

/// Progress bars on a terminal; nothing when output is piped.
pub(crate) fn cli_job(json: bool) -> (Job, Bar) {
    cli_job_with(json, |_, _| {})
}

/// [`cli_job`] that also hands each training event to `on_train`.
pub(crate) fn cli_job_with(
    json: bool,
    on_train: impl Fn(&dramatis::tune::TrainEvent, &Bar) + Send + Sync + 'static,
) -> (Job, Bar) {
    let bar: Bar = Arc::new(Mutex::new(None));
    let b = bar.clone();
    let sink = move |e: &Event| match e {
        Event::Progress(p) if !json => draw(&b, p),
        Event::Train(t) => on_train(t, &b),
        Event::Log { message, .. } if !json => {
            finish_bar(&b);
            eprintln!("{message}");
        }
        _ => {}
    };
    (Job::new(Arc::new(sink), interrupt_token()), bar)
}

pub(crate) fn draw(bar: &Bar, p: &Progress) {
    let Ok(mut slot) = bar.lock() else { return };
    let pb = slot.get_or_insert_with(|| ProgressBar::new(0));
    let template = if p.unit == "bytes" {
        "{spinner} {prefix:>8} [{bar:30}] {bytes}/{total_bytes} {wide_msg}"
    } else {
        "{spinner} {prefix:>8} [{bar:30}] {pos}/{len} {wide_msg}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_prefix(p.stage);
    if let Some(t) = p.total {
        pb.set_length(t);
    }
    pb.set_position(p.done);
    pb.set_message(p.message.clone());
}

pub(crate) fn finish_bar(bar: &Bar) {
    if let Ok(mut slot) = bar.lock() {
        if let Some(pb) = slot.take() {
            pb.finish_and_clear();
        }
    }
}

/// Pretty JSON on stdout, streamed (a book's utterances are never one string in memory).
pub fn print_json<T: serde::Serialize>(v: &T) -> Result<(), Error> {
    use std::io::Write;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, v)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out))
        .and_then(|()| out.flush())
        .map_err(|e| Error::Invalid(format!("could not write the JSON output: {e}")))
}

/// [`print_json`] for a long list: the same pretty JSON, its items
/// serialised on all cores in blocks and written in order.
pub fn print_json_list<T: serde::Serialize + Sync>(items: &[T]) -> Result<(), Error> {
    let out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    write_json_list(out, items).map_err(|e| Error::Invalid(format!("could not write the JSON output: {e}")))
}

fn write_json_list<T: serde::Serialize + Sync>(mut out: impl std::io::Write, items: &[T]) -> std::io::Result<()> {
    use rayon::prelude::*;
    if items.is_empty() {
        return out.write_all(b"[]\n");
    }
    out.write_all(b"[")?;
    let block = 2048;
    let mut first = true;
    // A few blocks at a time, so that memory stays bounded for any length.
    for group in items.chunks(block * 16) {
        let texts: Vec<Vec<u8>> = group.par_chunks(block).map(indented_items).collect::<Result<_, _>>()?;
        for t in texts {
            // The array's first item follows the bracket without a comma.
            let skip = usize::from(std::mem::take(&mut first));
            out.write_all(&t[skip..])?;
        }
    }
    out.write_all(b"\n]\n")?;
    out.flush()
}

/// The items as they appear inside a pretty-printed array, each after a
/// comma, a line break and two spaces.
fn indented_items<T: serde::Serialize>(items: &[T]) -> std::io::Result<Vec<u8>> {
    let mut text = Vec::with_capacity(items.len() * 320);
    let mut one = Vec::with_capacity(1024);
    for item in items {
        one.clear();
        serde_json::to_writer_pretty(&mut one, item)?;
        text.extend_from_slice(b",\n  ");
        // Strings in JSON hold no raw line breaks: each one is the layout's,
        // one level deeper inside the array.
        let mut from = 0;
        for nl in memchr::memchr_iter(b'\n', &one) {
            text.extend_from_slice(&one[from..=nl]);
            text.extend_from_slice(b"  ");
            from = nl + 1;
        }
        text.extend_from_slice(&one[from..]);
    }
    Ok(text)
}

/// Size the matrix kernels' thread pools (read when they start).
pub(crate) fn set_threads(threads: Option<usize>) {
    if let Some(n) = threads.filter(|&n| n > 0) {
        std::env::set_var("RAYON_NUM_THREADS", n.to_string());
        std::env::set_var("CANDLE_NUM_THREADS", n.to_string());
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_long_list_prints_as_serde_json_prints_it() {
        #[derive(serde::Serialize)]
        struct Item {
            name: Option<String>,
            text: String,
            tags: Vec<String>,
            at: usize,
        }
        for n in [0usize, 1, 5, 2048, 2049, 70_001] {
            let items: Vec<Item> = (0..n)
                .map(|i| Item {
                    name: (i % 3 != 0).then(|| format!("n{i}")),
                    text: format!("line \"{i}\"\nwith a break"),
                    tags: (0..i % 3).map(|t| t.to_string()).collect(),
                    at: i,
                })
                .collect();
            let mut ours = Vec::new();
            super::write_json_list(&mut ours, &items).unwrap();
            let mut theirs = serde_json::to_vec_pretty(&items).unwrap();
            theirs.push(b'\n');
            assert!(ours == theirs, "{n} items differ");
        }
    }
}
