//! Import + extraction throughput on large generated sources (≥ 20 MB).
//! Run: cargo bench --bench throughput

use dramatis::extract::{extract, ExtractOptions};
use dramatis::ingest::{import_file, IngestOptions};
use dramatis::jobs::Job;
use std::time::Instant;

/// A deterministic pseudo-random generator (no dependencies, same text every run).
struct Rng(u64);
impl Rng {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn english_novel(bytes: usize) -> String {
    let names = [
        "Emma",
        "Mr. Knightley",
        "Harriet",
        "Mrs. Weston",
        "Frank Churchill",
        "Jane",
        "Miss Bates",
        "Mr. Elton",
    ];
    let verbs = ["said", "replied", "cried", "asked", "whispered", "answered"];
    let words = "the of and a to in he she was it that his her with as for had you not be at on by all which have from this they were my one so but there been if when would who them more no what very said could into time than only some upon".split(' ').collect::<Vec<_>>();
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut s = String::with_capacity(bytes + 1000);
    let mut chapter = 1;
    while s.len() < bytes {
        if rng.next(200) == 0 {
            s.push_str(&format!("CHAPTER {chapter}\n\n"));
            chapter += 1;
        }
        let sentence = |rng: &mut Rng| {
            let n = 6 + rng.next(12);
            let mut t: Vec<&str> = (0..n).map(|_| words[rng.next(words.len())]).collect();
            let first = t[0].to_owned();
            let cap = first[..1].to_uppercase() + &first[1..];
            t[0] = "";
            format!("{cap}{}.", t.join(" "))
        };
        let who = names[rng.next(names.len())];
        match rng.next(4) {
            0 => s.push_str(&format!(
                "\"{}\" {} {}. \"{}\"\n\n",
                sentence(&mut rng),
                verbs[rng.next(verbs.len())],
                who,
                sentence(&mut rng)
            )),
            1 => s.push_str(&format!("{who} looked up. \"{}\"\n\n", sentence(&mut rng))),
            2 => s.push_str(&format!("\"{}\"\n\n", sentence(&mut rng))),
            _ => {
                // Hard-wrapped narration, as in Project Gutenberg texts.
                let para: Vec<String> = (0..5).map(|_| sentence(&mut rng)).collect();
                let para = para.join(" ");
                let mut line = String::new();
                for w in para.split(' ') {
                    if line.len() + w.len() > 70 {
                        s.push_str(&line);
                        s.push('\n');
                        line.clear();
                    }
                    if !line.is_empty() {
                        line.push(' ');
                    }
                    line.push_str(w);
                }
                s.push_str(&line);
                s.push_str("\n\n");
            }
        }
    }
    s
}

fn chinese_novel(bytes: usize) -> String {
    let names = ["少平", "晓霞", "润叶", "少安", "金波", "秀莲"];
    let verbs = ["说", "问", "笑道", "回答说"];
    let chars: Vec<char> = "的一是了我不人在他有这个上们来到时大地为子中你说生国年着就那和要她出也得里后自以会家可下而过天去能对小多然于心学么之都好看起发当没成只如事把还用第样道想作种开美总从无情己面最女但现前些所同日手又行意动方期它头经长儿回位分爱老因很给名法间斯知世什两次使身者被高已亲其进此话常与活正感".chars().collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut s = String::with_capacity(bytes + 1000);
    while s.len() < bytes {
        let sentence = |rng: &mut Rng| -> String {
            (0..8 + rng.next(16))
                .map(|_| chars[rng.next(chars.len())])
                .collect::<String>()
                + "。"
        };
        let who = names[rng.next(names.len())];
        match rng.next(3) {
            0 => s.push_str(&format!(
                "　　{who}{}：“{}”\n",
                verbs[rng.next(verbs.len())],
                sentence(&mut rng)
            )),
            1 => s.push_str(&format!(
                "　　“{}”{who}{}。\n",
                sentence(&mut rng),
                verbs[rng.next(verbs.len())]
            )),
            _ => s.push_str(&format!("　　{}{}\n", sentence(&mut rng), sentence(&mut rng))),
        }
    }
    s
}

fn script(bytes: usize) -> String {
    let names = ["甄嬛", "皇帝", "皇后", "华妃", "眉庄", "苏培盛"];
    let mut rng = Rng(7);
    let mut s = String::with_capacity(bytes + 1000);
    let mut scene = 1;
    while s.len() < bytes {
        if rng.next(30) == 0 {
            s.push_str(&format!("第{scene}幕\n（养心殿，夜）\n"));
            scene += 1;
        }
        let who = names[rng.next(names.len())];
        s.push_str(&format!(
            "{who}（低声）：皇上，臣妾今日给太后请安，太后说起您近来操劳。（递上茶）请皇上用茶。\n"
        ));
    }
    s
}

/// Real prose at real dialogue density: the PDNC development novels from
/// ../shared/samples, repeated up to the size (read at run time, never copied).
fn pdnc_repeated(bytes: usize) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/samples/pdnc-dev");
    let mut parts: Vec<String> = std::fs::read_dir(&root)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().join("novel_text.txt"))
                .filter_map(|p| std::fs::read_to_string(p).ok())
                .collect()
        })
        .unwrap_or_default();
    parts.sort();
    repeat_to(&parts.join("\n\n"), bytes)
}

