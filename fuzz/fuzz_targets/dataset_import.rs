//! Importing Alpaca/ShareGPT JSON and JSONL: errors, never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = dramatis::dataset::io::parse(s, Path::new("d.json"));
    }
});
