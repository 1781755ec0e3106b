//! What every long step shares: a readable error type, progress reports and
//! cancellation. The CLI turns progress into bars; the app will forward it over
//! a Tauri channel. Nothing here knows about either face.

use serde::Serialize;

mod events;
pub mod registry;
pub use events::{Event, EventSink, LogLevel, Progress, TrainEvent};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// An error a person can act on: what happened, to which file or setting, and
/// what to do next. Crosses the IPC boundary as `{kind, message, hint, path?,
/// line?}`; the hint is in plain words and names no command-line flag (the
/// CLI adds its flags where they help).
#[derive(Debug)]
pub enum Error {
    NotFound {
        path: PathBuf,
    },
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The disk (or the file-size limit) is full; nothing was half-written.
    DiskFull {
        path: PathBuf,
    },
    /// The file or folder may not be written.
    ReadOnly {
        path: PathBuf,
    },
    Empty {
        path: PathBuf,
    },
    NotText {
        path: PathBuf,
        what: String,
    },
    Corrupt {
        path: PathBuf,
        container: &'static str,
        detail: String,
    },
    TooLarge {
        path: PathBuf,
        detail: String,
        limit_mb: u64,
    },
    Format {
        path: PathBuf,
        detail: String,
    },
    Dataset {
        path: PathBuf,
        line: usize,
        detail: String,
    },
    Invalid(String),
    Compute(String),
    /// The GPU failed while running (driver error, out of its memory).
    Gpu(String),
    NotEnoughMemory {
        needed_mib: u64,
        available_mib: u64,
    },
    /// Another Dramatis window or command is using it (a library, a run folder).
    Busy {
        path: PathBuf,
        what: String,
    },
    Cancelled,
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } | Error::Write { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        // candle appends a backtrace when RUST_BACKTRACE is set: keep the message.
        let text = e.to_string();
        let first = text.lines().next().unwrap_or("").trim().to_owned();
        if is_gpu_failure(&first) {
            Error::Gpu(first)
        } else {
            Error::Compute(first)
        }
    }
}

/// Whether a compute error came from a GPU back end (CUDA driver, cuBLAS,
/// Metal), as opposed to the model's own arithmetic.
pub fn is_gpu_failure(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    ["cuda", "cublas", "curand", "nvrtc", "metal", "mtl"]
        .iter()
        .any(|w| m.split(|c: char| !c.is_ascii_alphanumeric()).any(|t| t.starts_with(w)))
}

