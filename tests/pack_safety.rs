//! Hostile persona packs, repeated imports and deletes: nothing is written
//! outside the library, nothing one item owns is lost through another, and
//! what the user confirmed is what is kept.

mod common;
use dramatis::store::pack::{Manifest, PackFile, PackOptions, PackPersona, PACK_FORMAT};
use dramatis::store::{checksum, AliasGroup, Keep, Library, Persona};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};

fn persona_settings() -> PackPersona {
    serde_json::from_value(serde_json::json!({"name": "Mags", "character": "MAGS"})).unwrap()
}

/// Write a pack whose manifest lists `listed` (with their true checksums)
/// and whose zip holds `entries`.
fn write_pack(dst: &Path, listed: &[(&str, &[u8])], entries: &[(&str, &[u8])]) {
    let manifest = Manifest {
        format: PACK_FORMAT.into(),
        version: 1,
        persona: persona_settings(),
        base_model: None,
        files: listed
            .iter()
            .map(|(n, b)| PackFile {
                path: n.to_string(),
                sha256: checksum(b),
                bytes: b.len() as u64,
            })
            .collect(),
    };
    let mut z = zip::ZipWriter::new(std::fs::File::create(dst).unwrap());
    let o = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    z.start_file("manifest.json", o).unwrap();
    z.write_all(&serde_json::to_vec(&manifest).unwrap()).unwrap();
    for (n, b) in entries {
        z.start_file(*n, o).unwrap();
        z.write_all(b).unwrap();
    }
    z.finish().unwrap();
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn hostile_entry_names_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut lib = Library::open(&dir.path().join("l.sqlite")).unwrap();
    let marker = format!("dramatis-traversal-{}", std::process::id());
    let long = format!("adapter/{}", "a".repeat(300));
    let names: Vec<String> = vec![
        format!("adapter//{marker}"),
        format!("adapter/../{marker}"),
        format!("adapter/./{marker}"),
        format!("adapter/sub/{marker}"),
        format!("/{marker}"),
        format!("../{marker}"),
        format!("C:/{marker}"),
        format!("adapter/C:{marker}"),
        format!("adapter\\..\\{marker}"),
        format!("adapter/{marker}\u{1}"),
        "adapter/..".into(),
        "adapter/.hidden".into(),
        "adapter/CON".into(),
        "adapter/nul.txt".into(),
        "adapter/trailing.".into(),
        long,
        "run.sh".into(),
    ];
    for name in &names {
        let pack = dir.path().join("hostile.zip");
        let data: &[u8] = b"not yours";
        write_pack(&pack, &[(name, data)], &[(name, data)]);
        let e = lib.import_pack(&pack).expect_err(name).to_string();
        assert!(e.contains("unsafe") && e.contains("nothing changed"), "{name:?}: {e}");
        assert!(lib.personas().unwrap().is_empty(), "{name:?} left a persona");
        assert!(files_under(&lib.files_dir()).is_empty(), "{name:?} left files");
    }
    for root in [Path::new("/"), dir.path(), &std::env::temp_dir()] {
        assert!(!root.join(&marker).exists(), "a file was written to {}", root.display());
    }
}

/// Exit code, stderr and peak resident memory (KiB) of the CLI. Measured by a
/// small Python parent: a child forked from this (large) test process would
/// carry the test's own high-water mark into its figure.
fn run_measured(args: &[&str], db: &Path) -> (i32, String, i64) {
    const PARENT: &str = "import resource, subprocess, sys\n\
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n\
sys.stderr.buffer.write(r.stderr)\n\
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n\
sys.exit(r.returncode)\n";
    let o = std::process::Command::new("python3")
        .args(["-c", PARENT, env!("CARGO_BIN_EXE_dramatis")])
        .args(args)
        .env("DRAMATIS_LIBRARY", db)
        .output()
        .unwrap();
    let peak = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        peak,
    )
}

