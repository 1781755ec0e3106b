//! Import and export: Alpaca and ShareGPT as JSON and JSONL, and the
//! `dataset_info.json` that LLaMA-Factory reads. A malformed file is reported
//! with the line and the field that is wrong.

use super::{Conversation, Message, Sample, Split};
use crate::jobs::{write_atomic, Error, Result};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Alpaca,
    ShareGpt,
}

/// Byte offsets where each top-level element of a JSON array starts.
fn array_element_starts(s: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let (mut depth, mut in_str, mut esc) = (0i32, false, false);
    let mut expect = false;
    for (i, b) in s.bytes().enumerate() {
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        if expect && !b.is_ascii_whitespace() && b != b']' {
            out.push(i);
            expect = false;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                if depth == 1 && b == b'[' {
                    expect = true;
                }
            }
            b']' | b'}' => depth -= 1,
            b',' if depth == 1 => expect = true,
            _ => {}
        }
    }
    out
}

fn line_of(s: &str, byte: usize) -> usize {
    s.as_bytes()[..byte.min(s.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The records of a JSON array or JSONL file, each with its line number.
fn records(s: &str, path: &Path) -> Result<Vec<(usize, Value)>> {
    let s = s.trim_start_matches('\u{feff}');
    let t = s.trim_start();
    if t.starts_with('[') {
        let v: Value = serde_json::from_str(s).map_err(|e| Error::Dataset {
            path: path.into(),
            line: e.line(),
            detail: format!("not valid JSON ({e})"),
        })?;
        let Value::Array(items) = v else {
            return Err(Error::Dataset {
                path: path.into(),
                line: 1,
                detail: "expected a JSON array of samples".into(),
            });
        };
        let starts = array_element_starts(s);
        Ok(items
            .into_iter()
            .enumerate()
            .map(|(i, v)| (starts.get(i).map_or(0, |&b| line_of(s, b)), v))
            .collect())
    } else {
        let mut out = Vec::new();
        for (i, line) in s.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(line).map_err(|e| Error::Dataset {
                path: path.into(),
                line: i + 1,
                detail: format!("not valid JSON ({e}); each line of a .jsonl file must be one JSON object"),
            })?;
            out.push((i + 1, v));
        }
        Ok(out)
    }
}

fn field_str(obj: &Map<String, Value>, key: &str, path: &Path, line: usize, required: bool) -> Result<String> {
    match obj.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        None | Some(Value::Null) if !required => Ok(String::new()),
        None | Some(Value::Null) => Err(Error::Dataset {
            path: path.into(),
            line,
            detail: format!("field \"{key}\" is missing"),
        }),
        Some(other) => Err(Error::Dataset {
            path: path.into(),
            line,
            detail: format!("field \"{key}\" must be a string, found {}", kind(other)),
        }),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn alpaca_from(obj: &Map<String, Value>, path: &Path, line: usize) -> Result<Sample> {
    let mut history = Vec::new();
    match obj.get("history") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, h) in items.iter().enumerate() {
                match h.as_array().map(|a| a.as_slice()) {
                    Some([Value::String(q), Value::String(a)]) => history.push((q.clone(), a.clone())),
                    _ => {
                        return Err(Error::Dataset {
                            path: path.into(),
                            line,
                            detail: format!("field \"history\" item {i} must be a pair [\"question\", \"answer\"]"),
                        })
                    }
                }
            }
        }
        Some(other) => {
            return Err(Error::Dataset {
                path: path.into(),
                line,
                detail: format!("field \"history\" must be an array of pairs, found {}", kind(other)),
            })
        }
    }
    let output = field_str(obj, "output", path, line, true)?;
    let instruction = field_str(obj, "instruction", path, line, true)?;
    if instruction.trim().is_empty() && field_str(obj, "input", path, line, false)?.trim().is_empty() {
        return Err(Error::Dataset {
            path: path.into(),
            line,
            detail: "field \"instruction\" is empty".into(),
        });
    }
    Ok(Sample {
        system: field_str(obj, "system", path, line, false)?,
        instruction,
        input: field_str(obj, "input", path, line, false)?,
        output,
        history,
        scene: None,
        split: Split::Train,
        confidence: None,
    })
}

