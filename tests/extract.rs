//! Extraction on real scripts, plays, screenplays, subtitles and novels.

mod common;
use dramatis::extract::{extract, Attribution, ExtractOptions, Extraction, Layout};
use dramatis::ingest::{import_bytes, import_file, Document, IngestOptions};
use dramatis::jobs::Job;
use std::path::Path;

fn load(paths: &[std::path::PathBuf]) -> (Vec<Document>, Extraction) {
    let docs: Vec<Document> = paths
        .iter()
        .map(|p| import_file(p, &IngestOptions::default(), &Job::silent()).unwrap())
        .collect();
    let s = extract(&docs, &ExtractOptions::default());
    (docs, s)
}

fn span_text(doc: &Document, start: usize, end: usize) -> String {
    doc.original.chars().skip(start).take(end - start).collect()
}

#[test]
fn zhenhuan_script() {
    let (docs, s) = load(&common::zhenhuan_files());
    assert_eq!(s.layout, Layout::Script);
    let zh = s.cast.find("甄嬛").unwrap();
    assert!(zh.lines > 3500, "甄嬛 lines: {}", zh.lines);
    assert_eq!(s.cast.members[0].name, "甄嬛");
    let aliases: Vec<&str> = zh.suggested_aliases.iter().map(|a| a.alias.as_str()).collect();
    assert!(aliases.contains(&"嬛嬛") && aliases.contains(&"嬛儿"), "{aliases:?}");
    assert!(s.scenes.len() > 1000, "scenes: {}", s.scenes.len());
    // Stage directions are gone from the lines and kept as context.
    assert!(s
        .utterances
        .iter()
        .all(|u| !u.text.contains('（') && !u.text.contains('）')));
    let su = s
        .utterances
        .iter()
        .find(|u| u.speaker.as_deref() == Some("苏培盛") && u.text.starts_with("奉天承运"))
        .unwrap();
    assert_eq!(su.directions, vec!["宣旨"]);
    assert!(s.scenes[0].context.iter().any(|c| c.contains("金銮殿")));
    // Offsets point into each file's decoded text.
    for u in s.utterances.iter().step_by(97) {
        let orig = span_text(&docs[u.file], u.start, u.end);
        if u.directions.is_empty() {
            // The text drops spaces next to Chinese characters.
            let squeeze = |s: &str| s.split_whitespace().collect::<String>();
            assert_eq!(squeeze(&orig), squeeze(&u.text));
        } else {
            assert!(orig.starts_with(u.text.chars().next().unwrap()), "{orig} / {}", u.text);
        }
    }
    // Every line tagged 甄嬛 in the files is one of hers, also those that
    // open with a quotation (`甄嬛：“良辰美景奈何天”，…`).
    let tagged: usize = docs
        .iter()
        .map(|d| {
            d.text
                .lines()
                .map(str::trim)
                .filter(|l| l.starts_with("甄嬛：") || l.starts_with("甄嬛（") && l.contains("）："))
                .count()
        })
        .sum();
    let hers = s
        .utterances
        .iter()
        .filter(|u| u.speaker.as_deref() == Some("甄嬛"))
        .count();
    println!("甄嬛: {hers} of {tagged} tagged lines kept");
    assert!(hers * 100 >= tagged * 99, "甄嬛: {hers} of {tagged} lines kept");
    // Narrator lines are marked.
    assert!(s
        .utterances
        .iter()
        .any(|u| u.speaker.as_deref() == Some("旁白") && u.kind == dramatis::extract::UtteranceKind::Narration));
}

#[test]
fn english_script_pack() {
    let (docs, s) = load(&[common::repo().join("personas/lighthouse/script.txt")]);
    assert_eq!(s.layout, Layout::Script);
    assert_eq!(s.cast.members[0].name, "MAGS");
    assert!(s.scenes.len() >= 10);
    assert!(s.scenes.iter().any(|sc| sc
        .heading
        .as_deref()
        .is_some_and(|h| h.starts_with("INT.") || h.starts_with("EXT."))));
    for u in &s.utterances {
        assert!(!u.text.contains('(') && !u.text.contains('['), "{}", u.text);
        let orig = span_text(&docs[0], u.start, u.end);
        assert!(
            orig.starts_with(&u.text[..u.text.len().min(3)]),
            "{orig:?} vs {:?}",
            u.text
        );
    }
}

