//! Importing persona packs (.zip) and character cards (.png, .json): hostile
//! bytes give errors, never panics, never a file outside the library's
//! folder, and a failed import leaves the library as it was.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut lib = dramatis::store::Library::open(&dir.path().join("l.sqlite")).expect("library");
    for name in ["p.zip", "c.png", "c.json"] {
        let file = dir.path().join("in").join(name);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, data).unwrap();
        let before = lib.personas().unwrap().len();
        if lib.import_persona_file(&file).is_err() {
            assert_eq!(lib.personas().unwrap().len(), before, "a failed import left a persona");
        }
    }
    // Only the library, its folder and the inputs exist in the temp dir.
    for e in std::fs::read_dir(dir.path()).unwrap().flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        assert!(n.starts_with("l.sqlite") || n == "in" || n == "l.files", "stray {n}");
    }
});