/// 300 MB of zeros, deflated to a few hundred KB.
fn write_zeros(z: &mut zip::ZipWriter<std::fs::File>, name: &str) {
    let o = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    z.start_file(name, o).unwrap();
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..300 {
        z.write_all(&chunk).unwrap();
    }
}

#[test]
fn zip_bombs_are_refused_without_unpacking_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("l.sqlite");
    let weights: &[u8] = &[7u8; 4096];
    // Three unlisted members of 300 MB each beside a valid manifest.
    let unlisted = dir.path().join("unlisted.zip");
    write_pack(
        &unlisted,
        &[("adapter/adapter_model.safetensors", weights)],
        &[("adapter/adapter_model.safetensors", weights)],
    );
    {
        // Append the bombs by rewriting the zip with them added.
        let src = std::fs::read(&unlisted).unwrap();
        let mut a = zip::ZipArchive::new(std::io::Cursor::new(src)).unwrap();
        let mut z = zip::ZipWriter::new(std::fs::File::create(&unlisted).unwrap());
        for i in 0..a.len() {
            z.raw_copy_file(a.by_index(i).unwrap()).unwrap();
        }
        for n in ["adapter/a.bin", "adapter/b.bin", "adapter/c.bin"] {
            write_zeros(&mut z, n);
        }
        z.finish().unwrap();
    }
    // A listed member that unpacks to far more than its declared 4096 bytes.
    let lying = dir.path().join("lying.zip");
    {
        let manifest = Manifest {
            format: PACK_FORMAT.into(),
            version: 1,
            persona: persona_settings(),
            base_model: None,
            files: vec![PackFile {
                path: "adapter/adapter_model.safetensors".into(),
                sha256: checksum(weights),
                bytes: 4096,
            }],
        };
        let mut z = zip::ZipWriter::new(std::fs::File::create(&lying).unwrap());
        z.start_file("manifest.json", zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(&serde_json::to_vec(&manifest).unwrap()).unwrap();
        write_zeros(&mut z, "adapter/adapter_model.safetensors");
        z.finish().unwrap();
    }
    assert!(std::fs::metadata(&unlisted).unwrap().len() < 5 << 20);
    for (pack, why) in [
        (&unlisted, "not in its manifest"),
        (&lying, "more than its declared size"),
    ] {
        let (code, err, peak_kib) = run_measured(&["library", "import", pack.to_str().unwrap()], &db);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains(why) && err.contains("nothing changed"), "{err}");
        assert!(peak_kib < 150 * 1024, "{}: peak memory {peak_kib} KiB", pack.display());
    }
    let lib = Library::open(&db).unwrap();
    assert!(lib.personas().unwrap().is_empty());
    assert!(files_under(&lib.files_dir()).is_empty());
}

fn library_with_adapter(dir: &Path) -> (Library, i64, PathBuf) {
    let mut lib = Library::open(&dir.join("a.sqlite")).unwrap();
    let pid = lib
        .create_persona(
            &Persona {
                name: "Mags".into(),
                character: "MAGS".into(),
                ..Default::default()
            },
            None,
            &[],
        )
        .unwrap();
    let adapter = dir.join("peft");
    std::fs::create_dir_all(&adapter).unwrap();
    std::fs::write(
        adapter.join("adapter_config.json"),
        r#"{"peft_type": "LORA", "r": 8, "lora_alpha": 16, "target_modules": ["q_proj"]}"#,
    )
    .unwrap();
    let header = br#"{"__metadata__":{"format":"pt"}}"#;
    let mut st = (header.len() as u64).to_le_bytes().to_vec();
    st.extend_from_slice(header);
    std::fs::write(adapter.join("adapter_model.safetensors"), st).unwrap();
    (lib, pid, adapter)
}

fn adapter_dir_of(lib: &Library, persona: i64) -> PathBuf {
    PathBuf::from(
        &lib.adapters()
            .unwrap()
            .into_iter()
            .find(|a| a.persona_id == Some(persona))
            .unwrap()
            .path,
    )
}