fn sharegpt_from(obj: &Map<String, Value>, key: &str, path: &Path, line: usize) -> Result<Conversation> {
    let Some(Value::Array(msgs)) = obj.get(key) else {
        return Err(Error::Dataset {
            path: path.into(),
            line,
            detail: format!("field \"{key}\" must be an array of messages"),
        });
    };
    let mut out = Vec::new();
    let mut system = field_str(obj, "system", path, line, false)?;
    for (i, m) in msgs.iter().enumerate() {
        let Some(m) = m.as_object() else {
            return Err(Error::Dataset {
                path: path.into(),
                line,
                detail: format!("message {i} must be an object"),
            });
        };
        // Both ShareGPT ({from, value}) and OpenAI ({role, content}) spellings.
        let from = m.get("from").or_else(|| m.get("role")).and_then(Value::as_str);
        let value = m.get("value").or_else(|| m.get("content")).and_then(Value::as_str);
        let (Some(from), Some(value)) = (from, value) else {
            return Err(Error::Dataset {
                path: path.into(),
                line,
                detail: format!("message {i} needs \"from\" and \"value\" strings"),
            });
        };
        let from = match from {
            "human" | "user" => "human",
            "gpt" | "assistant" => "gpt",
            "system" => {
                system = value.to_owned();
                continue;
            }
            other => {
                return Err(Error::Dataset {
                    path: path.into(),
                    line,
                    detail: format!("message {i} has an unknown role \"{other}\" (use human/gpt or user/assistant)"),
                })
            }
        };
        out.push(Message {
            from: from.into(),
            value: value.into(),
        });
    }
    if out.len() < 2 {
        return Err(Error::Dataset {
            path: path.into(),
            line,
            detail: "a conversation needs at least one human and one gpt message".into(),
        });
    }
    Ok(Conversation {
        conversations: out,
        system,
        scene: None,
        split: Split::Train,
    })
}

/// A dataset read from a file: Alpaca samples or ShareGPT conversations.
#[derive(Debug, Clone)]
pub enum Imported {
    Alpaca(Vec<Sample>),
    ShareGpt(Vec<Conversation>),
}

/// Parse Alpaca or ShareGPT records from JSON or JSONL text.
pub fn parse(s: &str, path: &Path) -> Result<Imported> {
    let recs = records(s, path)?;
    if recs.is_empty() {
        return Err(Error::Dataset {
            path: path.into(),
            line: 1,
            detail: "the file holds no samples".into(),
        });
    }
    let first = recs[0].1.as_object();
    let share_key = first.and_then(|o| ["conversations", "messages"].into_iter().find(|k| o.contains_key(*k)));
    if let Some(key) = share_key {
        let mut out = Vec::new();
        for (line, v) in &recs {
            let Some(obj) = v.as_object() else {
                return Err(Error::Dataset {
                    path: path.into(),
                    line: *line,
                    detail: format!("expected an object, found {}", kind(v)),
                });
            };
            out.push(sharegpt_from(obj, key, path, *line)?);
        }
        Ok(Imported::ShareGpt(out))
    } else {
        let mut out = Vec::new();
        for (line, v) in &recs {
            let Some(obj) = v.as_object() else {
                return Err(Error::Dataset {
                    path: path.into(),
                    line: *line,
                    detail: format!("expected an object, found {}", kind(v)),
                });
            };
            out.push(alpaca_from(obj, path, *line)?);
        }
        Ok(Imported::Alpaca(out))
    }
}

/// Parse a file that must hold Alpaca samples (ShareGPT is converted turn by turn).
pub fn parse_samples(s: &str, path: &Path) -> Result<(Vec<Sample>, Format)> {
    Ok(match parse(s, path)? {
        Imported::Alpaca(v) => (v, Format::Alpaca),
        Imported::ShareGpt(convs) => (
            convs.iter().flat_map(conversation_to_samples).collect(),
            Format::ShareGpt,
        ),
    })
}

pub fn read(path: &Path) -> Result<Imported> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let s = String::from_utf8(bytes).map_err(|e| Error::Dataset {
        path: path.into(),
        line: 1,
        detail: format!(
            "not UTF-8 text (byte {}); save the file as UTF-8",
            e.utf8_error().valid_up_to()
        ),
    })?;
    parse(&s, path)
}

/// Alpaca samples with history from a conversation, one per gpt turn.
pub fn conversation_to_samples(c: &Conversation) -> Vec<Sample> {
    let mut out = Vec::new();
    let mut history: Vec<(String, String)> = Vec::new();
    for pair in c.conversations.chunks(2) {
        if let [q, a] = pair {
            out.push(Sample {
                system: c.system.clone(),
                instruction: q.value.clone(),
                input: String::new(),
                output: a.value.clone(),
                history: history.clone(),
                scene: c.scene,
                split: c.split,
                confidence: None,
            });
            history.push((q.value.clone(), a.value.clone()));
        }
    }
    out
}

