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
}

pub struct ChatSession {
    model: ChatModel,
    spec: ChatSpec,
    messages: Vec<ChatMessage>,
    library: Option<Library>,
    conversation: Option<i64>,
}

impl ChatSession {
    /// Load the model (and adapter) and start an empty conversation.
    pub fn open(spec: &ChatSpec, job: &Job) -> Result<Self> {
        job.report("load", 0, None, "files", format!("loading {}", spec.model));
        let policy = if spec.full_precision {
            QuantPolicy::Dense
        } else {
            QuantPolicy::Keep
        };
        let mut model = ChatModel::new(super::models::load_with_policy(&spec.model, &spec.device, policy)?);
        job.check()?;
        if let Some(dir) = &spec.adapter {
            model.set_adapter(Some(dir))?;
        }
        let library = match &spec.record {
            Some(t) => Some(Library::open(&t.library)?),
            None => None,
        };
        Ok(ChatSession {
            model,
            messages: spec.system.iter().map(|s| ChatMessage::new("system", s)).collect(),
            spec: spec.clone(),
            library,
            conversation: None,
        })
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
                return Err(e);
            }
        };
        self.messages.push(ChatMessage::new("assistant", &reply.text));
        self.save_turn(text, &reply.text, opts)?;
        Ok(reply)
    }

    fn save_turn(&mut self, user: &str, reply: &str, opts: &GenerateOptions) -> Result<()> {
        let (Some(lib), Some(t)) = (self.library.as_mut(), self.spec.record.as_ref()) else {
            return Ok(());
        };
        let settings =
            serde_json::json!({"model": self.spec.model, "adapter": self.spec.adapter, "options": opts}).to_string();
        let persona = t.persona;
        let conversation = self.conversation;
        let cid = lib.atomically(|lib| {
            let cid = match conversation {
                Some(c) => c,
                None => lib.create_conversation(persona, &user.chars().take(40).collect::<String>())?,
            };
            lib.add_message(cid, "user", user, "{}", None)?;
            lib.add_message(cid, "assistant", reply, &settings, None)?;
            Ok(cid)
        })?;
        self.conversation = Some(cid);
        Ok(())
    }

    /// Switch to another adapter (or the base model with `None`) on the same
    /// loaded model; the conversation goes on.
    pub fn set_adapter(&mut self, dir: Option<&Path>) -> Result<()> {
        self.model.set_adapter(dir)?;
        self.spec.adapter = dir.map(Path::to_path_buf);
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
