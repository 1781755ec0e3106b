//! ingest: any file a person would drop in → a [`Document`] of normalised text
//! with a map back to the original, plus structure hints (subtitle cues,
//! chapter breaks).

mod archive;
pub mod decode;
pub mod subtitles;
pub mod text;

use crate::jobs::{Error, Job, Result};
use serde::Serialize;
use std::borrow::Cow;
use std::path::{Path, PathBuf};
pub use subtitles::Cue;
pub use text::NormalizeReport;

/// The kind of file, as recognised from its content (and its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    Text,
    Markdown,
    Epub,
    Docx,
    Srt,
    Ass,
    Fountain,
}

#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Largest amount of text accepted, in bytes (decoded or unpacked).
    pub max_bytes: u64,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions { max_bytes: 200 << 20 }
    }
}

/// A decoded, normalised document.
#[derive(Debug, Clone)]
pub struct Document {
    pub path: PathBuf,
    pub format: SourceFormat,
    /// The detected encoding, e.g. "UTF-8", "GB18030/GBK", "UTF-16LE".
    pub encoding: String,
    /// The decoded original text (BOM removed). For EPUB and DOCX: the text
    /// extracted from the markup, paragraphs separated by blank lines.
    pub original: String,
    /// Normalised text that the extractor reads.
    pub text: String,
    anchors: Vec<(usize, usize)>,
    /// Subtitle cues (SRT/ASS), with ranges into `text`.
    pub cues: Vec<Cue>,
    /// Byte offsets into `text` where a chapter begins (EPUB spine items).
    pub chapter_starts: Vec<usize>,
    pub normalized: NormalizeReport,
    /// Some bytes did not decode and were replaced with U+FFFD.
    pub lossy: bool,
}

impl Document {
    /// Character offset in `original` of a byte offset in `text`.
    pub fn original_offset(&self, text_byte: usize) -> usize {
        text::map_offset(&self.text, &self.anchors, text_byte)
    }

    /// [`Document::original_offset`] of offsets that mostly grow, each
    /// search starting where the one before ended (`hint`, 0 at first).
    pub fn original_offset_near(&self, text_byte: usize, hint: &mut usize) -> usize {
        text::map_offset_near(&self.text, &self.anchors, text_byte, hint)
    }

    pub fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// What the importer found, for people and for `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct ImportSummary {
    pub file: String,
    pub format: SourceFormat,
    pub encoding: String,
    pub bytes: u64,
    pub chars: usize,
    pub lines: usize,
    pub chapters: usize,
    pub cues: usize,
    pub lossy: bool,
    pub normalized: NormalizeReport,
}

impl Document {
    pub fn summary(&self, bytes: u64) -> ImportSummary {
        ImportSummary {
            file: self.path.display().to_string(),
            format: self.format,
            encoding: self.encoding.clone(),
            bytes,
            chars: self.original.chars().count(),
            // As `text.lines().count()` (the text's line breaks are LF).
            lines: memchr::memchr_iter(b'\n', self.text.as_bytes()).count()
                + usize::from(!self.text.is_empty() && !self.text.ends_with('\n')),
            chapters: self.chapter_starts.len(),
            cues: self.cues.len(),
            lossy: self.lossy,
            normalized: self.normalized.clone(),
        }
    }
}

/// Read and import one file.
pub fn import_file(path: &Path, opts: &IngestOptions, job: &Job) -> Result<Document> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Err(Error::NotText {
            path: path.into(),
            what: "this is a folder, not a file".into(),
        });
    }
    // Archives may hold more text than their size; plain files may not exceed the limit.
    if meta.len() > opts.max_bytes.saturating_mul(4) {
        return Err(Error::TooLarge {
            path: path.into(),
            detail: format!("the file is {} MB", meta.len() >> 20),
            limit_mb: opts.max_bytes >> 20,
        });
    }
    job.report("import", 0, Some(meta.len()), "bytes", path.display().to_string());
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let doc = import_data(path, Cow::Owned(bytes), opts)?;
    job.report(
        "import",
        meta.len(),
        Some(meta.len()),
        "bytes",
        path.display().to_string(),
    );
    Ok(doc)
}

fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Import a file's bytes; `path` names it in errors and decides ambiguous formats.
pub fn import_bytes(path: &Path, bytes: &[u8], opts: &IngestOptions) -> Result<Document> {
    import_data(path, Cow::Borrowed(bytes), opts)
}

