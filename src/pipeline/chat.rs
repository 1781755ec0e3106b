//! Chatting with a persona: one session owns the loaded model, the adapter
//! (swapped in place), the conversation so far and, when asked, its record in
//! the library with the settings of every reply.

use super::train::LibraryTarget;
use crate::jobs::{Error, Event, Job, Result};
use crate::model::{ChatMessage, ChatModel, GenerateOptions, Generated, QuantPolicy};
use crate::store::Library;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What to chat with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChatSpec {
    /// The base model: a .gguf file, a Hugging Face folder or a hub id.
    pub model: String,
    /// A LoRA adapter (PEFT layout) on top of it.
    pub adapter: Option<PathBuf>,
    /// The persona's system prompt.
    pub system: Option<String>,
    /// "auto", "cpu", "cuda[:N]" or "metal".
    pub device: String,
    /// Keep every weight in full precision (slower; exact reference numerics).
    pub full_precision: bool,
    /// Save the conversation in this library, for this persona.
    pub record: Option<LibraryTarget>,
    /// Go on with this conversation of the library (its turns are loaded).
    #[serde(default)]
    pub conversation: Option<i64>,
    /// The persona's first message, shown (and given to the model) before
    /// the first question; never stored.
    #[serde(default)]
    pub greeting: Option<String>,
    /// The library's id of `adapter`, stored with each reply.
    #[serde(default)]
    pub adapter_id: Option<i64>,
}

impl ChatSpec {
    /// How the weights are held: as stored (quantized stays quantized), or
    /// all in full precision.
    fn policy(&self) -> QuantPolicy {
        if self.full_precision {
            QuantPolicy::Dense
        } else {
            QuantPolicy::Keep
        }
    }
}

/// Generation settings a person changes in the chat window.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct ChatSettings {
    pub temperature: f64,
    pub top_p: f64,
    pub max_tokens: usize,
}

impl Default for ChatSettings {
    /// Livelier than the CLI's defaults: suits role-play.
    fn default() -> Self {
        ChatSettings {
            temperature: 0.8,
            top_p: 0.95,
            max_tokens: 200,
        }
    }
}

impl ChatSettings {
    pub fn options(&self) -> Result<GenerateOptions> {
        if !(0.0..=2.0).contains(&self.temperature) {
            return Err(Error::Invalid("the temperature must be between 0 and 2".into()));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(Error::Invalid("top-p must be above 0 and at most 1".into()));
        }
        if !(1..=4096).contains(&self.max_tokens) {
            return Err(Error::Invalid(
                "the reply length must be between 1 and 4096 tokens".into(),
            ));
        }
        Ok(GenerateOptions {
            temperature: self.temperature,
            top_p: Some(self.top_p),
            max_tokens: self.max_tokens,
            seed: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0),
            ..Default::default()
        })
    }
}

/// One message as the chat window shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MessageView {
    /// The library's id (none for the greeting or an unsaved chat).
    pub id: Option<i64>,
    pub role: String,
    pub content: String,
    pub rating: Option<i64>,
    pub adapter_id: Option<i64>,
    pub greeting: bool,
}

/// Where a chat stands.
#[derive(Debug, Clone, Serialize)]
pub struct ChatState {
    pub persona: Option<i64>,
    pub conversation: Option<i64>,
    pub title: String,
    pub model: String,
    pub adapter_id: Option<i64>,
    pub messages: Vec<MessageView>,
    pub settings: ChatSettings,
    /// Where the model runs: "cpu", "cuda:0", "metal".
    pub device: String,
}

pub struct ChatSession {
    model: ChatModel,
    spec: ChatSpec,
    messages: Vec<ChatMessage>,
    /// The turns as shown, with their library ids (greeting first, if any).
    views: Vec<MessageView>,
    library: Option<Library>,
    conversation: Option<i64>,
    title: String,
    settings: ChatSettings,
}

