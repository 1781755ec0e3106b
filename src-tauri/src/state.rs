//! What the app holds while it runs: the library, the drafts being reviewed,
//! the datasets open for review and the running jobs.

use dramatis::jobs::registry::Registry;
use dramatis::jobs::{Error, Result};
use dramatis::pipeline::chat::ChatSession;
use dramatis::pipeline::review::{DatasetTarget, Draft, ReviewDataset};
use dramatis::store::Library;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

pub struct AppState {
    pub data_dir: PathBuf,
    pub library: Mutex<Library>,
    pub drafts: Mutex<HashMap<u64, Draft>>,
    /// Library datasets open in the review screen, by dataset id.
    pub reviews: Mutex<HashMap<i64, ReviewDataset>>,
    pub jobs: Arc<Registry>,
    /// Open chats: a loaded model each, by session id.
    pub chats: Mutex<HashMap<u64, Arc<Mutex<ChatSession>>>>,
    /// Training jobs by job id, with the flag that turns their stop into a pause.
    pub pauses: Mutex<HashMap<u64, Arc<AtomicBool>>>,
    next_draft: AtomicU64,
    next_chat: AtomicU64,
    library_path: PathBuf,
    /// Files the app was asked to open (command line, "Open With"), not yet handed to the window.
    opened: Mutex<Vec<PathBuf>>,
    opened_taken: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AppState {
    /// Open (or create) the library in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let library_path = dir.join("library.sqlite");
        let library = Library::open(&library_path)?;
        Ok(AppState {
            chats: Mutex::new(HashMap::new()),
            pauses: Mutex::new(HashMap::new()),
            next_chat: AtomicU64::new(0),
            library_path,
            opened: Mutex::new(Vec::new()),
            opened_taken: AtomicBool::new(false),
            data_dir: dir.to_owned(),
            library: Mutex::new(library),
            drafts: Mutex::new(HashMap::new()),
            reviews: Mutex::new(HashMap::new()),
            jobs: Registry::new(),
            next_draft: AtomicU64::new(0),
        })
    }

    pub fn library(&self) -> MutexGuard<'_, Library> {
        lock(&self.library)
    }

    /// The library file, for engine steps that open their own connection
    /// (training, chats, exports run on threads of their own).
    pub fn library_path(&self) -> &Path {
        &self.library_path
    }

    pub fn add_chat(&self, c: ChatSession) -> u64 {
        let id = self.next_chat.fetch_add(1, Ordering::Relaxed) + 1;
        lock(&self.chats).insert(id, Arc::new(Mutex::new(c)));
        id
    }

    /// Run `f` on an open chat (waits while it is answering).
    pub fn with_chat<T>(&self, id: u64, f: impl FnOnce(&mut ChatSession) -> Result<T>) -> Result<T> {
        let chat = lock(&self.chats).get(&id).cloned().ok_or_else(|| {
            Error::Invalid("this chat is no longer open (the app was restarted). Open it again from the list.".into())
        })?;
        let mut c = lock(&chat);
        f(&mut c)
    }

    /// Keep files the app was asked to open until the window asks for them.
    pub fn add_opened(&self, files: impl IntoIterator<Item = PathBuf>) {
        lock(&self.opened).extend(files);
    }

    /// The files to open, each handed out once; from then on the window
    /// listens for more itself.
    pub fn take_opened(&self) -> Vec<PathBuf> {
        self.opened_taken.store(true, Ordering::SeqCst);
        std::mem::take(&mut *lock(&self.opened))
    }

    /// Whether the window has asked for the files to open (and now listens).
    pub fn window_listens(&self) -> bool {
        self.opened_taken.load(Ordering::SeqCst)
    }

    pub fn close_chat(&self, id: u64) {
        lock(&self.chats).remove(&id);
    }

    pub fn pause_flag(&self, job: u64) -> Option<Arc<AtomicBool>> {
        lock(&self.pauses).get(&job).cloned()
    }

    pub fn add_pause_flag(&self, job: u64, flag: Arc<AtomicBool>) {
        let running: Vec<u64> = self
            .jobs
            .list()
            .into_iter()
            .filter(|j| j.state == dramatis::jobs::registry::JobState::Running)
            .map(|j| j.id)
            .collect();
        let mut p = lock(&self.pauses);
        p.retain(|id, _| running.contains(id));
        p.insert(job, flag);
    }

    pub fn add_draft(&self, d: Draft) -> u64 {
        let id = self.next_draft.fetch_add(1, Ordering::Relaxed) + 1;
        lock(&self.drafts).insert(id, d);
        id
    }

    /// Run `f` on a draft.
    pub fn with_draft<T>(&self, id: u64, f: impl FnOnce(&mut Draft) -> Result<T>) -> Result<T> {
        let mut drafts = lock(&self.drafts);
        let d = drafts.get_mut(&id).ok_or_else(|| {
            Error::Invalid("this import is no longer open (the app was restarted). Import the files again.".into())
        })?;
        f(d)
    }

    /// Run `f` on the dataset a review action names, with the library when
    /// the dataset is saved there (changes are written at once).
    pub fn with_dataset<T>(
        &self,
        target: DatasetTarget,
        f: impl FnOnce(&mut ReviewDataset, Option<&mut Library>) -> Result<T>,
    ) -> Result<T> {
        match target {
            DatasetTarget::Draft(id) => self.with_draft(id, |d| {
                let ds = d
                    .dataset
                    .as_mut()
                    .ok_or_else(|| Error::Invalid("pick a character first: this import has no dataset yet.".into()))?;
                f(ds, None)
            }),
            DatasetTarget::Dataset(id) => {
                let mut lib = self.library();
                let mut reviews = lock(&self.reviews);
                let ds = match reviews.entry(id) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => e.insert(ReviewDataset::open(&lib, id)?),
                };
                f(ds, Some(&mut lib))
            }
        }
    }

    /// Read a library dataset afresh for review.
    pub fn open_review(&self, id: i64) -> Result<dramatis::pipeline::review::DatasetView> {
        let ds = ReviewDataset::open(&self.library(), id)?;
        let view = ds.view(DatasetTarget::Dataset(id));
        lock(&self.reviews).insert(id, ds);
        Ok(view)
    }

    /// Forget cached reviews (after a persona was deleted or imported).
    pub fn forget_reviews(&self) {
        lock(&self.reviews).clear();
    }
}