#[test]
fn play_with_speaker_lines() {
    let (_, s) = load(&[common::samples().join("plays/tinyshakespeare.txt")]);
    assert_eq!(s.layout, Layout::Play);
    let first = &s.utterances[0];
    assert_eq!(first.speaker.as_deref(), Some("First Citizen"));
    assert_eq!(first.text, "Before we proceed any further, hear me speak.");
    assert_eq!(s.utterances[1].speaker.as_deref(), Some("All"));
    assert!(s.cast.find("ROMEO").unwrap().lines > 100);
    // Verse keeps its line breaks.
    assert!(s.utterances.iter().any(|u| u.text.contains('\n')));
    let gutenberg = "HAMLET.\nTo be, or not to be, that is the question.\n\nOPHELIA.\nGood my lord,\nHow does your honour for this many a day?\n\nHAMLET.\nI humbly thank you; well, well, well.\n";
    let d = import_bytes(Path::new("h.txt"), gutenberg.as_bytes(), &IngestOptions::default()).unwrap();
    let s = extract(&[d], &ExtractOptions::default());
    assert_eq!(s.layout, Layout::Play);
    let sp: Vec<&str> = s.utterances.iter().filter_map(|u| u.speaker.as_deref()).collect();
    assert_eq!(sp, vec!["HAMLET", "OPHELIA", "HAMLET"]);
}

#[test]
fn fountain_screenplay() {
    let (docs, s) = load(&[common::samples().join("fountain/brick-and-steel.fountain")]);
    assert_eq!(s.layout, Layout::Screenplay);
    let steel = s
        .utterances
        .iter()
        .find(|u| u.speaker.as_deref() == Some("STEEL"))
        .unwrap();
    assert_eq!(steel.text, "Beer's ready!");
    assert_eq!(span_text(&docs[0], steel.start, steel.end), "Beer's ready!");
    assert!(s.scenes[0]
        .heading
        .as_deref()
        .unwrap()
        .starts_with("EXT. BRICK'S PATIO"));
    // Character extensions and parentheticals are not part of names or lines.
    assert!(s
        .cast
        .members
        .iter()
        .all(|m| !m.name.contains('(') && !m.name.contains('^')));
    assert!(s.utterances.iter().all(|u| !u.text.starts_with('(')));
    // The title page is not dialogue.
    assert!(s.cast.members.iter().all(|m| m.name != "Title" && m.name != "Author"));
    let dual = "INT. ROOM - DAY\n\nBRICK\nScrew retirement.\n\nSTEEL ^\nScrew retirement.\n\n> CUT TO:\n\nEXT. ROOF - NIGHT\n\n@McCLANE\n(quietly)\nYippee.\n";
    let d = import_bytes(Path::new("x.fountain"), dual.as_bytes(), &IngestOptions::default()).unwrap();
    let s = extract(&[d], &ExtractOptions::default());
    let sp: Vec<&str> = s.utterances.iter().filter_map(|u| u.speaker.as_deref()).collect();
    assert_eq!(sp, vec!["BRICK", "STEEL", "McCLANE"]);
    assert_eq!(s.utterances[2].directions, vec!["quietly"]);
    assert_eq!(s.scenes.len(), 2);
}