impl ChatSession {
    /// Load the model (and adapter) and start an empty conversation.
    pub fn open(spec: &ChatSpec, job: &Job) -> Result<Self> {
        job.report("load", 0, None, "files", format!("loading {}", spec.model));
        let mut model = ChatModel::new(super::models::load_with_policy(
            &spec.model,
            &spec.device,
            spec.policy(),
            job,
        )?);
        job.check()?;
        if let Some(dir) = &spec.adapter {
            model.set_adapter(Some(dir))?;
        }
        let library = match &spec.record {
            Some(t) => Some(Library::open(&t.library)?),
            None => None,
        };
        let mut views: Vec<MessageView> = spec
            .greeting
            .iter()
            .filter(|g| !g.trim().is_empty())
            .map(|g| MessageView {
                id: None,
                role: "assistant".into(),
                content: g.trim().into(),
                rating: None,
                adapter_id: None,
                greeting: true,
            })
            .collect();
        let (mut title, mut settings) = (String::new(), ChatSettings::default());
        if let (Some(id), Some(lib)) = (spec.conversation, library.as_ref()) {
            let c = lib.conversation(id)?;
            if spec
                .record
                .as_ref()
                .and_then(|t| t.persona)
                .is_some_and(|p| c.persona_id != Some(p))
            {
                return Err(Error::Invalid(format!(
                    "conversation {id} belongs to another persona; open it from that persona"
                )));
            }
            title = c.title;
            settings = serde_json::from_str(&lib.conversation_settings(id)?).unwrap_or_default();
            views.extend(lib.messages(id)?.into_iter().map(|m| MessageView {
                id: Some(m.id),
                role: m.role,
                content: m.content,
                rating: m.rating,
                adapter_id: m.adapter_id,
                greeting: false,
            }));
        }
        let mut session = ChatSession {
            model,
            messages: Vec::new(),
            views,
            spec: spec.clone(),
            library,
            conversation: spec.conversation,
            title,
            settings,
        };
        session.rebuild_context();
        Ok(session)
    }

    /// The model's context from the system prompt and the shown turns.
    fn rebuild_context(&mut self) {
        self.messages = self
            .spec
            .system
            .iter()
            .map(|s| ChatMessage::new("system", s))
            .chain(self.views.iter().map(|v| ChatMessage::new(&v.role, &v.content)))
            .collect();
    }

    /// The chat as the window shows it.
    pub fn state(&self) -> ChatState {
        ChatState {
            persona: self.spec.record.as_ref().and_then(|t| t.persona),
            conversation: self.conversation,
            title: self.title.clone(),
            model: self.spec.model.clone(),
            adapter_id: self.spec.adapter_id,
            messages: self.views.clone(),
            settings: self.settings,
            device: crate::model::device_name(&self.model.model.net.device),
        }
    }

    /// After a GPU failure: the same model and adapter again, on the CPU.
    fn move_to_cpu(&mut self, job: &Job) -> Result<()> {
        if self.model.model.net.device.is_cpu() {
            return Ok(());
        }
        let mut model = ChatModel::new(super::models::load_with_policy(
            &self.spec.model,
            "cpu",
            self.spec.policy(),
            job,
        )?);
        if let Some(dir) = &self.spec.adapter {
            model.set_adapter(Some(dir))?;
        }
        self.model = model;
        self.spec.device = "cpu".into();
        Ok(())
    }

    /// Answer `text` with the window's settings (kept with the conversation).
    pub fn say(&mut self, text: &str, settings: ChatSettings, job: &Job) -> Result<Generated> {
        let opts = settings.options()?;
        self.settings = settings;
        let reply = self.send(text, &opts, job)?;
        if let (Some(lib), Some(c)) = (self.library.as_mut(), self.conversation) {
            let json = serde_json::to_string(&settings).map_err(|e| Error::Invalid(e.to_string()))?;
            lib.set_conversation_settings(c, &json)?;
        }
        Ok(reply)
    }

    /// Answer the last question again, replacing the last reply.
    pub fn regenerate(&mut self, settings: ChatSettings, job: &Job) -> Result<Generated> {
        let n = self.views.len();
        let is_turn = n >= 2 && self.views[n - 1].role == "assistant" && self.views[n - 2].role == "user";
        if !is_turn || self.views[n - 1].greeting {
            return Err(Error::Invalid(
                "there is no reply to write again yet; send a message first".into(),
            ));
        }
        let question = self.views[n - 2].content.clone();
        self.edit(n - 2, &question, settings, job)
    }