/// [`import_bytes`], keeping a buffer it is given when the text is UTF-8.
fn import_data(path: &Path, data: Cow<[u8]>, opts: &IngestOptions) -> Result<Document> {
    let bytes: &[u8] = &data;
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::Empty { path: path.into() });
    }
    let ext = extension(path);
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return import_zip(path, bytes, &ext, opts);
    }
    if matches!(ext.as_str(), "epub" | "docx") {
        return Err(Error::Corrupt {
            path: path.into(),
            container: if ext == "epub" { "EPUB" } else { "DOCX" },
            detail: "it does not start like a zip archive".into(),
        });
    }
    if let Some(why) = decode::sniff_binary(bytes) {
        return Err(Error::NotText {
            path: path.into(),
            what: why.into(),
        });
    }
    if bytes.len() as u64 > opts.max_bytes {
        return Err(Error::TooLarge {
            path: path.into(),
            detail: format!("the file is {} MB", bytes.len() >> 20),
            limit_mb: opts.max_bytes >> 20,
        });
    }
    let decoded = match data {
        Cow::Owned(v) => decode::decode_owned(v),
        Cow::Borrowed(b) => decode::decode(b),
    }
    .ok_or_else(|| Error::NotText {
        path: path.into(),
        what: "this does not look like text (binary data)".into(),
    })?;
    if decoded.text.trim().is_empty() {
        return Err(Error::Empty { path: path.into() });
    }
    let original = decoded.text;
    let looks_ass = original.trim_start().starts_with("[Script Info]") || original.contains("\nDialogue:");
    let format = match ext.as_str() {
        "srt" => SourceFormat::Srt,
        "ass" | "ssa" => SourceFormat::Ass,
        "fountain" | "spmd" => SourceFormat::Fountain,
        "md" | "markdown" => SourceFormat::Markdown,
        _ if looks_ass => SourceFormat::Ass,
        _ if looks_like_srt(&original) => SourceFormat::Srt,
        _ => SourceFormat::Text,
    };
    let mut doc = match format {
        SourceFormat::Srt | SourceFormat::Ass => {
            let mut b = text::TextBuilder::with_capacity(original.len());
            let cues = if format == SourceFormat::Srt {
                subtitles::parse_srt(&original, &mut b)
            } else {
                subtitles::parse_ass(&original, &mut b)
            };
            let cues = cues.ok_or_else(|| Error::Format {
                path: path.into(),
                detail: "no subtitle cues were found. Check that this is a subtitle file, or rename it to .txt to read it as text.".into(),
            })?;
            let (text, anchors) = b.finish();
            Document {
                path: path.into(),
                format,
                encoding: decoded.encoding.into(),
                original,
                text,
                anchors,
                cues,
                chapter_starts: Vec::new(),
                normalized: NormalizeReport::default(),
                lossy: decoded.replaced,
            }
        }
        _ => from_text(path, format, decoded.encoding.into(), original, Vec::new()),
    };
    doc.lossy |= decoded.replaced;
    Ok(doc)
}

fn from_text(
    path: &Path,
    format: SourceFormat,
    encoding: String,
    original: String,
    chapter_starts_orig: Vec<usize>,
) -> Document {
    let (b, report) = text::normalize(&original);
    let (text, anchors) = b.finish();
    let mut doc = Document {
        path: path.into(),
        format,
        encoding,
        original,
        text,
        anchors,
        cues: Vec::new(),
        chapter_starts: Vec::new(),
        normalized: report,
        lossy: false,
    };
    // Chapter starts were recorded as original char offsets; find them in the text.
    if !chapter_starts_orig.is_empty() {
        let mut starts = Vec::new();
        let mut ci = chapter_starts_orig.iter().peekable();
        for (byte, _) in doc.text.char_indices().chain(std::iter::once((doc.text.len(), ' '))) {
            let o = doc.original_offset(byte);
            while ci.peek().is_some_and(|&&c| c <= o) {
                ci.next();
                starts.push(byte);
            }
            if ci.peek().is_none() {
                break;
            }
        }
        starts.dedup();
        doc.chapter_starts = starts;
    }
    doc
}

fn looks_like_srt(s: &str) -> bool {
    let mut it = s.lines().map(str::trim).filter(|l| !l.is_empty());
    matches!((it.next(), it.next()), (Some(a), Some(b)) if a.bytes().all(|c| c.is_ascii_digit()) && b.contains("-->"))
}

fn import_zip(path: &Path, bytes: &[u8], ext: &str, opts: &IngestOptions) -> Result<Document> {
    let probe = archive::Zip::open(bytes, path, "zip", opts.max_bytes)?;
    let is_epub = probe.has("META-INF/container.xml") || ext == "epub";
    let is_docx = probe.has("word/document.xml") || ext == "docx";
    drop(probe);
    let (format, container) = if is_epub {
        (SourceFormat::Epub, "EPUB")
    } else if is_docx {
        (SourceFormat::Docx, "DOCX")
    } else {
        return Err(Error::NotText {
            path: path.into(),
            what:
                "this is a zip archive that is neither an EPUB nor a DOCX; unpack it and import the text files inside"
                    .into(),
        });
    };
    let mut zip = archive::Zip::open(bytes, path, container, opts.max_bytes)?;
    let mut original = String::new();
    let mut chapter_starts = Vec::new();
    let mut chars = 0usize;
    let push_para = |original: &mut String, chars: &mut usize, p: &str| {
        if !original.is_empty() {
            original.push_str("\n\n");
            *chars += 2;
        }
        original.push_str(p);
        *chars += p.chars().count();
    };
    if format == SourceFormat::Epub {
        for chapter in archive::epub_chapters(&mut zip)? {
            chapter_starts.push(chars + usize::from(!original.is_empty()) * 2);
            for p in chapter {
                push_para(&mut original, &mut chars, &p);
            }
        }
    } else {
        for p in archive::docx_paragraphs(&mut zip)? {
            if !p.trim().is_empty() {
                push_para(&mut original, &mut chars, &p);
            }
        }
    }
    if original.trim().is_empty() {
        return Err(Error::Empty { path: path.into() });
    }
    Ok(from_text(path, format, "UTF-8".into(), original, chapter_starts))
}
