//! Durability: a writer killed with SIGKILL at random points during imports,
//! dataset edits and chat writes leaves a library that passes
//! `PRAGMA integrity_check` and holds every item it had reported committed.

use dramatis::dataset;
use dramatis::ingest::IngestOptions;
use dramatis::jobs::Error;
use dramatis::store::{Library, Persona};
use std::path::Path;

/// Set in the child process: the library `stress_writer` writes to.
const STRESS_DB: &str = "DRAMATIS_STRESS_DB";

/// The writer the test kills: does nothing in a normal test run.
#[test]
fn stress_writer() {
    if let Some(db) = std::env::var_os(STRESS_DB) {
        let mut lib = Library::open(Path::new(&db)).unwrap();
        stress(&mut lib).unwrap();
    }
}

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn killed_writers_leave_a_sound_library() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("library.sqlite");
    let mut seed: u64 = 0x5eed_1234_abcd_0001;
    let mut verified = 0usize;
    for round in 0..8 {
        // This test binary again, running only `stress_writer` below.
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "stress_writer", "--nocapture", "--test-threads", "1"])
            .env(STRESS_DB, &db)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<String>>()
        });
        // A pseudo-random moment, different each round, reproducible.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(40 + seed % 400));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let lines = reader.join().unwrap();
        let lib = Library::open(&db).unwrap();
        assert_eq!(lib.integrity_check().unwrap(), "ok", "round {round}");
        let sources = lib.sources().unwrap();
        let personas = lib.personas().unwrap();
        let datasets = lib.datasets().unwrap();
        for line in &lines {
            let f: Vec<&str> = line.split(' ').collect();
            let id = |i: usize| f.get(i).and_then(|v| v.parse::<i64>().ok());
            match (f.first().copied(), f.len()) {
                (Some("source"), 3) => {
                    let s = id(1).unwrap();
                    assert!(sources.iter().any(|x| x.id == s), "source {s} lost in round {round}");
                    assert_eq!(lib.source_text(s).unwrap().len() as i64, id(2).unwrap());
                }
                (Some("persona"), 3) => {
                    let p = personas
                        .iter()
                        .find(|x| Some(x.id) == id(1))
                        .unwrap_or_else(|| panic!("{line} lost"));
                    assert_eq!(p.persona.name, f[2]);
                }
                (Some("dataset"), 3) => {
                    let d = datasets
                        .iter()
                        .find(|x| Some(x.id) == id(1))
                        .unwrap_or_else(|| panic!("{line} lost"));
                    assert_eq!(d.rows, id(2).unwrap());
                }
                (Some("disabled"), 3) => {
                    let rows = lib.dataset_rows(id(1).unwrap()).unwrap();
                    let r = rows.iter().find(|r| Some(r.id) == id(2)).unwrap();
                    assert!(!r.enabled, "{line}: the edit was lost");
                }
                (Some("message"), 4) => {
                    let msgs = lib.messages(id(1).unwrap()).unwrap();
                    let m = msgs
                        .iter()
                        .find(|m| Some(m.id) == id(2))
                        .unwrap_or_else(|| panic!("{line} lost"));
                    assert_eq!(m.content, f[3]);
                }
                _ => continue, // a line cut by the kill
            }
            verified += 1;
        }
        // Every dataset that exists is whole: a transaction is all or nothing.
        for d in &datasets {
            assert_eq!(d.rows, 40, "dataset {} is partial", d.id);
        }
    }
    assert!(
        verified > 50,
        "the writer got little done before each kill: {verified} items checked"
    );
}

/// Write items forever, printing each one after its commit; the crash test
/// kills this process at random points and checks what was printed is there.
fn stress(lib: &mut Library) -> Result<(), Error> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for i in 0u64.. {
        let text = format!("第1幕\n皇帝：第{i}次。\n甄嬛：臣妾记得第{i}次。\n");
        let doc = dramatis::ingest::import_bytes(Path::new("s.txt"), text.as_bytes(), &IngestOptions::default())?;
        let src = lib.add_source(&doc, text.as_bytes())?;
        writeln!(out, "source {src} {}", doc.text.len()).ok();
        let pid = lib.create_persona(
            &Persona {
                name: format!("p{i}"),
                character: "甄嬛".into(),
                ..Default::default()
            },
            None,
            &[src],
        )?;
        writeln!(out, "persona {pid} p{i}").ok();
        let samples: Vec<_> = (0..40)
            .map(|j| dataset::Sample {
                system: String::new(),
                instruction: format!("q{i}-{j}"),
                input: String::new(),
                output: format!("a{i}-{j}"),
                history: Vec::new(),
                scene: None,
                split: dataset::Split::Train,
                confidence: None,
            })
            .collect();
        let did = lib.create_dataset(Some(pid), &format!("d{i}"), &samples, "{}")?;
        writeln!(out, "dataset {did} 40").ok();
        let row = lib.dataset_rows(did)?[7].id;
        lib.set_row_enabled(row, false)?;
        writeln!(out, "disabled {did} {row}").ok();
        let cid = lib.create_conversation(Some(pid), &format!("c{i}"))?;
        for k in 0..5 {
            let mid = lib.add_message(
                cid,
                if k % 2 == 0 { "user" } else { "assistant" },
                &format!("m{i}-{k}"),
                "{}",
                None,
            )?;
            writeln!(out, "message {cid} {mid} m{i}-{k}").ok();
        }
        out.flush().ok();
    }
    Ok(())
}
