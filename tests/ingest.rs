//! Import of every supported kind of file, and clear errors for bad input.

mod common;
use dramatis::ingest::{import_bytes, import_file, IngestOptions, SourceFormat};
use dramatis::jobs::{Error, Job};
use std::io::Write;
use std::path::Path;

fn opts() -> IngestOptions {
    IngestOptions::default()
}

const ZH: &str = "第1幕\n（养心殿，夜）\n苏培盛：皇上，敬事房的人来了。\n皇帝：快，请太后进来。\n甄嬛：臣妾给皇上请安，愿皇上万福金安。\n";

#[test]
fn encodings_are_detected_and_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("utf8.txt", ZH.as_bytes().to_vec(), "UTF-8"),
        (
            "bom.txt",
            [&[0xEF, 0xBB, 0xBF][..], ZH.as_bytes()].concat(),
            "UTF-8 (BOM)",
        ),
        (
            "le.txt",
            [
                vec![0xFF, 0xFE],
                ZH.encode_utf16().flat_map(|u| u.to_le_bytes()).collect(),
            ]
            .concat(),
            "UTF-16LE",
        ),
        (
            "be.txt",
            [
                vec![0xFE, 0xFF],
                ZH.encode_utf16().flat_map(|u| u.to_be_bytes()).collect(),
            ]
            .concat(),
            "UTF-16BE",
        ),
        ("gbk.txt", encoding_rs::GB18030.encode(ZH).0.into_owned(), "GB18030/GBK"),
    ];
    for (name, bytes, want) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, &bytes).unwrap();
        let d = import_file(&p, &opts(), &Job::silent()).unwrap();
        assert_eq!(d.encoding, want, "{name}");
        assert_eq!(d.original, ZH, "{name}");
        assert_eq!(d.format, SourceFormat::Text);
    }
    let big5 = "第1幕\n（養心殿，夜）\n蘇培盛：皇上，敬事房的人來了。\n皇帝：快，請太后進來。\n甄嬛：臣妾給皇上請安，願皇上萬福金安。\n";
    let p = dir.path().join("big5.txt");
    std::fs::write(&p, encoding_rs::BIG5.encode(big5).0).unwrap();
    let d = import_file(&p, &opts(), &Job::silent()).unwrap();
    assert_eq!((d.encoding.as_str(), d.original.as_str()), ("Big5", big5));
    let sjis =
        "第一幕\n太郎：こんにちは、元気ですか。今日はいい天気ですね。\n花子：ええ、とても元気です。ありがとう。\n";
    let p = dir.path().join("sjis.txt");
    std::fs::write(&p, encoding_rs::SHIFT_JIS.encode(sjis).0).unwrap();
    let d = import_file(&p, &opts(), &Job::silent()).unwrap();
    assert_eq!((d.encoding.as_str(), d.original.as_str()), ("Shift_JIS", sjis));
    let cp = "MAGS: It\u{2019}s a caf\u{e9}, not a church. \u{201c}Sit down,\u{201d} she said.\nTOM: Right you are, na\u{ef}ve as I am.\n";
    let p = dir.path().join("cp1252.txt");
    std::fs::write(&p, encoding_rs::WINDOWS_1252.encode(cp).0).unwrap();
    let d = import_file(&p, &opts(), &Job::silent()).unwrap();
    assert_eq!((d.encoding.as_str(), d.original.as_str()), ("windows-1252", cp));
}

#[test]
fn epub_reads_the_spine_without_the_toc() {
    let d = import_file(&common::samples().join("epub/alice.epub"), &opts(), &Job::silent()).unwrap();
    assert_eq!(d.format, SourceFormat::Epub);
    assert!(d.chapter_starts.len() >= 10, "chapters: {}", d.chapter_starts.len());
    assert!(d
        .text
        .contains("Alice was beginning to get very tired of sitting by her sister"));
    assert!(d.text.contains("\n\n"), "paragraphs are separated");
    let first = d.text.to_lowercase().find("down the rabbit-hole").unwrap();
    let tired = d.text.find("Alice was beginning").unwrap();
    assert!(first < tired, "chapter title comes before its text");
}

fn make_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let o = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in entries {
            z.start_file(*name, o).unwrap();
            z.write_all(data).unwrap();
        }
        z.finish().unwrap();
    }
    buf.into_inner()
}

#[test]
fn docx_paragraphs() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>第一集</w:t></w:r></w:p><w:p><w:r><w:t>甄嬛：</w:t></w:r><w:r><w:t xml:space="preserve">臣妾&amp;皇上</w:t></w:r></w:p><w:p><w:r><w:t>皇帝：</w:t></w:r><w:r><w:tab/><w:t>免礼。</w:t></w:r></w:p></w:body></w:document>"#;
    let bytes = make_zip(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("word/document.xml", xml.as_bytes()),
    ]);
    let d = import_bytes(Path::new("s.docx"), &bytes, &opts()).unwrap();
    assert_eq!(d.format, SourceFormat::Docx);
    assert_eq!(d.original, "第一集\n\n甄嬛：臣妾&皇上\n\n皇帝：\t免礼。");
}