#[test]
fn every_adapter_owns_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let (mut lib, pid, peft) = library_with_adapter(dir.path());
    // The same PEFT folder for two personas: two copies.
    let other = lib
        .create_persona(
            &Persona {
                name: "Mags again".into(),
                character: "MAGS".into(),
                ..Default::default()
            },
            None,
            &[],
        )
        .unwrap();
    lib.import_peft_adapter(Some(pid), &peft).unwrap();
    lib.import_peft_adapter(Some(other), &peft).unwrap();
    let (a, b) = (adapter_dir_of(&lib, pid), adapter_dir_of(&lib, other));
    assert_ne!(a, b, "two adapters share one folder");
    lib.delete_persona(pid, Keep::default()).unwrap();
    assert!(!a.exists(), "the deleted persona's adapter stays");
    assert!(
        b.join("adapter_model.safetensors").is_file(),
        "deleting one persona took the other's adapter"
    );

    // The same pack imported twice: two personas, two folders.
    let pack = dir.path().join("mags.zip");
    lib.export_pack(other, &pack, &PackOptions::default()).unwrap();
    let one = lib.import_pack(&pack).unwrap();
    let two = lib.import_pack(&pack).unwrap();
    let (d1, d2) = (adapter_dir_of(&lib, one), adapter_dir_of(&lib, two));
    assert_ne!(d1, d2);
    lib.delete_persona(one, Keep::default()).unwrap();
    assert!(d2.join("adapter_config.json").is_file());
    assert!(b.join("adapter_config.json").is_file());
}

#[test]
fn a_folder_two_rows_use_goes_with_the_last_of_them() {
    // Libraries written before adapters owned their folders have shared ones.
    let dir = tempfile::tempdir().unwrap();
    let (mut lib, pid, peft) = library_with_adapter(dir.path());
    let other = lib
        .create_persona(
            &Persona {
                name: "B".into(),
                character: "B".into(),
                ..Default::default()
            },
            None,
            &[],
        )
        .unwrap();
    lib.add_adapter(Some(pid), None, &peft).unwrap();
    lib.add_adapter(Some(other), None, &peft).unwrap();
    let plan = lib.plan_delete_persona(pid, Keep::default()).unwrap();
    assert!(plan.files.is_empty() && plan.kept_files.len() == 1, "{plan:?}");
    lib.delete_persona(pid, Keep::default()).unwrap();
    assert!(peft.join("adapter_model.safetensors").is_file());
    let plan = lib.delete_persona(other, Keep::default()).unwrap();
    assert_eq!(plan.files.len(), 1);
    assert!(!peft.exists());
}

#[test]
fn packs_carry_the_confirmed_cast() {
    let dir = tempfile::tempdir().unwrap();
    let (mut lib, pid, _) = library_with_adapter(dir.path());
    let groups = vec![
        AliasGroup {
            id: 0,
            main_name: "MAGS".into(),
            aliases: vec!["Mags".into(), "Mrs Doyle".into()],
            gender: Some("F".into()),
            lines: 120,
            confirmed: true,
        },
        AliasGroup {
            id: 0,
            main_name: "TOM".into(),
            aliases: vec!["Tommy".into()],
            gender: None,
            lines: 40,
            confirmed: false,
        },
    ];
    lib.set_alias_groups(pid, &groups).unwrap();
    let pack = dir.path().join("p.zip");
    lib.export_pack(pid, &pack, &PackOptions::default()).unwrap();
    let mut other = Library::open(&dir.path().join("b.sqlite")).unwrap();
    let pid2 = other.import_pack(&pack).unwrap();
    let strip = |g: Vec<AliasGroup>| g.into_iter().map(|g| AliasGroup { id: 0, ..g }).collect::<Vec<_>>();
    assert_eq!(strip(other.alias_groups(pid2).unwrap()), groups);
}