impl Error {
    /// A stable machine-readable name for the kind of error.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::NotFound { .. } => "not_found",
            Error::Io { .. } => "io",
            Error::Write { .. } => "write",
            Error::DiskFull { .. } => "disk_full",
            Error::ReadOnly { .. } => "read_only",
            Error::Empty { .. } => "empty",
            Error::NotText { .. } => "unsupported_file",
            Error::Corrupt { .. } => "corrupt",
            Error::TooLarge { .. } => "too_large",
            Error::Format { .. } => "format",
            Error::Dataset { .. } => "dataset",
            Error::Invalid(_) => "invalid",
            Error::Compute(_) => "compute",
            Error::Gpu(_) => "gpu",
            Error::NotEnoughMemory { .. } => "not_enough_memory",
            Error::Busy { .. } => "busy",
            Error::Cancelled => "cancelled",
        }
    }

    /// What happened (and to which file), without the advice.
    pub fn message(&self) -> String {
        match self {
            Error::NotFound { path } => format!("{}: file not found.", path.display()),
            Error::Io { path, source } => format!("{}: could not read the file ({source}).", path.display()),
            Error::Write { path, source } => format!("{}: could not write ({source}).", path.display()),
            Error::DiskFull { path } => format!(
                "{}: the disk is full (or the file size limit was reached).",
                path.display()
            ),
            Error::ReadOnly { path } => format!("{}: this file or folder may not be written.", path.display()),
            Error::Empty { path } => format!("{}: the file is empty.", path.display()),
            Error::NotText { path, what } => format!("{}: {what}.", path.display()),
            Error::Corrupt {
                path,
                container,
                detail,
            } => format!("{}: the {container} archive is damaged ({detail}).", path.display()),
            Error::TooLarge { path, detail, limit_mb } => format!(
                "{}: {detail}, more than the limit of {limit_mb} MB of text.",
                path.display()
            ),
            Error::Format { path, detail } => format!("{}: {detail}", path.display()),
            Error::Dataset { path, line, detail } => format!("{}, line {line}: {detail}", path.display()),
            Error::Invalid(m) => m.clone(),
            Error::Compute(m) => format!("the model failed while running ({m})."),
            Error::Gpu(m) => format!("the GPU failed ({m})."),
            Error::NotEnoughMemory {
                needed_mib,
                available_mib,
            } => format!("this needs about {needed_mib} MiB of memory and {available_mib} MiB are free."),
            Error::Busy { path, what } => format!(
                "{}: {what} is in use by another Dramatis window or command.",
                path.display()
            ),
            Error::Cancelled => "cancelled".into(),
        }
    }

    /// What to do next, in plain words; `None` where the message says it.
    pub fn hint(&self) -> Option<&'static str> {
        Some(match self {
            Error::NotFound { .. } => "Check the path and try again.",
            Error::Io { .. } => "Check that it exists and that you may read it.",
            Error::Write { .. } => "Check free disk space and permissions for that folder.",
            Error::DiskFull { .. } => "Free some space and try again; what was saved before is intact.",
            Error::ReadOnly { .. } => "Choose a folder you may write to, or change its permissions.",
            Error::Empty { .. } => "Choose the file that holds the book or script text.",
            Error::NotText { .. } => {
                "Dramatis reads plain text and Markdown, EPUB, DOCX, SRT, ASS/SSA and Fountain files."
            }
            Error::Corrupt { .. } => "Download or export the file again.",
            Error::TooLarge { .. } => "Split the file, or raise the size limit.",
            Error::Compute(_) => "If this repeats, report it with the model you used.",
            Error::Gpu(_) => {
                "Dramatis has moved to the CPU (slower), and nothing you made is lost: try again. If the GPU fails often, update its driver or choose a smaller model."
            }
            Error::NotEnoughMemory { .. } => {
                "Choose a smaller preset (Quick taste), a smaller batch or a shorter maximum length, or close other programs."
            }
            Error::Busy { .. } => "Wait for it to finish (or close it) and try again, or choose another folder.",
            Error::Format { .. } | Error::Dataset { .. } | Error::Invalid(_) | Error::Cancelled => return None,
        })
    }

    /// The file the error is about, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Error::NotFound { path }
            | Error::Io { path, .. }
            | Error::Write { path, .. }
            | Error::DiskFull { path }
            | Error::ReadOnly { path }
            | Error::Empty { path }
            | Error::NotText { path, .. }
            | Error::Corrupt { path, .. }
            | Error::TooLarge { path, .. }
            | Error::Format { path, .. }
            | Error::Dataset { path, .. }
            | Error::Busy { path, .. } => Some(path),
            _ => None,
        }
    }

    /// The line of the file, where the error is about one.
    pub fn line(&self) -> Option<usize> {
        match self {
            Error::Dataset { line, .. } => Some(*line),
            _ => None,
        }
    }

    pub fn io(path: &Path, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::NotFound {
            Error::NotFound { path: path.into() }
        } else {
            Error::Io {
                path: path.into(),
                source,
            }
        }
    }

    pub fn write(path: &Path, source: std::io::Error) -> Self {
        use std::io::ErrorKind::{FileTooLarge, PermissionDenied, QuotaExceeded, ReadOnlyFilesystem, StorageFull};
        match source.kind() {
            StorageFull | FileTooLarge | QuotaExceeded => Error::DiskFull { path: path.into() },
            PermissionDenied | ReadOnlyFilesystem => Error::ReadOnly { path: path.into() },
            _ => Error::Write {
                path: path.into(),
                source,
            },
        }
    }
}

