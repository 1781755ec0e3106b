//! EPUB and DOCX: zip containers of XML. Reads entries with size limits (zip
//! bombs), follows the EPUB spine, and turns XHTML/WordprocessingML into
//! paragraphs.

use crate::jobs::{Error, Result};
use quick_xml::events::Event;
use std::io::{Cursor, Read};
use std::path::Path;

pub struct Zip<'a> {
    archive: zip::ZipArchive<Cursor<&'a [u8]>>,
    path: &'a Path,
    container: &'static str,
    limit: u64,
    read_total: u64,
}

impl<'a> Zip<'a> {
    pub fn open(bytes: &'a [u8], path: &'a Path, container: &'static str, limit: u64) -> Result<Self> {
        let archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| Error::Corrupt {
            path: path.into(),
            container,
            detail: e.to_string(),
        })?;
        Ok(Zip {
            archive,
            path,
            container,
            limit,
            read_total: 0,
        })
    }

    fn corrupt(&self, detail: impl Into<String>) -> Error {
        Error::Corrupt {
            path: self.path.into(),
            container: self.container,
            detail: detail.into(),
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.archive.index_for_name(name).is_some()
    }

    /// Read one entry as UTF-8 text, refusing entries that inflate past the limit.
    pub fn read_text(&mut self, name: &str) -> Result<String> {
        let remaining = self.limit.saturating_sub(self.read_total);
        let (declared, compressed, data) = {
            let entry = self.archive.by_name(name).map_err(|e| Error::Corrupt {
                path: self.path.into(),
                container: self.container,
                detail: format!("{name}: {e}"),
            })?;
            let declared = entry.size();
            let compressed = entry.compressed_size();
            if declared > remaining {
                return Err(Error::TooLarge {
                    path: self.path.into(),
                    detail: format!("the entry {name} unpacks to {} MB", declared >> 20),
                    limit_mb: self.limit >> 20,
                });
            }
            let mut data = Vec::with_capacity(declared.min(1 << 24) as usize);
            // Never trust the declared size: stop reading past the limit.
            let r = entry.take(remaining + 1).read_to_end(&mut data);
            r.map_err(|e| Error::Corrupt {
                path: self.path.into(),
                container: self.container,
                detail: format!("{name}: {e}"),
            })?;
            (declared, compressed, data)
        };
        if data.len() as u64 > remaining {
            return Err(Error::TooLarge {
                path: self.path.into(),
                detail: format!("the entry {name} unpacks past the limit (a zip bomb?)"),
                limit_mb: self.limit >> 20,
            });
        }
        if data.len() as u64 != declared {
            return Err(self.corrupt(format!("{name} is truncated")));
        }
        if compressed > 0 && declared > (1 << 20) && declared / compressed > 1000 {
            return Err(Error::TooLarge {
                path: self.path.into(),
                detail: format!("the entry {name} is compressed more than 1000:1 (a zip bomb?)"),
                limit_mb: self.limit >> 20,
            });
        }
        self.read_total += data.len() as u64;
        let text = String::from_utf8(data).map_err(|_| self.corrupt(format!("{name} is not UTF-8 text")))?;
        Ok(text.trim_start_matches('\u{feff}').to_owned())
    }
}