#[test]
fn persona_create_keeps_exactly_the_names_the_user_confirmed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("l.sqlite");
    let script = common::repo().join("personas/lighthouse/script.txt");
    let (code, out, err) = common::run_cli(
        &[
            "persona",
            "create",
            script.to_str().unwrap(),
            "--character",
            "MAGS",
            "--alias",
            "Mags",
            "--alias",
            "Mrs Doyle",
            "--json",
        ],
        Some(&db),
    );
    assert_eq!(code, 0, "{err}");
    let pid = serde_json::from_str::<Value>(&out).unwrap()["persona"]
        .as_i64()
        .unwrap();
    let lib = Library::open(&db).unwrap();
    let groups = lib.alias_groups(pid).unwrap();
    let own: Vec<_> = groups.iter().filter(|g| g.main_name == "MAGS").collect();
    assert_eq!(own.len(), 1, "{groups:?}");
    assert_eq!(own[0].aliases, vec!["Mags".to_string(), "Mrs Doyle".to_string()]);
    assert!(own[0].confirmed && own[0].lines > 100, "{:?}", own[0]);
    assert!(groups.iter().filter(|g| g.main_name != "MAGS").all(|g| !g.confirmed));
    assert!(
        groups.iter().all(|g| g.main_name != "Mrs Doyle"),
        "a confirmed alias still stands as a speaker of its own"
    );
}

#[test]
fn persona_create_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("l.sqlite");
    let mut lib = Library::open(&db).unwrap();
    // Make the last write (the dataset's rows) fail, as a crash or a full disk would.
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "CREATE TRIGGER fail_rows BEFORE INSERT ON dataset_rows BEGIN SELECT RAISE(ABORT, 'simulated failure'); END;",
        )
        .unwrap();
    }
    let req = dramatis::pipeline::PersonaRequest {
        files: vec![common::repo().join("personas/lighthouse/script.txt")],
        character: "MAGS".into(),
        ..Default::default()
    };
    let e = dramatis::pipeline::create_persona(&mut lib, &req, &dramatis::jobs::Job::silent()).unwrap_err();
    assert!(e.to_string().contains("simulated failure"), "{e}");
    assert!(
        lib.personas().unwrap().is_empty(),
        "a persona without its dataset was left"
    );
    assert!(lib.sources().unwrap().is_empty());
    assert!(lib.datasets().unwrap().is_empty());
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("DROP TRIGGER fail_rows").unwrap();
    }
    let made = dramatis::pipeline::create_persona(&mut lib, &req, &dramatis::jobs::Job::silent()).unwrap();
    assert_eq!(lib.dataset(made.dataset).unwrap().persona_id, Some(made.persona));
}

#[test]
fn persona_create_killed_at_any_moment_leaves_whole_personas() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("l.sqlite");
    let script = common::repo().join("personas/lighthouse/script.txt");
    let args = ["persona", "create", script.to_str().unwrap(), "--character", "MAGS"];
    let t = std::time::Instant::now();
    let (code, _, err) = common::run_cli(&args, Some(&db));
    assert_eq!(code, 0, "{err}");
    let full = t.elapsed();
    for i in 0..12u32 {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dramatis"))
            .args(args)
            .env("DRAMATIS_LIBRARY", &db)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(full * i / 10);
        let _ = child.kill();
        let _ = child.wait();
    }
    let lib = Library::open(&db).unwrap();
    assert_eq!(lib.integrity_check().unwrap(), "ok");
    let datasets = lib.datasets().unwrap();
    for p in lib.personas().unwrap() {
        assert!(
            datasets.iter().any(|d| d.persona_id == Some(p.id) && d.rows > 100),
            "persona #{} has no dataset",
            p.id
        );
        assert!(!lib.alias_groups(p.id).unwrap().is_empty());
    }
}