/// The message and the hint, as the CLI prints them.
impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())?;
        if let Some(h) = self.hint() {
            write!(f, " {h}")?;
        }
        Ok(())
    }
}

impl Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Error", 5)?;
        st.serialize_field("kind", self.kind())?;
        st.serialize_field("message", &self.message())?;
        st.serialize_field("hint", &self.hint())?;
        if let Some(p) = self.path() {
            st.serialize_field("path", p)?;
        } else {
            st.skip_field("path")?;
        }
        if let Some(l) = self.line() {
            st.serialize_field("line", &l)?;
        } else {
            st.skip_field("line")?;
        }
        st.end()
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shared cancellation flag; cheap to clone and check from any thread.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed)
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
    /// Clear a cancel that was acted on, so the next step can run (the next
    /// reply of a chat after the user stopped one).
    pub fn reset(&self) {
        self.0.store(false, Ordering::Relaxed)
    }
}

/// The context a long step runs in: where to report and when to stop.
#[derive(Clone, Default)]
pub struct Job {
    sink: Option<Arc<dyn EventSink>>,
    cancel: CancelToken,
}

impl Job {
    pub fn new(sink: Arc<dyn EventSink>, cancel: CancelToken) -> Self {
        Job {
            sink: Some(sink),
            cancel,
        }
    }

    /// A job that reports nowhere and is never cancelled.
    pub fn silent() -> Self {
        Job::default()
    }

    pub fn report(
        &self,
        stage: &'static str,
        done: u64,
        total: Option<u64>,
        unit: &'static str,
        message: impl Into<String>,
    ) {
        if self.sink.is_some() {
            self.emit(Event::Progress(Progress {
                stage,
                done,
                total,
                unit,
                message: message.into(),
            }));
        }
    }

    /// Send one event to whoever watches this job (a progress bar, the app's
    /// channel, a test).
    pub fn emit(&self, event: Event) {
        if let Some(sink) = &self.sink {
            sink.event(&event);
        }
    }

    /// A line for the log, shown by the CLI on stderr and by the app in its log.
    pub fn log(&self, level: LogLevel, message: impl Into<String>) {
        self.emit(Event::Log {
            level,
            message: message.into(),
        });
    }

    /// Returns `Err(Cancelled)` once the user asked to stop.
    pub fn check(&self) -> Result<()> {
        if self.cancel.is_cancelled() {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }

    pub fn cancel_token(&self) -> &CancelToken {
        &self.cancel
    }
}

/// Memory this process may still use, in bytes: the least of what the OS
/// has available, what the cgroup (container) allows, and the address-space
/// limit (`ulimit -v`). `None` where the OS does not say.
pub fn memory_available() -> Option<u64> {
    let mut best: Option<u64> = None;
    let mut take = |v: Option<u64>| {
        if let Some(v) = v {
            best = Some(best.map_or(v, |b| b.min(v)));
        }
    };
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok();
    take(meminfo.as_deref().and_then(|m| kib_field(m, "MemAvailable:")));
    let cg_max = std::fs::read_to_string("/sys/fs/cgroup/memory.max").ok();
    let cg_cur = std::fs::read_to_string("/sys/fs/cgroup/memory.current").ok();
    if let (Some(max), Some(cur)) = (cg_max, cg_cur) {
        if let (Ok(max), Ok(cur)) = (max.trim().parse::<u64>(), cur.trim().parse::<u64>()) {
            take(Some(max.saturating_sub(cur)));
        }
    }
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit only writes the struct we pass.
        if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut lim) } == 0 && lim.rlim_cur != libc::RLIM_INFINITY {
            // Threads' stacks and the allocator's arenas reserve address
            // space beyond what is resident: count four fifths as usable.
            let used = self_status_bytes("VmSize:").unwrap_or(0);
            take(Some(lim.rlim_cur.saturating_sub(used) / 5 * 4));
        }
    }
    best
}

