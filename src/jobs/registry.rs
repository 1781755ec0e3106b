//! Long jobs that run beside a user interface: each on its own thread, with
//! its events sent to whoever watches, cancellable by id, and listed so that a
//! window that reloads can attach again and see where the job stands.

use super::{CancelToken, Error, Event, Job, Result};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// What a watcher of a job receives: `{"type": "event", "event": …}`,
/// `{"type": "done", "result": …}`, `{"type": "failed", "error": {kind,
/// message, hint}}` or `{"type": "cancelled"}`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JobMessage {
    Event { event: Event },
    Done { result: serde_json::Value },
    Failed { error: serde_json::Value },
    Cancelled,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Running,
    Done,
    Failed,
    Cancelled,
}

/// A job as a list shows it.
#[derive(Debug, Clone, Serialize)]
pub struct JobInfo {
    pub id: u64,
    pub kind: String,
    pub label: String,
    pub state: JobState,
    pub last_event: Option<Event>,
}

/// Where a job's messages go.
pub type Watcher = Arc<dyn Fn(&JobMessage) + Send + Sync>;

struct Entry {
    info: JobInfo,
    cancel: CancelToken,
    watchers: Vec<Watcher>,
    end: Option<JobMessage>,
}

/// The jobs of one process.
#[derive(Default)]
pub struct Registry {
    jobs: Mutex<HashMap<u64, Entry>>,
    next: AtomicU64,
}

/// Jobs that ended are forgotten once this many more have ended.
const KEEP_ENDED: usize = 32;

impl Registry {
    pub fn new() -> Arc<Self> {
        Arc::new(Registry::default())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Entry>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Run `work` on a thread of its own; returns the job's id at once.
    pub fn start<F>(self: &Arc<Self>, kind: &str, label: &str, watcher: Watcher, work: F) -> u64
    where
        F: FnOnce(&Job) -> Result<serde_json::Value> + Send + 'static,
    {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let cancel = CancelToken::new();
        self.lock().insert(
            id,
            Entry {
                info: JobInfo {
                    id,
                    kind: kind.to_owned(),
                    label: label.to_owned(),
                    state: JobState::Running,
                    last_event: None,
                },
                cancel: cancel.clone(),
                watchers: vec![watcher],
                end: None,
            },
        );
        let me = Arc::clone(self);
        let sink = Arc::clone(self);
        let job = Job::new(Arc::new(move |e: &Event| sink.forward(id, e)), cancel);
        std::thread::Builder::new()
            .name(format!("job-{id}"))
            .spawn(move || {
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&job)));
                let (state, msg) = match outcome {
                    Ok(Ok(result)) => (JobState::Done, JobMessage::Done { result }),
                    Ok(Err(Error::Cancelled)) => (JobState::Cancelled, JobMessage::Cancelled),
                    Ok(Err(e)) => (JobState::Failed, failed(&e)),
                    Err(_) => (
                        JobState::Failed,
                        failed(&Error::Invalid(
                            "the job stopped on an internal error. Please report it; your files are unchanged.".into(),
                        )),
                    ),
                };
                me.finish(id, state, msg);
            })
            .expect("a thread for the job");
        id
    }

    fn forward(&self, id: u64, e: &Event) {
        let watchers = {
            let mut jobs = self.lock();
            let Some(entry) = jobs.get_mut(&id) else { return };
            entry.info.last_event = Some(e.clone());
            entry.watchers.clone()
        };
        let msg = JobMessage::Event { event: e.clone() };
        for w in watchers {
            w(&msg);
        }
    }

    fn finish(&self, id: u64, state: JobState, msg: JobMessage) {
        let watchers = {
            let mut jobs = self.lock();
            let Some(entry) = jobs.get_mut(&id) else { return };
            entry.info.state = state;
            entry.end = Some(msg.clone());
            let w = std::mem::take(&mut entry.watchers);
            let mut ended: Vec<u64> = jobs.iter().filter(|(_, e)| e.end.is_some()).map(|(k, _)| *k).collect();
            ended.sort_unstable();
            if ended.len() > KEEP_ENDED {
                for k in &ended[..ended.len() - KEEP_ENDED] {
                    jobs.remove(k);
                }
            }
            w
        };
        for w in watchers {
            w(&msg);
        }
    }

    /// Ask a job to stop; it ends with `cancelled` at its next check.
    pub fn cancel(&self, id: u64) -> Result<()> {
        match self.lock().get(&id) {
            Some(e) => {
                e.cancel.cancel();
                Ok(())
            }
            None => Err(no_job(id)),
        }
    }

    /// Every job this process knows, newest first.
    pub fn list(&self) -> Vec<JobInfo> {
        let mut v: Vec<JobInfo> = self.lock().values().map(|e| e.info.clone()).collect();
        v.sort_by_key(|j| std::cmp::Reverse(j.id));
        v
    }

    /// How a job ended (its result, error or cancel); `None` while it runs.
    pub fn end(&self, id: u64) -> Result<Option<JobMessage>> {
        Ok(self.lock().get(&id).ok_or_else(|| no_job(id))?.end.clone())
    }

    /// Watch a job again (after a reload): the watcher gets the job's last
    /// event at once, then what follows, or its end if it has ended.
    pub fn attach(&self, id: u64, watcher: Watcher) -> Result<()> {
        let (last, end) = {
            let mut jobs = self.lock();
            let e = jobs.get_mut(&id).ok_or_else(|| no_job(id))?;
            if e.end.is_none() {
                e.watchers.push(Arc::clone(&watcher));
            }
            (e.info.last_event.clone(), e.end.clone())
        };
        if let Some(event) = last {
            watcher(&JobMessage::Event { event });
        }
        if let Some(end) = end {
            watcher(&end);
        }
        Ok(())
    }
}

