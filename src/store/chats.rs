//! What the app's chat and training pages keep beyond the turns themselves:
//! ratings, conversation titles and settings, and a persona's active adapter.

use super::*;

impl Library {
    /// Thumbs up (1), down (-1) or nothing (`None`) on a reply.
    pub fn rate_message(&mut self, message: i64, rating: Option<i64>) -> Result<()> {
        if rating.is_some_and(|r| r != 1 && r != -1) {
            return Err(Error::Invalid("a rating is 1 (thumbs up) or -1 (thumbs down)".into()));
        }
        let n = self
            .conn
            .execute(
                "UPDATE messages SET rating = ?2 WHERE id = ?1",
                params![message, rating],
            )
            .map_err(|e| self.err(e))?;
        if n == 0 {
            return Err(Error::Invalid(format!("there is no message {message}")));
        }
        Ok(())
    }

    pub fn rename_conversation(&mut self, conversation: i64, title: &str) -> Result<()> {
        let title = title.trim();
        if title.is_empty() {
            return Err(Error::Invalid("a conversation needs a title".into()));
        }
        self.update_conversation("title", conversation, title)
    }

    /// The generation settings a conversation goes on with (JSON).
    pub fn set_conversation_settings(&mut self, conversation: i64, settings_json: &str) -> Result<()> {
        self.update_conversation("settings", conversation, settings_json)
    }

    pub fn conversation_settings(&self, conversation: i64) -> Result<String> {
        self.conn
            .query_row(
                "SELECT settings FROM conversations WHERE id = ?1",
                [conversation],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    fn update_conversation(&mut self, column: &str, conversation: i64, value: &str) -> Result<()> {
        let n = self
            .conn
            .execute(
                &format!("UPDATE conversations SET {column} = ?2 WHERE id = ?1"),
                params![conversation, value],
            )
            .map_err(|e| self.err(e))?;
        if n == 0 {
            return Err(Error::Invalid(format!("there is no conversation {conversation}")));
        }
        Ok(())
    }

    /// Delete a conversation and its messages.
    pub fn delete_conversation(&mut self, conversation: i64) -> Result<()> {
        self.conn
            .execute("DELETE FROM conversations WHERE id = ?1", [conversation])
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Delete the messages of a conversation with ids from `first` to `last`
    /// (an edited question or a regenerated reply replaces what followed it).
    pub fn delete_messages_between(&mut self, conversation: i64, first: i64, last: i64) -> Result<()> {
        self.conn
            .execute(
                "DELETE FROM messages WHERE conversation_id = ?1 AND id BETWEEN ?2 AND ?3",
                params![conversation, first, last],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// A persona's conversations, newest activity first, whose title or
    /// messages contain `query` (all when empty), with their last message.
    pub fn search_conversations(&self, persona: i64, query: &str) -> Result<Vec<(Conversation, String)>> {
        let like = format!(
            "%{}%",
            query
                .trim()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        self.query_all(
            "SELECT c.id, c.persona_id, c.title, c.created_at,
                    (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id),
                    COALESCE((SELECT content FROM messages m WHERE m.conversation_id = c.id ORDER BY m.id DESC LIMIT 1), ''),
                    COALESCE((SELECT MAX(created_at) FROM messages m WHERE m.conversation_id = c.id), c.created_at) AS active
             FROM conversations c
             WHERE c.persona_id = ?1 AND (c.title LIKE ?2 ESCAPE '\\'
                OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.content LIKE ?2 ESCAPE '\\'))
             ORDER BY active DESC, c.id DESC",
            params![persona, like],
            |r| {
                Ok((
                    Conversation {
                        id: r.get(0)?,
                        persona_id: r.get(1)?,
                        title: r.get(2)?,
                        created_at: r.get(3)?,
                        messages: r.get(4)?,
                    },
                    r.get(5)?,
                ))
            },
        )
    }

    /// The adapter a persona chats with unless another is chosen.
    pub fn active_adapter(&self, persona: i64) -> Result<Option<i64>> {
        self.conn
            .query_row("SELECT active_adapter FROM personas WHERE id = ?1", [persona], |r| {
                r.get(0)
            })
            .map_err(|e| self.err(e))
    }

    pub fn set_active_adapter(&mut self, persona: i64, adapter: Option<i64>) -> Result<()> {
        if let Some(a) = adapter {
            let owner: Option<Option<i64>> = self
                .conn
                .query_row("SELECT persona_id FROM adapters WHERE id = ?1", [a], |r| r.get(0))
                .optional()
                .map_err(|e| self.err(e))?;
            match owner {
                None => return Err(Error::Invalid(format!("there is no adapter {a}"))),
                Some(Some(p)) if p != persona => {
                    return Err(Error::Invalid(format!(
                        "adapter {a} belongs to another persona; choose one of this persona's adapters"
                    )))
                }
                _ => {}
            }
        }
        let n = self
            .conn
            .execute(
                "UPDATE personas SET active_adapter = ?2 WHERE id = ?1",
                params![persona, adapter],
            )
            .map_err(|e| self.err(e))?;
        if n == 0 {
            return Err(Error::Invalid(format!("there is no persona {persona}")));
        }
        Ok(())
    }
}