/// 红楼梦 (CRLF, mixed quotes) from ../shared/samples, repeated up to the size.
fn hongloumeng_repeated(bytes: usize) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/samples/zh-novels/hongloumeng_红楼梦.txt");
    repeat_to(&std::fs::read_to_string(p).unwrap_or_default(), bytes)
}

fn repeat_to(text: &str, bytes: usize) -> String {
    if text.is_empty() {
        return String::new();
    }
    let mut s = String::with_capacity(bytes + text.len());
    while s.len() < bytes {
        s.push_str(text);
        s.push_str("\n\n");
    }
    s
}

/// Makes a source of about the given size in bytes.
type Generator = fn(usize) -> String;

fn main() {
    let mb = std::env::var("DRAMATIS_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24usize);
    let dir = std::env::temp_dir().join(format!("dramatis-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("import + extract throughput ({mb} MB each, release build, {threads} cores)");
    let only = std::env::var("DRAMATIS_BENCH_ONLY").unwrap_or_default();
    let kinds: [(&str, Generator); 5] = [
        ("English novel", english_novel),
        ("Chinese novel", chinese_novel),
        ("PDNC novels", pdnc_repeated),
        ("Hongloumeng", hongloumeng_repeated),
        ("Chinese script", script),
    ];
    // The release command line, when built (`cargo build --release`), or DRAMATIS_BIN.
    let cli = std::env::var_os("DRAMATIS_BIN")
        .map(std::path::PathBuf::from)
        .or_else(|| Some(std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/dramatis")))
        .filter(|p| p.is_file());
    match &cli {
        Some(p) => println!("whole process: {}", p.display()),
        None => println!("whole process: not measured (build it with `cargo build --release`)"),
    }
    for (name, make) in kinds {
        if !only.is_empty() && !name.to_lowercase().contains(&only) {
            continue;
        }
        let text = make(mb << 20);
        if text.is_empty() {
            println!("  {name:<15} skipped: ../shared/samples not found");
            continue;
        }
        let path = dir.join(format!("{}.txt", name.replace(' ', "_")));
        std::fs::write(&path, &text).expect("write");
        let mut best = f64::MAX;
        let mut utterances = 0;
        for _ in 0..3 {
            let t = Instant::now();
            let doc = import_file(&path, &IngestOptions::default(), &Job::silent()).expect("import");
            let t_import = t.elapsed().as_secs_f64();
            let s = extract(std::slice::from_ref(&doc), &ExtractOptions::default());
            let total = t.elapsed().as_secs_f64();
            utterances = s.utterances.len();
            if total < best {
                best = total;
                println!(
                    "  {name:<15} import {:>6.1} MB/s, import+extract {:>6.1} MB/s ({} utterances, {} speakers)",
                    text.len() as f64 / 1048576.0 / t_import,
                    text.len() as f64 / 1048576.0 / total,
                    utterances,
                    s.cast.members.len()
                );
            }
        }
        let _ = utterances;
        println!(
            "  {name:<15} best: {:.1} MB/s (target ≥ 100 MB/s)",
            text.len() as f64 / 1048576.0 / best
        );
        if let Some(bin) = &cli {
            // What a person runs: the whole process, JSON written to /dev/null.
            let mut best = f64::MAX;
            for _ in 0..3 {
                let t = Instant::now();
                let status = std::process::Command::new(bin)
                    .args(["extract", "--json"])
                    .arg(&path)
                    .stdout(std::process::Stdio::null())
                    .status()
                    .expect("run dramatis");
                assert!(status.success(), "dramatis extract failed on {}", path.display());
                best = best.min(t.elapsed().as_secs_f64());
            }
            println!(
                "  {name:<15} `dramatis extract --json > /dev/null`: {:.1} MB/s",
                text.len() as f64 / 1048576.0 / best
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