#[test]
fn subtitles() {
    let (_, s) = load(&[common::samples().join("subtitles/sintel_en.srt")]);
    assert_eq!(s.layout, Layout::Subtitles);
    assert_eq!(s.utterances.len(), 26);
    assert!(s
        .utterances
        .iter()
        .all(|u| u.speaker.is_none() && u.method == Attribution::Unknown));
    assert_eq!(
        s.utterances[2].text,
        "You're a fool for traveling alone, so completely unprepared."
    );
    assert!(s.scenes.len() >= 2, "long silences break scenes");
    let ass = "[Script Info]\nTitle: t\n\n[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\nDialogue: 0,0:00:01.00,0:00:02.00,Default,Alice,0,0,0,,{\\an8}Where am I?\nDialogue: 0,0:00:02.50,0:00:04.00,Default,Bob,0,0,0,,{\\i1}Home.{\\i0}\n";
    let d = import_bytes(Path::new("a.ass"), ass.as_bytes(), &IngestOptions::default()).unwrap();
    let s = extract(&[d], &ExtractOptions::default());
    let got: Vec<(Option<&str>, &str)> = s
        .utterances
        .iter()
        .map(|u| (u.speaker.as_deref(), u.text.as_str()))
        .collect();
    assert_eq!(got, vec![(Some("Alice"), "Where am I?"), (Some("Bob"), "Home.")]);
    let srt = "1\n00:00:01,000 --> 00:00:02,000\n- Are you coming?\n- In a minute.\n\n2\n00:00:03,000 --> 00:00:04,000\nMAGS: Kettle's on.\n";
    let d = import_bytes(Path::new("a.srt"), srt.as_bytes(), &IngestOptions::default()).unwrap();
    let s = extract(&[d], &ExtractOptions::default());
    let got: Vec<(Option<&str>, &str)> = s
        .utterances
        .iter()
        .map(|u| (u.speaker.as_deref(), u.text.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (None, "Are you coming?"),
            (None, "In a minute."),
            (Some("MAGS"), "Kettle's on.")
        ]
    );
}

#[test]
fn english_novel_attribution() {
    let text = "Chapter 1\n\n\"I cannot agree with you, papa,\" said Emma. \"You know I cannot.\"\n\nMr. Woodhouse looked up from the fire. \"Poor Miss Taylor!\"\n\n\"She is very happy,\" Emma replied.\n\n\"But I am not,\" he said.\n\n\"Then we must be cheerful, papa.\"\n\n\"Must we?\"\n";
    let d = import_bytes(Path::new("n.txt"), text.as_bytes(), &IngestOptions::default()).unwrap();
    let s = extract(&[d], &ExtractOptions::default());
    assert_eq!(s.layout, Layout::Novel);
    let got: Vec<(Option<&str>, Attribution)> = s.utterances.iter().map(|u| (u.speaker.as_deref(), u.method)).collect();
    assert_eq!(got[0], (Some("Emma"), Attribution::Explicit));
    assert_eq!(
        s.utterances[0].text,
        "I cannot agree with you, papa, You know I cannot."
    );
    assert_eq!(got[1], (Some("Mr. Woodhouse"), Attribution::Mention));
    assert_eq!(got[2], (Some("Emma"), Attribution::Explicit));
    assert_eq!(got[3], (Some("Mr. Woodhouse"), Attribution::Pronoun));
    assert_eq!(got[4].0, Some("Emma"));
    assert_eq!(got[5].0, Some("Mr. Woodhouse"));
    // Offsets cover the quote text in the original.
    let orig: Vec<char> = text.chars().collect();
    let u = &s.utterances[2];
    assert_eq!(orig[u.start..u.end].iter().collect::<String>(), "She is very happy,");
}

