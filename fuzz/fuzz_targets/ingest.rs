//! Every importer must return Ok or a typed error for any bytes: never panic.
#![no_main]
use dramatis::ingest::{import_bytes, IngestOptions};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let opts = IngestOptions { max_bytes: 1 << 20 };
    // The first byte picks the file name, which decides ambiguous formats.
    let names = ["a.txt", "a.md", "a.epub", "a.docx", "a.srt", "a.ass", "a.fountain", "a.bin"];
    let (name, body) = match data.split_first() {
        Some((b, rest)) => (names[*b as usize % names.len()], rest),
        None => ("a.txt", data),
    };
    if let Ok(doc) = import_bytes(Path::new(name), body, &opts) {
        // Offsets must map back inside the original for every position.
        let n = doc.original.chars().count();
        for (i, _) in doc.text.char_indices().step_by(7) {
            assert!(doc.original_offset(i) <= n);
        }
        assert!(doc.original_offset(doc.text.len()) <= n);
    }
});