    /// Replace the question at `index` of the shown turns with `text` and
    /// answer again; what followed it is dropped once the new answer is
    /// there (a failed or stopped answer leaves the chat as it was).
    pub fn edit(&mut self, index: usize, text: &str, settings: ChatSettings, job: &Job) -> Result<Generated> {
        match self.views.get(index) {
            Some(v) if v.role == "user" => {}
            _ => return Err(Error::Invalid("only your own messages can be edited".into())),
        }
        if text.trim().is_empty() {
            return Err(Error::Invalid("the message is empty; write something to say".into()));
        }
        settings.options()?;
        let before = self.views.clone();
        let dropped: Vec<i64> = self.views[index..].iter().filter_map(|v| v.id).collect();
        self.views.truncate(index);
        self.rebuild_context();
        match self.say(text, settings, job) {
            Ok(reply) => {
                if let (Some(lib), Some(c), Some(&first), Some(&last)) = (
                    self.library.as_mut(),
                    self.conversation,
                    dropped.first(),
                    dropped.last(),
                ) {
                    lib.delete_messages_between(c, first, last)?;
                }
                Ok(reply)
            }
            Err(e) => {
                self.views = before;
                self.rebuild_context();
                Err(e)
            }
        }
    }

    /// Thumbs up (1), down (-1) or none on a stored reply of this chat.
    pub fn rate(&mut self, message: i64, rating: Option<i64>) -> Result<()> {
        let lib = self
            .library
            .as_mut()
            .ok_or_else(|| Error::Invalid("this chat is not saved, so replies cannot be rated".into()))?;
        lib.rate_message(message, rating)?;
        if let Some(v) = self.views.iter_mut().find(|v| v.id == Some(message)) {
            v.rating = rating;
        }
        Ok(())
    }

    /// Answer `text`: the reply streams as [`Event::Token`]s through the job
    /// and stops on cancel; the turn is kept (and saved, with its settings).
    pub fn send(&mut self, text: &str, opts: &GenerateOptions, job: &Job) -> Result<Generated> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Error::Invalid("the message is empty; write something to say".into()));
        }
        self.messages.push(ChatMessage::new("user", text));
        let reply = self.model.generate(&self.messages, opts, job.cancel_token(), |piece| {
            job.emit(Event::Token { text: piece.into() })
        });
        let reply = match reply {
            Ok(r) => r,
            Err(e) => {
                self.messages.pop();
                if matches!(e, Error::Gpu(_)) {
                    // The next message runs on the CPU; this one is not lost
                    // (the window keeps it to send again).
                    self.move_to_cpu(job)?;
                }
                return Err(e);
            }
        };
        self.messages.push(ChatMessage::new("assistant", &reply.text));
        let ids = match self.save_turn(text, &reply.text, opts) {
            Ok(ids) => ids,
            Err(e) => {
                self.messages.truncate(self.messages.len() - 2);
                return Err(e);
            }
        };
        let view = |id, role: &str, content: &str, adapter_id| MessageView {
            id,
            role: role.into(),
            content: content.into(),
            rating: None,
            adapter_id,
            greeting: false,
        };
        self.views.push(view(ids.map(|i| i.0), "user", text, None));
        self.views
            .push(view(ids.map(|i| i.1), "assistant", &reply.text, self.spec.adapter_id));
        Ok(reply)
    }

    /// Store a question and its reply; returns their ids.
    fn save_turn(&mut self, user: &str, reply: &str, opts: &GenerateOptions) -> Result<Option<(i64, i64)>> {
        let (Some(lib), Some(t)) = (self.library.as_mut(), self.spec.record.as_ref()) else {
            return Ok(None);
        };
        let settings =
            serde_json::json!({"model": self.spec.model, "adapter": self.spec.adapter, "options": opts}).to_string();
        let persona = t.persona;
        let conversation = self.conversation;
        let adapter = self.spec.adapter_id;
        let title: String = user.chars().take(40).collect();
        let (cid, ids) = lib.atomically(|lib| {
            let cid = match conversation {
                Some(c) => c,
                None => lib.create_conversation(persona, &title)?,
            };
            let q = lib.add_message(cid, "user", user, "{}", None)?;
            let a = lib.add_message(cid, "assistant", reply, &settings, adapter)?;
            Ok((cid, (q, a)))
        })?;
        if self.conversation.is_none() {
            self.title = title;
        }
        self.conversation = Some(cid);
        Ok(Some(ids))
    }

    /// Switch to another adapter (or the base model with `None`) on the same
    /// loaded model; the conversation goes on.
    pub fn set_adapter(&mut self, dir: Option<&Path>) -> Result<()> {
        self.model.set_adapter(dir)?;
        self.spec.adapter = dir.map(Path::to_path_buf);
        self.spec.adapter_id = None;
        Ok(())
    }

    /// [`set_adapter`](Self::set_adapter) with the library's id of the adapter,
    /// stored with the replies that follow.
    pub fn set_library_adapter(&mut self, adapter: Option<(i64, &Path)>) -> Result<()> {
        self.set_adapter(adapter.map(|a| a.1))?;
        self.spec.adapter_id = adapter.map(|a| a.0);
        Ok(())
    }

    pub fn messages(&self) -> &[ChatMessage] {
        &self.messages
    }

    /// The library conversation the turns are saved in, once there is one.
    pub fn conversation(&self) -> Option<i64> {
        self.conversation
    }
}