#[test]
fn bad_input_gets_clear_errors() {
    let p = Path::new("book.epub");
    // Truncated archive.
    let good = std::fs::read(common::samples().join("epub/alice.epub")).unwrap();
    let e = import_bytes(p, &good[..good.len() / 2], &opts()).unwrap_err();
    assert_eq!(e.kind(), "corrupt", "{e}");
    assert!(
        e.to_string().contains("book.epub") && e.to_string().contains("again"),
        "{e}"
    );
    // Not a zip at all, but named .epub.
    let e = import_bytes(p, b"hello there", &opts()).unwrap_err();
    assert_eq!(e.kind(), "corrupt");
    // A zip that is neither EPUB nor DOCX.
    let e = import_bytes(Path::new("x.zip"), &make_zip(&[("a.txt", b"hi")]), &opts()).unwrap_err();
    assert_eq!(e.kind(), "unsupported_file");
    // Zip bomb: one entry that inflates far past the limit.
    let zeros = vec![0u8; 8 << 20];
    let bomb = make_zip(&[
        (
            "META-INF/container.xml",
            b"<container><rootfiles><rootfile full-path=\"c.opf\"/></rootfiles></container>",
        ),
        ("c.opf", &zeros),
    ]);
    assert!(bomb.len() < 100_000);
    let e = import_bytes(p, &bomb, &IngestOptions { max_bytes: 1 << 20 }).unwrap_err();
    assert_eq!(e.kind(), "too_large", "{e}");
    // Binary and known non-text files.
    let e = import_bytes(Path::new("a.txt"), b"%PDF-1.7\n...", &opts()).unwrap_err();
    assert!(e.to_string().contains("PDF"), "{e}");
    let noise: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    assert_eq!(
        import_bytes(Path::new("a.txt"), &noise, &opts()).unwrap_err().kind(),
        "unsupported_file"
    );
    // Empty and whitespace-only files.
    assert_eq!(
        import_bytes(Path::new("a.txt"), b"", &opts()).unwrap_err().kind(),
        "empty"
    );
    assert_eq!(
        import_bytes(Path::new("a.txt"), b" \n\r\n ", &opts())
            .unwrap_err()
            .kind(),
        "empty"
    );
    // Size limit on plain text.
    let big = "a".repeat(2 << 20);
    let e = import_bytes(
        Path::new("a.txt"),
        big.as_bytes(),
        &IngestOptions { max_bytes: 1 << 20 },
    )
    .unwrap_err();
    assert!(
        matches!(e, Error::TooLarge { .. }) && e.hint().is_some_and(|h| h.contains("raise the size limit")),
        "{e}"
    );
    // Missing file and folders.
    let e = import_file(Path::new("/no/such/file.txt"), &opts(), &Job::silent()).unwrap_err();
    assert_eq!(e.kind(), "not_found");
    let e = import_file(&common::samples(), &opts(), &Job::silent()).unwrap_err();
    assert_eq!(e.kind(), "unsupported_file");
    // Subtitles without cues.
    let e = import_bytes(Path::new("a.srt"), b"just some words", &opts()).unwrap_err();
    assert_eq!(e.kind(), "format");
}

#[test]
fn normalisation_keeps_offsets_to_the_original() {
    // Lu Xun: hard-wrapped lines and footnote markers.
    let d = import_file(
        &common::samples().join("zh-novels/luxun_呐喊.txt"),
        &opts(),
        &Job::silent(),
    )
    .unwrap();
    assert!(d.normalized.wrapped_lines_joined > 1000, "{:?}", d.normalized);
    assert!(d.normalized.footnote_markers_removed > 50);
    assert!(
        d.text.contains("入芝兰之室，久而不闻其香”，只以为很是嚷嚷罢了"),
        "wrapped lines rejoined, ⑶ removed"
    );
    let orig: Vec<char> = d.original.chars().collect();
    let b = d.text.find("寂寞呀，寂寞呀").unwrap();
    let o = d.original_offset(b);
    assert_eq!(orig[o..o + 7].iter().collect::<String>(), "寂寞呀，寂寞呀");
    // 红楼梦: CRLF line endings.
    let d = import_file(
        &common::samples().join("zh-novels/hongloumeng_红楼梦.txt"),
        &opts(),
        &Job::silent(),
    )
    .unwrap();
    assert!(!d.text.contains('\r'));
    assert!(d.normalized.line_endings_fixed > 1000);
}

#[test]
fn subtitles_and_fountain_are_recognised() {
    let d = import_file(
        &common::samples().join("subtitles/sintel_en.srt"),
        &opts(),
        &Job::silent(),
    )
    .unwrap();
    assert_eq!((d.format, d.cues.len()), (SourceFormat::Srt, 26));
    assert_eq!(&d.text[d.cues[0].range.clone()], "This blade has a dark past.");
    let d = import_file(
        &common::samples().join("fountain/brick-and-steel.fountain"),
        &opts(),
        &Job::silent(),
    )
    .unwrap();
    assert_eq!(d.format, SourceFormat::Fountain);
    // An SRT file with a .txt name is still read as subtitles.
    let srt = std::fs::read(common::samples().join("subtitles/sintel_en.srt")).unwrap();
    assert_eq!(
        import_bytes(Path::new("subs.txt"), &srt, &opts()).unwrap().format,
        SourceFormat::Srt
    );
}

#[test]
fn offsets_stay_inside_the_original() {
    // Found by the fuzzer: separators added after the last cue mapped past the end.
    let srt = "1\r\n00:00:01,000 --> 00:00:02,000\r\nLast words.";
    let d = import_bytes(Path::new("a.srt"), srt.as_bytes(), &opts()).unwrap();
    let n = d.original.chars().count();
    for i in 0..=d.text.len() {
        if d.text.is_char_boundary(i) {
            assert!(d.original_offset(i) <= n, "{i}");
        }
    }
    assert_eq!(d.original_offset(d.text.len()), n);
}
