//! Extraction in every layout on arbitrary text: no panics, offsets in range.
#![no_main]
use dramatis::extract::{extract, ExtractOptions, Layout};
use dramatis::ingest::{import_bytes, IngestOptions};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Some((sel, body)) = data.split_first() else { return };
    let layouts = [None, Some(Layout::Script), Some(Layout::Play), Some(Layout::Screenplay), Some(Layout::Novel)];
    let layout = layouts[*sel as usize % layouts.len()];
    let Ok(doc) = import_bytes(Path::new("a.txt"), body, &IngestOptions::default()) else { return };
    let n = doc.original.chars().count();
    let s = extract(std::slice::from_ref(&doc), &ExtractOptions { layout, ..Default::default() });
    for u in &s.utterances {
        assert!(u.start <= u.end && u.end <= n, "{} {} {}", u.start, u.end, n);
        assert!(u.scene < s.scenes.len());
    }
    let _ = dramatis::dataset::build(&s, &dramatis::dataset::DatasetOptions { character: s.cast.members.first().map(|m| m.name.clone()).unwrap_or_default(), ..Default::default() });
});