/// A `Name:   1234 kB` field of `/proc/self/status` (VmSize, VmHWM…), in bytes.
pub fn self_status_bytes(name: &str) -> Option<u64> {
    kib_field(&std::fs::read_to_string("/proc/self/status").ok()?, name)
}

/// A `Name:   1234 kB` line of a /proc file, in bytes.
fn kib_field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// An exclusive claim on a folder (a training run's output) for as long as
/// the value lives. The OS drops it when the process ends, however it ends,
/// so a free lock on a folder with unfinished work means that work was
/// interrupted (closed, crashed, killed for memory) and can be resumed.
#[derive(Debug)]
pub struct FolderLock {
    _file: std::fs::File,
}

impl FolderLock {
    const NAME: &'static str = ".dramatis.lock";

    /// Claim `dir` for `what` ("a training run"); fails if another process holds it.
    pub fn acquire(dir: &Path, what: &str) -> Result<FolderLock> {
        std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
        let path = dir.join(Self::NAME);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::write(&path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(FolderLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::Busy {
                path: dir.into(),
                what: what.into(),
            }),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::write(&path, e)),
        }
    }

    /// Whether some process holds `dir` now.
    pub fn is_held(dir: &Path) -> bool {
        let Ok(file) = std::fs::OpenOptions::new().write(true).open(dir.join(Self::NAME)) else {
            return false;
        };
        match file.try_lock() {
            Ok(()) => {
                let _ = file.unlock();
                false
            }
            Err(_) => true,
        }
    }
}

/// Write a file atomically: temporary file in the same folder, then rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::write(path, e));
    }
    Ok(())
}

/// The largest allocation glibc serves from its heap instead of mapping it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: i32 = 32 << 20;

/// Set up the process for model work: keep freed large buffers in the heap
/// instead of returning them to the OS (every training step allocates
/// hundreds of MB of activations; with glibc's defaults each allocation gets
/// fresh pages that the kernel must zero, about a fifth of a step), and give
/// the matrix kernels an explicit thread count (candle otherwise looks the CPU
/// count up again on every operation).
pub fn init_runtime() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator thresholds; called before heavy allocation.
    unsafe {
        // Up to 32 MiB (every activation and gradient of the train bench's
        // 4 × 256 steps) from the heap; larger one-off buffers get their own
        // mapping and go back to the system when freed.
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
    // A write past the file-size limit (`ulimit -f`) then fails with an error
    // the user can read ("the disk is full …") instead of killing the process
    // halfway through a checkpoint.
    #[cfg(unix)]
    // SAFETY: ignoring a signal has no preconditions.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    // candle's elementwise pool spins 25,000 rounds for the next task before it
    // parks; between those tasks the products run on rayon's threads, so the
    // spinning worker takes a core from them (a tenth of a training step on
    // two cores, measured with perf). Park almost at once instead.
    if std::env::var_os("CANDLE_BARRIER_POOL_SPIN_LIMIT").is_none() {
        std::env::set_var("CANDLE_BARRIER_POOL_SPIN_LIMIT", "200");
    }
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        std::env::set_var("RAYON_NUM_THREADS", n.to_string());
    }
}

#[cfg(test)]
mod gpu_error_tests {
    use super::*;

    #[test]
    fn gpu_failures_are_told_apart_from_model_errors() {
        let gpu = [
            "DriverError(CUDA_ERROR_OUT_OF_MEMORY, \"out of memory\")",
            "cublas error: CUBLAS_STATUS_ALLOC_FAILED",
            "Metal error: command buffer failed",
            "MTLCommandBuffer error",
        ];
        for m in gpu {
            let e: Error = candle_core::Error::Msg(m.into()).into();
            assert_eq!(e.kind(), "gpu", "{m}");
            assert!(e.hint().unwrap().contains("moved to the CPU"));
        }
        for m in [
            "shape mismatch in matmul, lhs: [2, 3], rhs: [4, 5]",
            "unexpected dtype, expected: F32, got: BF16",
        ] {
            let e: Error = candle_core::Error::Msg(m.into()).into();
            assert_eq!(e.kind(), "compute", "{m}");
        }
    }
}