/// A two-message conversation from an Alpaca sample (history expanded).
pub fn sample_to_conversation(s: &Sample) -> Conversation {
    let mut msgs = Vec::new();
    for (q, a) in &s.history {
        msgs.push(Message {
            from: "human".into(),
            value: q.clone(),
        });
        msgs.push(Message {
            from: "gpt".into(),
            value: a.clone(),
        });
    }
    let q = if s.input.is_empty() {
        s.instruction.clone()
    } else {
        format!("{}\n{}", s.instruction, s.input)
    };
    msgs.push(Message {
        from: "human".into(),
        value: q,
    });
    msgs.push(Message {
        from: "gpt".into(),
        value: s.output.clone(),
    });
    Conversation {
        conversations: msgs,
        system: s.system.clone(),
        scene: s.scene,
        split: s.split,
    }
}

fn to_text<T: serde::Serialize>(items: &[T], jsonl: bool) -> String {
    if jsonl {
        let mut s = String::new();
        for it in items {
            s.push_str(&serde_json::to_string(it).unwrap_or_default());
            s.push('\n');
        }
        s
    } else {
        serde_json::to_string_pretty(items).unwrap_or_else(|_| "[]".into()) + "\n"
    }
}

/// Files written by [`export`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct Exported {
    pub train: PathBuf,
    pub validation: Option<PathBuf>,
    pub dataset_info: PathBuf,
}

/// Write the train and validation splits plus `dataset_info.json` into `dir`.
pub fn export(
    dir: &Path,
    name: &str,
    format: Format,
    jsonl: bool,
    samples: &[Sample],
    conversations: &[Conversation],
) -> Result<Exported> {
    let ext = if jsonl { "jsonl" } else { "json" };
    let mut info = Map::new();
    let mut files = Vec::new();
    for split in [Split::Train, Split::Validation] {
        let tag = if split == Split::Train { "train" } else { "val" };
        let file = format!("{name}_{tag}.{ext}");
        let text = match format {
            Format::Alpaca => {
                let v: Vec<&Sample> = samples.iter().filter(|s| s.split == split).collect();
                if v.is_empty() && split == Split::Validation {
                    continue;
                }
                to_text(&v, jsonl)
            }
            Format::ShareGpt => {
                let v: Vec<&Conversation> = conversations.iter().filter(|c| c.split == split).collect();
                if v.is_empty() && split == Split::Validation {
                    continue;
                }
                to_text(&v, jsonl)
            }
        };
        let path = dir.join(&file);
        write_atomic(&path, text.as_bytes())?;
        let entry = match format {
            Format::Alpaca => json!({
                "file_name": file,
                "columns": {"prompt": "instruction", "query": "input", "response": "output", "system": "system", "history": "history"}
            }),
            Format::ShareGpt => json!({
                "file_name": file,
                "formatting": "sharegpt",
                "columns": {"messages": "conversations", "system": "system"},
                "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt"}
            }),
        };
        info.insert(format!("{name}_{tag}"), entry);
        files.push(path);
    }
    let info_path = dir.join("dataset_info.json");
    // Keep entries for other data sets already listed in the folder.
    if let Ok(old) = std::fs::read_to_string(&info_path) {
        if let Ok(Value::Object(old)) = serde_json::from_str::<Value>(&old) {
            for (k, v) in old {
                info.entry(k).or_insert(v);
            }
        }
    }
    let text = serde_json::to_string_pretty(&Value::Object(info)).unwrap_or_default() + "\n";
    write_atomic(&info_path, text.as_bytes())?;
    Ok(Exported {
        train: files[0].clone(),
        validation: files.get(1).cloned(),
        dataset_info: info_path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_records_name_line_and_field() {
        let p = Path::new("d.json");
        let s = "[\n  {\"instruction\": \"a\", \"output\": \"b\"},\n  {\"instruction\": \"c\",\n   \"output\": 3}\n]";
        let e = parse(s, p).unwrap_err();
        assert!(
            matches!(&e, Error::Dataset { line: 3, detail, .. } if detail.contains("\"output\"")),
            "{e}"
        );
        let e = parse(
            "{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": \"x\"}\n",
            Path::new("d.jsonl"),
        )
        .unwrap_err();
        assert!(
            matches!(&e, Error::Dataset { line: 2, detail, .. } if detail.contains("\"output\" is missing")),
            "{e}"
        );
        let e = parse(
            "{\"instruction\": \"a\", \"output\": \"b\"}\n{oops\n",
            Path::new("d.jsonl"),
        )
        .unwrap_err();
        assert!(matches!(e, Error::Dataset { line: 2, .. }));
        let e = parse(
            "[{\"conversations\": [{\"from\": \"human\", \"value\": \"hi\"}, {\"from\": \"bot\", \"value\": \"x\"}]}]",
            p,
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown role \"bot\""), "{e}");
    }

    #[test]
    fn element_starts_skip_strings() {
        let s = "[{\"a\": \"x, [y]\"}, {\"b\": [1, 2]}, 3]";
        let st = array_element_starts(s);
        assert_eq!(st.len(), 3);
        assert_eq!(&s[st[2]..st[2] + 1], "3");
    }
}
