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

/// Size the matrix kernels' thread pools (read when they start).
pub(crate) fn set_threads(threads: Option<usize>) {
    if let Some(n) = threads.filter(|&n| n > 0) {
        std::env::set_var("RAYON_NUM_THREADS", n.to_string());
        std::env::set_var("CANDLE_NUM_THREADS", n.to_string());
    }
}
