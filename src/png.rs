//! A minimal PNG writer and chunk reader: loss-curve charts (`tune::eval`),
//! default avatars and character cards (`store::card`) share it.

use crate::jobs::{Error, Result};
use std::path::Path;

/// An 8-bit RGB image (`w`×`h`, rows top to bottom) as PNG bytes.
pub fn encode_rgb(w: u32, h: u32, pixels: &[u8]) -> Vec<u8> {
    // Each row: filter byte 0 (none), then the pixels.
    let mut raw = Vec::with_capacity(pixels.len() + h as usize);
    for row in pixels.chunks(3 * w as usize) {
        raw.push(0);
        raw.extend_from_slice(row);
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut z, &raw).ok();
    let idat = z.finish().unwrap_or_default();
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]); // 8-bit RGB
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &idat);
    chunk(&mut png, b"IEND", &[]);
    png
}

/// Append one chunk (length, type, data, CRC).
pub fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend((data.len() as u32).to_be_bytes());
    let mut h = crc32fast::Hasher::new();
    h.update(kind);
    h.update(data);
    out.extend(kind);
    out.extend(data);
    out.extend(h.finalize().to_be_bytes());
}

/// The chunks of a PNG, up to IEND; a clear error for what is not a PNG.
pub fn chunks<'a>(png: &'a [u8], path: &Path) -> Result<Vec<([u8; 4], &'a [u8])>> {
    let bad = |d: &str| Error::Format {
        path: path.into(),
        detail: d.into(),
    };
    if !png.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Err(bad("this is not a PNG image"));
    }
    let mut out = Vec::new();
    let mut i = 8;
    while i + 12 <= png.len() {
        let len = u32::from_be_bytes([png[i], png[i + 1], png[i + 2], png[i + 3]]) as usize;
        let kind: [u8; 4] = [png[i + 4], png[i + 5], png[i + 6], png[i + 7]];
        let end = i
            .checked_add(12 + len)
            .filter(|&e| e <= png.len())
            .ok_or_else(|| bad("the PNG is cut short (truncated chunk)"))?;
        out.push((kind, &png[i + 8..i + 8 + len]));
        i = end;
        if &kind == b"IEND" {
            break;
        }
    }
    Ok(out)
}