fn failed(e: &Error) -> JobMessage {
    JobMessage::Failed {
        error: serde_json::to_value(e).unwrap_or_default(),
    }
}

fn no_job(id: u64) -> Error {
    Error::Invalid(format!(
        "there is no job {id}: it ended long ago or the app was restarted."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn channel() -> (Watcher, mpsc::Receiver<JobMessage>) {
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        (
            Arc::new(move |m: &JobMessage| tx.lock().unwrap().send(m.clone()).unwrap()),
            rx,
        )
    }

    fn end(rx: &mpsc::Receiver<JobMessage>) -> JobMessage {
        loop {
            let m = rx
                .recv_timeout(std::time::Duration::from_secs(10))
                .expect("the job ends");
            if !matches!(m, JobMessage::Event { .. }) {
                return m;
            }
        }
    }

    #[test]
    fn a_job_reports_and_ends_and_a_late_watcher_sees_its_end() {
        let reg = Registry::new();
        let (w, rx) = channel();
        let id = reg.start("t", "one", w, |job| {
            job.report("import", 1, Some(2), "files", "half");
            Ok(serde_json::json!({"n": 7}))
        });
        match end(&rx) {
            JobMessage::Done { result } => assert_eq!(result["n"], 7),
            m => panic!("{m:?}"),
        }
        let (w2, rx2) = channel();
        reg.attach(id, w2).unwrap();
        assert!(matches!(rx2.recv().unwrap(), JobMessage::Event { .. }));
        assert!(matches!(rx2.recv().unwrap(), JobMessage::Done { .. }));
        assert_eq!(reg.list()[0].state, JobState::Done);
    }

    #[test]
    fn cancel_and_errors_reach_the_watcher() {
        let reg = Registry::new();
        let (w, rx) = channel();
        let id = reg.start("t", "waits", w, |job| loop {
            job.check()?;
            std::thread::sleep(std::time::Duration::from_millis(5));
        });
        reg.cancel(id).unwrap();
        assert!(matches!(end(&rx), JobMessage::Cancelled));
        let (w, rx) = channel();
        reg.start("t", "fails", w, |_| Err(Error::Invalid("bad input".into())));
        match end(&rx) {
            JobMessage::Failed { error } => {
                assert_eq!(error["kind"], "invalid");
                assert_eq!(error["message"], "bad input");
            }
            m => panic!("{m:?}"),
        }
        assert!(reg.cancel(999).is_err());
    }
}
