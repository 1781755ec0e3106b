//! Character cards (chara_card_v2), as JSON or embedded in a PNG `tEXt`
//! chunk named `chara` (base64 JSON), the way SillyTavern and others share them.

use super::Persona;
use crate::jobs::{Error, Result};
use serde_json::{json, Value};
use std::path::Path;

/// The card of a persona; `extensions.dramatis` names the base model and adapter.
pub fn card_json(p: &Persona, base_model: Option<&str>, adapter: Option<&str>) -> Value {
    json!({
        "spec": "chara_card_v2",
        "spec_version": "2.0",
        "data": {
            "name": p.name,
            "description": p.description,
            "personality": "",
            "scenario": if p.source_title.is_empty() { String::new() } else { format!("From {}.", p.source_title) },
            "first_mes": p.greeting,
            "mes_example": "",
            "creator_notes": "Made with Dramatis from the character's own lines.",
            "system_prompt": p.system_prompt,
            "post_history_instructions": "",
            "alternate_greetings": [],
            "tags": ["dramatis"],
            "creator": "",
            "character_version": "1",
            "extensions": {
                "dramatis": {
                    "character": p.character,
                    "source_title": p.source_title,
                    "base_model": base_model,
                    "adapter": adapter,
                }
            }
        }
    })
}

/// A persona from a card (V2, or V1's flat fields).
pub fn persona_from_card(v: &Value, path: &Path) -> Result<Persona> {
    let bad = |detail: &str| Error::Format {
        path: path.into(),
        detail: detail.into(),
    };
    let data = if v
        .get("spec")
        .and_then(Value::as_str)
        .is_some_and(|s| s.starts_with("chara_card_v"))
    {
        v.get("data").ok_or_else(|| bad("the card has no \"data\" object"))?
    } else {
        v
    };
    let s = |k: &str| data.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let name = s("name");
    if name.trim().is_empty() {
        return Err(bad("the card has no name; it does not look like a character card"));
    }
    let ext = data.pointer("/extensions/dramatis");
    let e = |k: &str| {
        ext.and_then(|x| x.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let character = Some(e("character"))
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| name.clone());
    Ok(Persona {
        name,
        character,
        source_title: e("source_title"),
        system_prompt: s("system_prompt"),
        description: s("description"),
        greeting: s("first_mes"),
    })
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for b in s.bytes().filter(|b| !b.is_ascii_whitespace()) {
        if b == b'=' {
            break;
        }
        let v = B64.iter().position(|&x| x == b)? as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// A plain 64×64 avatar in a colour drawn from the name, for cards without one.
pub fn default_avatar(name: &str) -> Vec<u8> {
    let seed = name
        .bytes()
        .fold(0x811c_9dc5u32, |h, b| (h ^ b as u32).wrapping_mul(0x0100_0193));
    let rgb = [(seed >> 16) as u8 | 0x40, (seed >> 8) as u8 | 0x40, seed as u8 | 0x40];
    let (w, h) = (64u32, 64u32);
    let pixels: Vec<u8> = rgb.iter().copied().cycle().take(3 * (w * h) as usize).collect();
    crate::png::encode_rgb(w, h, &pixels)
}

/// Put the card into a PNG as a `chara` tEXt chunk (replacing an old one).
pub fn embed_in_png(png: &[u8], card: &Value, path: &Path) -> Result<Vec<u8>> {
    let chunks = crate::png::chunks(png, path)?;
    let mut out = png[..8].to_vec();
    let text = [
        b"chara\0".as_slice(),
        base64_encode(card.to_string().as_bytes()).as_bytes(),
    ]
    .concat();
    for (kind, data) in chunks {
        if &kind == b"tEXt" && (data.starts_with(b"chara\0") || data.starts_with(b"ccv3\0")) {
            continue;
        }
        if &kind == b"IEND" {
            crate::png::chunk(&mut out, b"tEXt", &text);
        }
        crate::png::chunk(&mut out, &kind, data);
    }
    Ok(out)
}

/// Read a card from a PNG (`chara` or `ccv3` tEXt chunk) or a JSON file.
pub fn read_card(bytes: &[u8], path: &Path) -> Result<Value> {
    let bad = |d: &str| Error::Format {
        path: path.into(),
        detail: d.into(),
    };
    let json_bytes = if bytes.starts_with(b"\x89PNG") {
        let chunks = crate::png::chunks(bytes, path)?;
        let text = chunks
            .iter()
            .filter(|(k, _)| k == b"tEXt")
            .find_map(|(_, d)| d.strip_prefix(b"ccv3\0").or_else(|| d.strip_prefix(b"chara\0")))
            .ok_or_else(|| bad("the PNG holds no character card (no \"chara\" text chunk)"))?;
        base64_decode(&String::from_utf8_lossy(text))
            .ok_or_else(|| bad("the card inside the PNG is not valid base64"))?
    } else {
        bytes.to_vec()
    };
    serde_json::from_slice(&json_bytes).map_err(|e| bad(&format!("the card is not valid JSON ({e})")))
}

impl super::Library {
    /// Write a persona's character card: a PNG with the card embedded (its
    /// own picture, else a drawn initial) when `out` ends in `.png`, else JSON.
    pub fn export_card(&self, persona: i64, out: &Path, base_model: Option<&str>, adapter: Option<&str>) -> Result<()> {
        let p = self.persona(persona)?;
        let card = card_json(&p.persona, base_model, adapter);
        let bytes = if out.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")) {
            let avatar = match p.avatar.as_deref().map(std::fs::read) {
                Some(Ok(b)) => b,
                _ => default_avatar(&p.persona.name),
            };
            embed_in_png(&avatar, &card, out)?
        } else {
            serde_json::to_vec_pretty(&card).map_err(|e| Error::Invalid(e.to_string()))?
        };
        crate::jobs::write_atomic(out, &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip() {
        for s in ["", "a", "ab", "abc", "abcd", "甄嬛 says hi"] {
            let e = base64_encode(s.as_bytes());
            assert_eq!(base64_decode(&e).unwrap(), s.as_bytes(), "{e}");
        }
        assert_eq!(base64_encode(b"Man"), "TWFu");
        assert_eq!(base64_encode(b"Ma"), "TWE=");
    }

    #[test]
    fn png_card_round_trip() {
        let p = Persona {
            name: "Mags".into(),
            character: "MAGS".into(),
            greeting: "Kettle's on.".into(),
            ..Default::default()
        };
        let card = card_json(&p, Some("HuggingFaceTB/SmolLM2-135M-Instruct"), None);
        let png = embed_in_png(&default_avatar("Mags"), &card, Path::new("a.png")).unwrap();
        let back = read_card(&png, Path::new("a.png")).unwrap();
        assert_eq!(back, card);
        let again = embed_in_png(&png, &card, Path::new("a.png")).unwrap();
        assert_eq!(again.len(), png.len(), "an old card chunk is replaced, not duplicated");
        let p2 = persona_from_card(&back, Path::new("a.png")).unwrap();
        assert_eq!(
            (p2.name.as_str(), p2.character.as_str(), p2.greeting.as_str()),
            ("Mags", "MAGS", "Kettle's on.")
        );
        assert!(read_card(&png[..png.len() / 2], Path::new("a.png")).is_err());
    }
}