/// Resolve an href relative to the folder of `base` inside the archive.
fn resolve(base: &str, href: &str) -> String {
    let href = href.split('#').next().unwrap_or("");
    let href = percent_decode(href);
    let mut parts: Vec<&str> = match base.rfind('/') {
        Some(i) => base[..i].split('/').collect(),
        None => Vec::new(),
    };
    for seg in href.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn attr(e: &quick_xml::events::BytesStart, key: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == key)
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

fn xml_reader(s: &str) -> quick_xml::Reader<&[u8]> {
    let mut r = quick_xml::Reader::from_str(s);
    let c = r.config_mut();
    c.check_end_names = false;
    c.trim_text(false);
    r
}

/// The chapters of an EPUB in spine order, each as paragraphs.
pub fn epub_chapters(zip: &mut Zip) -> Result<Vec<Vec<String>>> {
    let container = zip.read_text("META-INF/container.xml")?;
    let mut opf_path = None;
    let mut r = xml_reader(&container);
    loop {
        match r.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) if e.local_name().as_ref() == b"rootfile" => {
                opf_path = attr(&e, b"full-path");
                break;
            }
            Ok(Event::Eof) => break,
            Err(e) => return Err(zip.corrupt(format!("META-INF/container.xml: {e}"))),
            _ => {}
        }
    }
    let opf_path = opf_path.ok_or_else(|| zip.corrupt("container.xml names no package file"))?;
    let opf = zip.read_text(&opf_path)?;
    let mut manifest: Vec<(String, String, String, String)> = Vec::new(); // id, href, media, props
    let mut spine: Vec<(String, bool)> = Vec::new();
    let mut toc_id = None;
    let mut r = xml_reader(&opf);
    loop {
        match r.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => match e.local_name().as_ref() {
                b"item" => manifest.push((
                    attr(&e, b"id").unwrap_or_default(),
                    attr(&e, b"href").unwrap_or_default(),
                    attr(&e, b"media-type").unwrap_or_default(),
                    attr(&e, b"properties").unwrap_or_default(),
                )),
                b"spine" => toc_id = attr(&e, b"toc"),
                b"itemref" => spine.push((
                    attr(&e, b"idref").unwrap_or_default(),
                    attr(&e, b"linear").as_deref() != Some("no"),
                )),
                _ => {}
            },
            Ok(Event::Eof) => break,
            Err(e) => return Err(zip.corrupt(format!("{opf_path}: {e}"))),
            _ => {}
        }
    }
    if spine.is_empty() {
        return Err(zip.corrupt("the book has no reading order (empty spine)"));
    }
    let mut chapters = Vec::new();
    for (idref, linear) in spine {
        let Some((id, href, media, props)) = manifest.iter().find(|m| m.0 == idref) else {
            continue;
        };
        let is_nav =
            props.split_whitespace().any(|p| p == "nav") || Some(id) == toc_id.as_ref() || media.contains("dtbncx");
        if is_nav || !linear || !(media.contains("html") || media.is_empty()) {
            continue;
        }
        let name = resolve(&opf_path, href);
        if !zip.has(&name) {
            return Err(zip.corrupt(format!("the chapter {name} listed in the book is missing")));
        }
        let xhtml = zip.read_text(&name)?;
        let paras = xhtml_paragraphs(&xhtml);
        if !paras.is_empty() {
            chapters.push(paras);
        }
    }
    Ok(chapters)
}

const BLOCKS: &[&[u8]] = &[
    b"p",
    b"div",
    b"h1",
    b"h2",
    b"h3",
    b"h4",
    b"h5",
    b"h6",
    b"li",
    b"br",
    b"tr",
    b"blockquote",
    b"section",
    b"article",
    b"pre",
    b"dd",
    b"dt",
    b"hr",
    b"table",
    b"ul",
    b"ol",
    b"body",
];

fn html_entity(name: &str) -> Option<&'static str> {
    Some(match name {
        "nbsp" => "\u{a0}",
        "mdash" => "—",
        "ndash" => "–",
        "hellip" => "…",
        "lsquo" => "‘",
        "rsquo" => "’",
        "ldquo" => "“",
        "rdquo" => "”",
        "copy" => "©",
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        "shy" => "",
        "eacute" => "é",
        "egrave" => "è",
        "agrave" => "à",
        "ccedil" => "ç",
        "uuml" => "ü",
        "ouml" => "ö",
        "auml" => "ä",
        _ => return None,
    })
}

