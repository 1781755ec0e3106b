//! Training configs for people who take a Dramatis dataset to a GPU cluster:
//! LLaMA-Factory (`llamafactory-cli train config.yaml`) and axolotl.

/// The chat template name LLaMA-Factory uses for a model id.
pub fn llamafactory_template(model: &str) -> &'static str {
    let m = model.to_lowercase();
    if m.contains("qwen3") {
        "qwen3"
    } else if m.contains("qwen") {
        "qwen"
    } else if m.contains("llama-3") || m.contains("llama3") {
        "llama3"
    } else if m.contains("smollm") {
        "chatml"
    } else {
        "default"
    }
}

/// A LoRA SFT config for LLaMA-Factory; `dataset` is the entry name in the
/// `dataset_info.json` written beside it.
pub fn llamafactory_yaml(model: &str, dataset: &str, dataset_dir: &str, output_dir: &str) -> String {
    format!(
        "### Written by Dramatis: LoRA SFT of a persona with LLaMA-Factory\n\
model_name_or_path: {model}\n\
stage: sft\n\
do_train: true\n\
finetuning_type: lora\n\
lora_target: all\n\
lora_rank: 8\n\
lora_alpha: 16\n\
lora_dropout: 0.05\n\
dataset: {dataset}\n\
dataset_dir: {dataset_dir}\n\
template: {template}\n\
cutoff_len: 1024\n\
overwrite_cache: true\n\
output_dir: {output_dir}\n\
logging_steps: 10\n\
save_steps: 200\n\
per_device_train_batch_size: 4\n\
gradient_accumulation_steps: 4\n\
learning_rate: 1.0e-4\n\
num_train_epochs: 3.0\n\
lr_scheduler_type: cosine\n\
warmup_ratio: 0.1\n\
bf16: true\n",
        template = llamafactory_template(model)
    )
}

/// The samples as chat messages, one JSON object per line
/// (`{"messages": [{"role": "system", …}, …, {"role": "assistant", …}]}`),
/// history turns included: what axolotl's `chat_template` type reads. (Its
/// `alpaca` type would drop the system prompt and the history.)
pub fn messages_jsonl(samples: &[super::Sample]) -> String {
    let mut out = String::new();
    for s in samples {
        let mut m = super::chat_messages(s, 0);
        m.push(crate::model::ChatMessage::new("assistant", &s.output));
        out.push_str(&serde_json::json!({ "messages": m }).to_string());
        out.push('\n');
    }
    out
}

/// A LoRA config for axolotl reading [`messages_jsonl`] with the model's own chat template.
pub fn axolotl_yaml(model: &str, train_file: &str, output_dir: &str) -> String {
    format!(
        "# Written by Dramatis: LoRA fine-tune of a persona with axolotl\n\
base_model: {model}\n\
chat_template: tokenizer_default\n\
datasets:\n  - path: {train_file}\n    type: chat_template\n    field_messages: messages\n    roles_to_train: [assistant]\n\
val_set_size: 0.05\n\
output_dir: {output_dir}\n\
adapter: lora\n\
lora_r: 8\n\
lora_alpha: 16\n\
lora_dropout: 0.05\n\
lora_target_linear: true\n\
sequence_len: 1024\n\
sample_packing: false\n\
micro_batch_size: 4\n\
gradient_accumulation_steps: 4\n\
num_epochs: 3\n\
optimizer: adamw_torch\n\
lr_scheduler: cosine\n\
learning_rate: 0.0001\n\
warmup_ratio: 0.1\n\
bf16: auto\n"
    )
}
