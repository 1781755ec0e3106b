//! BLEU against sacrebleu's own scores (tests/fixtures/metrics/sacrebleu.json,
//! written by make_reference.py there), and ROUGE-L / token F1 by hand.

mod common;

use dramatis::tune::metrics::{corpus_bleu, rouge_l, token_f1, tokenize_13a};

#[test]
fn bleu_matches_sacrebleu() {
    let path = common::repo().join("tests/fixtures/metrics/sacrebleu.json");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let strings = |x: &serde_json::Value| -> Vec<String> {
        x.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    for case in v["cases"].as_array().unwrap() {
        let (h, r) = (strings(&case["hyps"]), strings(&case["refs"]));
        let want = case["bleu"].as_f64().unwrap();
        let got = corpus_bleu(&h, &r);
        assert!(
            (got - want).abs() < 1e-6,
            "{h:?} vs {r:?}: BLEU {got} but sacrebleu says {want}"
        );
    }
}

#[test]
fn tokenizer_follows_13a() {
    assert_eq!(
        tokenize_13a("It costs $3.50 -- or so (in 1989)."),
        ["It", "costs", "$", "3.50", "--", "or", "so", "(", "in", "1989", ")", "."]
    );
    assert_eq!(
        tokenize_13a("臣妾做不到啊！"),
        ["臣", "妾", "做", "不", "到", "啊", "！"]
    );
}

#[test]
fn rouge_l_and_token_f1() {
    // LCS of "the cat sat on the mat" / "the cat lay on the mat" is 5 of 6.
    let r = rouge_l("The cat sat on the mat.", "the cat lay on the mat");
    assert!((r - 5.0 / 6.0).abs() < 1e-9, "{r}");
    assert_eq!(rouge_l("", "anything"), 0.0);
    // Articles are ignored: {cat, sat, on, mat} vs {cat, lay, on, mat} → 3/4.
    let f = token_f1("The cat sat on a mat", "the cat lay on the mat");
    assert!((f - 3.0 / 4.0).abs() < 1e-9, "{f}");
    // Chinese counts characters.
    let z = token_f1("臣妾做不到", "臣妾做得到");
    assert!((z - 0.8).abs() < 1e-9, "{z}");
}