/// Paragraphs of an XHTML document: block elements break, nav/script/style skipped.
pub fn xhtml_paragraphs(xhtml: &str) -> Vec<String> {
    let mut paras = Vec::new();
    let mut cur = String::new();
    let mut skip = 0usize;
    let mut r = xml_reader(xhtml);
    let flush = |cur: &mut String, paras: &mut Vec<String>| {
        let t = cur.split_whitespace().collect::<Vec<_>>().join(" ");
        if !t.is_empty() {
            paras.push(t);
        }
        cur.clear();
    };
    loop {
        match r.read_event() {
            Ok(Event::Start(e)) => {
                let n = e.local_name();
                let n = n.as_ref();
                if skip > 0 || matches!(n, b"head" | b"script" | b"style" | b"nav") {
                    skip += 1;
                } else if BLOCKS.contains(&n) {
                    flush(&mut cur, &mut paras);
                }
            }
            Ok(Event::Empty(e)) if skip == 0 && BLOCKS.contains(&e.local_name().as_ref()) => {
                flush(&mut cur, &mut paras);
            }
            Ok(Event::End(e)) => {
                if skip > 0 {
                    skip -= 1;
                } else if BLOCKS.contains(&e.local_name().as_ref()) {
                    flush(&mut cur, &mut paras);
                }
            }
            Ok(Event::Text(t)) if skip == 0 => match t.unescape_with(html_entity) {
                Ok(s) => cur.push_str(&s),
                Err(_) => cur.push_str(&String::from_utf8_lossy(&t)),
            },
            Ok(Event::CData(t)) if skip == 0 => cur.push_str(&String::from_utf8_lossy(&t)),
            Ok(Event::Eof) => break,
            // Malformed markup: keep what was read so far rather than fail the book.
            Err(_) => break,
            _ => {}
        }
    }
    flush(&mut cur, &mut paras);
    paras
}

/// Paragraphs of a DOCX main document.
pub fn docx_paragraphs(zip: &mut Zip) -> Result<Vec<String>> {
    if !zip.has("word/document.xml") {
        return Err(zip.corrupt("no word/document.xml inside; is this really a .docx?"));
    }
    let xml = zip.read_text("word/document.xml")?;
    let mut paras = Vec::new();
    let mut cur = String::new();
    let mut in_text = false;
    let mut r = xml_reader(&xml);
    loop {
        match r.read_event() {
            Ok(Event::Start(e)) => match e.local_name().as_ref() {
                b"t" => in_text = true,
                b"p" => cur.clear(),
                _ => {}
            },
            Ok(Event::Empty(e)) => match e.local_name().as_ref() {
                b"tab" => cur.push('\t'),
                b"br" | b"cr" => cur.push('\n'),
                _ => {}
            },
            Ok(Event::End(e)) => match e.local_name().as_ref() {
                b"t" => in_text = false,
                b"p" => {
                    paras.push(cur.trim_end().to_owned());
                    cur.clear();
                }
                _ => {}
            },
            Ok(Event::Text(t)) if in_text => match t.unescape() {
                Ok(s) => cur.push_str(&s),
                Err(_) => cur.push_str(&String::from_utf8_lossy(&t)),
            },
            Ok(Event::Eof) => break,
            Err(e) => return Err(zip.corrupt(format!("word/document.xml: {e}"))),
            _ => {}
        }
    }
    Ok(paras)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_relative_hrefs() {
        assert_eq!(
            resolve("OEBPS/content.opf", "text/ch%201.xhtml#x"),
            "OEBPS/text/ch 1.xhtml"
        );
        assert_eq!(resolve("OEBPS/text/a.opf", "../b.xhtml"), "OEBPS/b.xhtml");
        assert_eq!(resolve("content.opf", "c.xhtml"), "c.xhtml");
    }

    #[test]
    fn xhtml_blocks_become_paragraphs() {
        let p = xhtml_paragraphs("<html><head><title>T</title></head><body><h1>Chapter 1</h1><p>“Hello,” said&nbsp;Alice.</p><p>Second<br/>line</p><script>x</script></body></html>");
        assert_eq!(p, vec!["Chapter 1", "“Hello,” said Alice.", "Second", "line"]);
    }
}