#[test]
fn chinese_novel_attribution() {
    let text = "第一章\n\n　　少平对着镜子一照，自己也忍不住笑了。晓霞递给他一块毛巾。\n　　他猛地转过身，盯着她，问：\n　　“我还漂亮吗？”\n　　晓霞不笑了，嘴里喃喃地说：“是的，还和原来一样漂亮……”\n　　“想我了吗？”\n　　她问。\n　　“想。”少平说。\n　　晓霞笑道：“我也想你。”\n";
    let d = import_bytes(Path::new("n.txt"), text.as_bytes(), &IngestOptions::default()).unwrap();
    let opts = ExtractOptions {
        known_cast: vec![
            dramatis::extract::CastHint {
                aliases: vec!["孙少平".into(), "少平".into()],
                gender: Some('M'),
                ..Default::default()
            },
            dramatis::extract::CastHint {
                aliases: vec!["田晓霞".into(), "晓霞".into()],
                gender: Some('F'),
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let s = extract(&[d], &opts);
    let got: Vec<Option<&str>> = s.utterances.iter().map(|u| u.speaker.as_deref()).collect();
    assert_eq!(
        got,
        vec![
            Some("孙少平"),
            Some("田晓霞"),
            Some("田晓霞"),
            Some("孙少平"),
            Some("田晓霞")
        ]
    );
    assert_eq!(s.utterances[0].text, "我还漂亮吗？");
}

fn speeches(text: &str, name: &str) -> (Layout, Vec<(String, String)>, Extraction) {
    let d = import_bytes(Path::new(name), text.as_bytes(), &IngestOptions::default()).unwrap();
    let s = extract(&[d], &ExtractOptions::default());
    let got = s
        .utterances
        .iter()
        .map(|u| (u.speaker.clone().unwrap_or_default(), u.text.clone()))
        .collect();
    (s.layout, got, s)
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

/// `SPEAKER. The speech begins on the same line`, in capitals, with a
/// direction in the cue, stage directions and act/scene headings.
#[test]
fn play_with_inline_cues_in_capitals() {
    let text = "THE ORCHARD\n\nA Comedy\n\nACT I\n\nSCENE 1. A garden behind the house.\n\n\
Enter ALDOUS and BRYONY.\n\n\
ALDOUS. Good morrow, cousin. The sun is up\nand so are we.\n\n\
BRYONY [aside]. He speaks too early.\n\n\
ALDOUS. What say you? [He sits.]\n\n\
BRYONY. Nothing, my lord: nothing at all.\n\n\
[Exit BRYONY.]\n\n\
SCENE 2. The hall.\n\n\
Enter CORIN.\n\n\
CORIN. Who is there?\n\n\
ALDOUS. A friend. Mr. Pinch sent me.\n\n\
CORIN. Then come in.\n\nExeunt.\n";
    let (layout, got, s) = speeches(text, "orchard.txt");
    assert_eq!(layout, Layout::Play);
    assert_eq!(
        got,
        pairs(&[
            ("ALDOUS", "Good morrow, cousin. The sun is up\nand so are we."),
            ("BRYONY", "He speaks too early."),
            ("ALDOUS", "What say you?"),
            ("BRYONY", "Nothing, my lord: nothing at all."),
            ("CORIN", "Who is there?"),
            ("ALDOUS", "A friend. Mr. Pinch sent me."),
            ("CORIN", "Then come in."),
        ])
    );
    assert_eq!(s.utterances[1].directions, vec!["aside"]);
    assert_eq!(s.utterances[2].directions, vec!["He sits."]);
    // The two scenes are two scenes, and the entrances are context.
    assert_eq!(s.utterances[4].scene, s.utterances[6].scene);
    assert_ne!(s.utterances[3].scene, s.utterances[4].scene);
    assert!(s
        .scenes
        .iter()
        .any(|sc| sc.context.iter().any(|c| c.starts_with("Enter CORIN"))));
}

/// Old editions: abbreviated speakers (`Ham.`, `First Lord.`), no blank lines
/// between speeches, verse continued on indented lines, `Exit.` at a line's end.
#[test]
fn play_with_abbreviated_inline_cues() {
    let text = "ACT I. SCENE I.\nElsinore. A room in the castle.\n\nEnter Hamlet and Ophelia.\n\n  Ham. To be, or not to be: that is the question:\n    Whether 'tis nobler in the mind to suffer.\n  Oph. Good my lord,\n    How does your honour for this many a day?\n  Ham. I humbly thank you; well, well, well.\n  Oph. My lord, I have remembrances of yours.\n  First Lord. My lord, the King would speak with you.        Exit.\n  Ham. Nay. (Which God forbid) I come. [Aside] Words, words.\n  Oph. O, help him, you sweet heavens!\n                                                      Exeunt.\n";
    let (layout, got, _) = speeches(text, "hamlet.txt");
    assert_eq!(layout, Layout::Play);
    assert_eq!(
        got,
        pairs(&[
            (
                "Ham",
                "To be, or not to be: that is the question:\nWhether 'tis nobler in the mind to suffer."
            ),
            ("Oph", "Good my lord,\nHow does your honour for this many a day?"),
            ("Ham", "I humbly thank you; well, well, well."),
            ("Oph", "My lord, I have remembrances of yours."),
            ("First Lord", "My lord, the King would speak with you."),
            ("Ham", "Nay. (Which God forbid) I come. Words, words."),
            ("Oph", "O, help him, you sweet heavens!"),
        ])
    );
}

/// The speaker on its own line: a verse line with a colon is not `Name: line`,
/// and a verse line in parentheses is speech, not a screenplay parenthetical.
#[test]
fn play_verse_with_colons_and_parentheses() {
    let text = "HAMLET.\nGood my lord: how does your honour\n(As I perchance hereafter shall think meet)\nFor this many a day?\n\nOPHELIA.\n[Aside.] He is not well.\nWell, my lord.\nThus it is: I go.\n\nHAMLET.\nGo then.\n";
    let (layout, got, s) = speeches(text, "h.txt");
    assert_eq!(layout, Layout::Play);
    assert_eq!(
        got,
        pairs(&[
            (
                "HAMLET",
                "Good my lord: how does your honour\n(As I perchance hereafter shall think meet)\nFor this many a day?"
            ),
            ("OPHELIA", "He is not well.\nWell, my lord.\nThus it is: I go."),
            ("HAMLET", "Go then."),
        ])
    );
    assert_eq!(s.utterances[1].directions, vec!["Aside."]);
}

/// `角色：台词` whose text opens with a quotation is still the character's line.
#[test]
fn script_line_opening_with_a_quotation() {
    let text = "第1幕\n\n甄嬛：王爷万福。\n果郡王：起来吧。\n甄嬛：“良辰美景奈何天”，王爷也读牡丹亭？\n果郡王：（笑）你也读过？\n甄嬛：读过一些。\n他说：“好。”\n";
    let (layout, got, _) = speeches(text, "s.txt");
    assert_eq!(layout, Layout::Script);
    assert_eq!(
        got,
        pairs(&[
            ("甄嬛", "王爷万福。"),
            ("果郡王", "起来吧。"),
            ("甄嬛", "“良辰美景奈何天”，王爷也读牡丹亭？"),
            ("果郡王", "你也读过？"),
            ("甄嬛", "读过一些。"),
        ])
    );
}

/// Each Fountain extension is one direction.
#[test]
fn fountain_extensions_are_separate_directions() {
    let text =
        "INT. ROOM - DAY\n\nBRICK (V.O.) (CONT'D)\nStill here.\n\nSTEEL\nGood.\n\nINT. HALL - NIGHT\n\nBRICK\nBye.\n";
    let (_, got, s) = speeches(text, "x.fountain");
    assert_eq!(got[0], ("BRICK".to_owned(), "Still here.".to_owned()));
    assert_eq!(s.utterances[0].directions, vec!["V.O.", "CONT'D"]);
}

/// The same play (the tinyshakespeare sample) rewritten in each layout of
/// printed editions reads back as the same speeches: speaker and text.
#[test]
fn play_layouts_agree_on_a_whole_play() {
    let src = std::fs::read_to_string(common::samples().join("plays/tinyshakespeare.txt")).unwrap();
    let (_, gold, _) = speeches(&src, "own-line.txt");
    // Blocks `Name:\nline\nline` become `NAME. line\nline` (capitals, blank
    // lines kept) and `Name. line\n    line` (as written, no blank lines).
    let mut caps = String::new();
    let mut old = String::new();
    for block in src.split("\n\n") {
        let mut lines = block.trim().lines();
        let (Some(cue), Some(first)) = (lines.next(), lines.next()) else {
            continue;
        };
        let name = cue.trim_end_matches(':');
        caps.push_str(&format!("{}. {first}\n", name.to_uppercase()));
        old.push_str(&format!("  {name}. {first}\n"));
        for l in lines {
            caps.push_str(&format!("{l}\n"));
            old.push_str(&format!("    {l}\n"));
        }
        caps.push('\n');
    }
    for (text, upper) in [(&caps, true), (&old, false)] {
        let (layout, got, _) = speeches(text, "inline.txt");
        assert_eq!(layout, Layout::Play);
        let want: Vec<(String, String)> = gold
            .iter()
            .map(|(n, t)| (if upper { n.to_uppercase() } else { n.clone() }, t.clone()))
            .collect();
        // Speeches read with the same speaker and text, each counted once
        // (a multiset, so one miss does not shift all that follow).
        let mut left: std::collections::HashMap<&(String, String), usize> = std::collections::HashMap::new();
        for g in &got {
            *left.entry(g).or_default() += 1;
        }
        let right = want
            .iter()
            .filter(|w| {
                left.get_mut(w)
                    .is_some_and(|n| std::mem::replace(n, n.saturating_sub(1)) > 0)
            })
            .count();
        let share = right as f64 / want.len() as f64;
        println!(
            "inline cues ({}): {right} of {} speeches right ({:.1}%), {} read",
            if upper {
                "capitals"
            } else {
                "as written, no blank lines"
            },
            want.len(),
            100.0 * share,
            got.len()
        );
        assert!(share >= 0.97, "{right}/{}", want.len());
    }
}

/// Speakers that are not people: a possessive (`Elizabeth's mother`), a
/// place, and the person addressed in a vocative.
#[test]
fn novel_speakers_are_people() {
    let text = "Chapter 1\n\nElizabeth walked to Longbourn with Jane and Mr. Bennet. Elizabeth was happy, and Jane was happy.\n\n\"Jane, you must come in,\" said Elizabeth's mother.\n\n\"I will,\" said Jane.\n\n\"Elizabeth, sit down,\" he said, and Mr. Bennet smiled.\n\n\"Longbourn is quiet tonight,\" said Elizabeth.\n\n\"It is,\" said Mr. Bennet. \"Jane, go to bed.\"\n\nJane and Elizabeth left Longbourn.\n";
    let d = import_bytes(Path::new("n.txt"), text.as_bytes(), &IngestOptions::default()).unwrap();
    let s = extract(&[d], &ExtractOptions::default());
    let got: Vec<Option<&str>> = s.utterances.iter().map(|u| u.speaker.as_deref()).collect();
    println!("{got:?}");
    // (The owner is still taken from the paragraph: a person who is not in
    // the cast, "her mother", is not found.)
    assert!(!matches!(got[0], Some("Elizabeth's") | Some("Jane")), "{got:?}");
    assert_eq!(got[1], Some("Jane"));
    assert_ne!(got[2], Some("Elizabeth"), "the one addressed is not the speaker");
    assert_eq!(got[3], Some("Elizabeth"));
    assert!(s
        .cast
        .members
        .iter()
        .all(|m| m.name != "Longbourn" && !m.name.ends_with("'s")));
}

/// A first-person narrator ("I said") speaks as the cast member the person
/// marked as the narrator.
#[test]
fn novel_narrator_is_the_confirmed_member() {
    let text = "Chapter 1\n\n\"Where are you going?\" asked Polina.\n\n\"To the tables,\" I said.\n\n\"Then go,\" said Polina.\n";
    let d = import_bytes(Path::new("n.txt"), text.as_bytes(), &IngestOptions::default()).unwrap();
    let hint = |a: &[&str], g: char, narrator: bool| dramatis::extract::CastHint {
        aliases: a.iter().map(|s| s.to_string()).collect(),
        gender: Some(g),
        narrator,
    };
    let opts = ExtractOptions {
        known_cast: vec![
            hint(&["Polina"], 'F', false),
            hint(&["Alexei Ivanovich", "Alexei"], 'M', true),
        ],
        ..Default::default()
    };
    let s = extract(&[d], &opts);
    let got: Vec<Option<&str>> = s.utterances.iter().map(|u| u.speaker.as_deref()).collect();
    assert_eq!(got, vec![Some("Polina"), Some("Alexei Ivanovich"), Some("Polina")]);
    // Without the answer the narrator stays "I", flagged for review.
    let d = import_bytes(Path::new("n.txt"), text.as_bytes(), &IngestOptions::default()).unwrap();
    let s = extract(&[d], &ExtractOptions::default());
    assert_eq!(s.utterances[1].speaker.as_deref(), Some("I"));
    assert!(s.utterances[1].unsure);
}

/// A place that the narration names like a person (`in Longbourn`) speaks no lines.
#[test]
fn novel_places_do_not_speak() {
    let text = "Chapter 1\n\nIt rained in Longbourn. Life in Longbourn was quiet, and Kitty walked into Longbourn at noon.\n\n\"Good morning,\" said Kitty.\n\nLongbourn seemed asleep. \"Is anyone awake?\"\n\n\"No one,\" said Kitty.\n";
    let d = import_bytes(Path::new("n.txt"), text.as_bytes(), &IngestOptions::default()).unwrap();
    let s = extract(&[d], &ExtractOptions::default());
    let got: Vec<Option<&str>> = s.utterances.iter().map(|u| u.speaker.as_deref()).collect();
    assert!(got.iter().all(|g| *g != Some("Longbourn")), "{got:?}");
    assert_eq!(got[0], Some("Kitty"));
}