#[test]
fn small_things_a_user_trips_on() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("l.sqlite");
    // A text file named .zip is not "an invalid card".
    let fake = dir.path().join("pack.zip");
    std::fs::write(&fake, "hello, not a zip").unwrap();
    let (code, _, err) = common::run_cli(&["library", "import", fake.to_str().unwrap()], Some(&db));
    assert_eq!(code, 1);
    assert!(err.contains("not a zip file") && !err.contains("JSON"), "{err}");
    // The export help says which id each kind takes.
    let (_, help, _) = common::run_cli(&["library", "export", "--help"], None);
    assert!(
        help.contains("by dataset id") && help.contains("by persona id"),
        "{help}"
    );
}

#[test]
fn a_closed_stdout_ends_the_cli_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("l.sqlite");
    let script = common::repo().join("personas/lighthouse/script.txt");
    let (code, _, err) = common::run_cli(
        &["persona", "create", script.to_str().unwrap(), "--character", "MAGS"],
        Some(&db),
    );
    assert_eq!(code, 0, "{err}");
    // Like `dramatis library show dataset 1 --json | head -c 1`: the reader goes away.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dramatis"))
        .args(["library", "show", "dataset", "1", "--json"])
        .env("DRAMATIS_LIBRARY", &db)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(first[0], b'{');
    assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{err}");
}

/// The fuzz target's checks (fuzz/fuzz_targets/pack_import.rs) on seeded
/// mutations of a real pack and card, so every test run fuzzes a little.
#[test]
fn damaged_packs_and_cards_never_panic_nor_leave_anything() {
    let dir = tempfile::tempdir().unwrap();
    let (mut lib, pid, peft) = library_with_adapter(dir.path());
    lib.import_peft_adapter(Some(pid), &peft).unwrap();
    let pack = dir.path().join("good.zip");
    lib.export_pack(pid, &pack, &PackOptions::default()).unwrap();
    let card_png = dir.path().join("good.png");
    let p = lib.persona(pid).unwrap();
    let card = dramatis::store::card::card_json(&p.persona, None, None);
    let png =
        dramatis::store::card::embed_in_png(&dramatis::store::card::default_avatar("Mags"), &card, &card_png).unwrap();
    let seeds = [std::fs::read(&pack).unwrap(), png, serde_json::to_vec(&card).unwrap()];
    let target = tempfile::tempdir().unwrap();
    let mut other = Library::open(&target.path().join("l.sqlite")).unwrap();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |n: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % n.max(1) as u64) as usize
    };
    let mut imported = 0;
    for round in 0..240 {
        let (ext, seed) = match round % 3 {
            0 => ("zip", &seeds[0]),
            1 => ("png", &seeds[1]),
            _ => ("json", &seeds[2]),
        };
        let mut data = seed.clone();
        for _ in 0..1 + next(4) {
            if data.is_empty() {
                break;
            }
            match next(4) {
                0 => {
                    let i = next(data.len());
                    data[i] ^= 1 << next(8);
                }
                1 => data.truncate(next(data.len())),
                2 => {
                    let i = next(data.len());
                    data.insert(i, next(256) as u8);
                }
                _ => {
                    let i = next(data.len());
                    data[i] = 0xff;
                }
            }
        }
        let file = dir.path().join(format!("in.{ext}"));
        std::fs::write(&file, &data).unwrap();
        let before = (other.personas().unwrap().len(), files_under(&other.files_dir()).len());
        match other.import_persona_file(&file) {
            Ok(_) => imported += 1,
            Err(e) => {
                assert!(!e.to_string().is_empty());
                let after = (other.personas().unwrap().len(), files_under(&other.files_dir()).len());
                assert_eq!(before, after, "round {round}: a failed import left something: {e}");
            }
        }
    }
    assert_eq!(other.integrity_check().unwrap(), "ok");
    assert!(imported < 240, "no mutation was refused: the mutations do nothing");
    let names: Vec<String> = std::fs::read_dir(target.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| n.starts_with("l.sqlite") || n == "l.files"),
        "{names:?}"
    );
}
