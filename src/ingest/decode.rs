//! Bytes to text: detect the encoding (BOM, UTF-8, UTF-16 without BOM, then
//! chardetng's guess among legacy encodings) and refuse binary files.

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8};

/// Decoded text and the name of the encoding that was detected.
pub struct Decoded {
    pub text: String,
    pub encoding: &'static str,
    /// Bytes that did not decode and were replaced by U+FFFD.
    pub replaced: bool,
}

/// Why bytes are not text, when they are not.
pub fn sniff_binary(bytes: &[u8]) -> Option<&'static str> {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"%PDF", "this is a PDF file; save it as text or EPUB first"),
        (b"\x89PNG", "this is a PNG image"),
        (b"\xFF\xD8\xFF", "this is a JPEG image"),
        (b"GIF8", "this is a GIF image"),
        (b"\x7FELF", "this is a program, not a document"),
        (b"MZ", "this is a Windows program, not a document"),
        (b"\x1F\x8B", "this is a gzip archive; unpack it first"),
        (b"Rar!", "this is a RAR archive; unpack it first"),
        (b"7z\xBC\xAF", "this is a 7-Zip archive; unpack it first"),
        (
            b"\xD0\xCF\x11\xE0",
            "this is an old Word/Office file (.doc); save it as .docx or text",
        ),
        (b"{\\rtf", "this is an RTF file; save it as .docx or text"),
        (b"SQLite format 3", "this is a database file"),
        (b"ID3", "this is an audio file"),
    ];
    for (magic, why) in MAGIC {
        if bytes.starts_with(magic) {
            return Some(why);
        }
    }
    None
}

fn utf16_without_bom(bytes: &[u8]) -> Option<&'static Encoding> {
    if bytes.len() < 16 {
        return None;
    }
    let n = bytes.len().min(4096) & !1;
    let (mut even0, mut odd0) = (0, 0);
    for pair in bytes[..n].chunks_exact(2) {
        even0 += (pair[0] == 0) as usize;
        odd0 += (pair[1] == 0) as usize;
    }
    let half = n / 2;
    if odd0 * 10 > half * 4 && even0 * 10 < half {
        Some(UTF_16LE)
    } else if even0 * 10 > half * 4 && odd0 * 10 < half {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// [`decode`] that keeps the buffer when it holds UTF-8 already (a large
/// book is not copied).
pub fn decode_owned(bytes: Vec<u8>) -> Option<Decoded> {
    if Encoding::for_bom(&bytes).is_some() || utf16_without_bom(&bytes).is_some() {
        return decode(&bytes);
    }
    match String::from_utf8(bytes) {
        Ok(text) => (memchr::memchr(0, text.as_bytes()).is_none()).then_some(Decoded {
            text,
            encoding: "UTF-8",
            replaced: false,
        }),
        Err(e) => decode(e.as_bytes()),
    }
}

/// Decode bytes of unknown encoding. Returns None for binary data.
pub fn decode(bytes: &[u8]) -> Option<Decoded> {
    if let Some((enc, bom)) = Encoding::for_bom(bytes) {
        let (text, had_errors) = enc.decode_without_bom_handling(&bytes[bom..]);
        let name = if enc == UTF_8 { "UTF-8 (BOM)" } else { enc.name() };
        return Some(Decoded {
            text: text.into_owned(),
            encoding: name,
            replaced: had_errors,
        });
    }
    if let Some(enc) = utf16_without_bom(bytes) {
        let (text, had_errors) = enc.decode_without_bom_handling(bytes);
        return Some(Decoded {
            text: text.into_owned(),
            encoding: enc.name(),
            replaced: had_errors,
        });
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        if memchr::memchr(0, bytes).is_some() {
            return None;
        }
        return Some(Decoded {
            text: s.to_owned(),
            encoding: "UTF-8",
            replaced: false,
        });
    }
    // Text that is valid UTF-8 except for a cut final character stays UTF-8.
    if let Err(e) = std::str::from_utf8(bytes) {
        if e.error_len().is_none() && e.valid_up_to() + 4 > bytes.len() {
            let s = String::from_utf8_lossy(bytes).into_owned();
            return Some(Decoded {
                text: s,
                encoding: "UTF-8",
                replaced: true,
            });
        }
    }
    let nul = bytes.iter().take(8192).filter(|&&b| b == 0).count();
    if nul > 0 {
        return None;
    }
    let mut det = chardetng::EncodingDetector::new();
    det.feed(bytes, true);
    let enc = det.guess(None, false);
    let (text, had_errors) = enc.decode_without_bom_handling(bytes);
    // Many C0 control characters mean this was never text.
    let controls = text
        .chars()
        .take(8192)
        .filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\x0C'))
        .count();
    if controls > 8 {
        return None;
    }
    let name = match enc.name() {
        "GBK" => "GB18030/GBK",
        other => other,
    };
    Some(Decoded {
        text: text.into_owned(),
        encoding: name,
        replaced: had_errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_common_encodings() {
        let zh = "甄嬛：皇上万福金安。臣妾给皇上请安，愿皇上身体康健，万事如意。苏培盛：皇上，敬事房的人来了。";
        let (bytes, _, _) = encoding_rs::GB18030.encode(zh);
        let d = decode(&bytes).unwrap();
        assert_eq!((d.encoding, d.text.as_str()), ("GB18030/GBK", zh));
        let tw = "甄嬛：皇上萬福金安。臣妾給皇上請安，願皇上身體康健，萬事如意。蘇培盛：皇上，敬事房的人來了。";
        let (bytes, _, _) = encoding_rs::BIG5.encode(tw);
        let d = decode(&bytes).unwrap();
        assert_eq!((d.encoding, d.text.as_str()), ("Big5", tw));
        let ja = "こんにちは、世界。今日はとても良い天気ですね。明日も晴れるといいのですが。";
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(ja);
        let d = decode(&bytes).unwrap();
        assert_eq!(d.encoding, "Shift_JIS");
        assert_eq!(d.text, ja);
        let (bytes, _, _) = encoding_rs::WINDOWS_1252
            .encode("Caf\u{e9} cr\u{e8}me \u{201c}na\u{ef}ve\u{201d} fa\u{e7}ade r\u{e9}sum\u{e9} d\u{e9}j\u{e0} vu");
        let d = decode(&bytes).unwrap();
        assert_eq!(d.encoding, "windows-1252");
        assert!(d.text.contains("“naïve”"));
    }

    #[test]
    fn utf16_with_and_without_bom() {
        let s = "Hello there: how are you doing today?";
        let le: Vec<u8> = s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        let be: Vec<u8> = s.encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
        assert_eq!(decode(&le).unwrap().encoding, "UTF-16LE");
        assert_eq!(decode(&be).unwrap().text, s);
        let mut bom = vec![0xFF, 0xFE];
        bom.extend(&le);
        assert_eq!(decode(&bom).unwrap().text, s);
        let mut u8bom = vec![0xEF, 0xBB, 0xBF];
        u8bom.extend(s.as_bytes());
        let d = decode(&u8bom).unwrap();
        assert_eq!((d.text.as_str(), d.encoding), (s, "UTF-8 (BOM)"));
    }

    #[test]
    fn binary_is_refused() {
        let bytes: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 256) as u8).collect();
        assert!(decode(&bytes).is_none());
        assert!(sniff_binary(b"%PDF-1.7 ...").is_some());
    }
}