/// What the app opens a persona's chat with.
#[derive(Debug, Clone, Deserialize)]
pub struct PersonaChatRequest {
    pub persona: i64,
    /// A saved conversation to go on with; `None` starts a new one.
    pub conversation: Option<i64>,
    /// One of the persona's adapters; `None` chats with the base model.
    pub adapter: Option<i64>,
    /// The base model when no adapter names one; `None`: the persona's last.
    pub model: Option<String>,
}

/// Load the model (and adapter) for a persona's chat, with its system prompt
/// and greeting, saving turns in the library at `library`.
pub fn open_persona_chat(library: &Path, req: &PersonaChatRequest, job: &Job) -> Result<ChatSession> {
    let spec = {
        let lib = Library::open(library)?;
        let p = lib.persona(req.persona)?;
        let adapter = match req.adapter {
            Some(id) => Some(super::runs::adapter_of(&lib, req.persona, id)?),
            None => None,
        };
        let model = adapter
            .as_ref()
            .map(|a| a.model.clone())
            .filter(|m| !m.is_empty())
            .or_else(|| req.model.clone())
            .or(super::runs::train_page(&lib, req.persona)?.last_model)
            .or_else(|| lib.models().ok()?.pop().map(|m| m.reference))
            .ok_or_else(|| {
                Error::Invalid(
                    "there is no model to chat with yet. Add or download one on the Models screen first.".into(),
                )
            })?;
        ChatSpec {
            model,
            adapter: adapter.as_ref().map(|a| PathBuf::from(&a.path)),
            adapter_id: adapter.as_ref().map(|a| a.id),
            system: Some(p.persona.system_prompt).filter(|s| !s.trim().is_empty()),
            device: "auto".into(),
            full_precision: false,
            record: Some(LibraryTarget {
                library: library.to_owned(),
                persona: Some(req.persona),
            }),
            conversation: req.conversation,
            greeting: Some(p.persona.greeting),
        }
    };
    ChatSession::open(&spec, job)
}

impl ChatSession {
    /// Switch to one of the persona's adapters (`None`: the base model) on
    /// the loaded base; an adapter trained on another base is refused.
    pub fn use_persona_adapter(&mut self, adapter: Option<i64>) -> Result<()> {
        let (Some(lib), Some(persona)) = (self.library.as_ref(), self.spec.record.as_ref().and_then(|t| t.persona))
        else {
            return Err(Error::Invalid("this chat belongs to no persona".into()));
        };
        match adapter {
            None => self.set_library_adapter(None),
            Some(id) => {
                let a = super::runs::adapter_of(lib, persona, id)?;
                if !a.model.is_empty() && a.model != self.spec.model {
                    return Err(Error::Invalid(format!(
                        "this adapter was trained on {}, but the chat runs {}. Start a new chat with that adapter.",
                        a.model, self.spec.model
                    )));
                }
                self.set_library_adapter(Some((id, Path::new(&a.path))))
            }
        }
    }
}
