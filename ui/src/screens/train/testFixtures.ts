// Test data for the Models and Train screens.
import type {
  AdapterView,
  Estimate,
  EvalReport,
  LocalModel,
  Preset,
  PresetInfo,
  RecommendedModel,
  RunView,
  TrainConfig,
  TrainPage,
} from "../../api";

const ALL = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

export function trainConfig(over: Partial<TrainConfig> = {}): TrainConfig {
  return {
    rank: 16,
    alpha: 32,
    dropout: 0,
    rslora: false,
    targets: ALL,
    lr: 2e-4,
    epochs: 2,
    max_steps: null,
    batch_size: 4,
    grad_accum: 2,
    max_len: 512,
    warmup_ratio: 0.05,
    weight_decay: 0,
    clip: 1,
    min_lr_ratio: 0.1,
    seed: 42,
    eval_every: 50,
    save_every: 50,
    patience: 3,
    max_val_samples: 200,
    ...over,
  };
}

export function presets(): PresetInfo[] {
  return [
    {
      preset: "quick",
      label: "Quick taste",
      description: "a first impression",
      config: trainConfig({ rank: 8, alpha: 16, targets: ["q_proj", "v_proj"], lr: 3e-4, epochs: 1, max_len: 256, grad_accum: 1 }),
    },
    { preset: "balanced", label: "Balanced", description: "the voice", config: trainConfig() },
    {
      preset: "deep",
      label: "Deep",
      description: "close to the lines",
      config: trainConfig({ rank: 32, alpha: 64, epochs: 3, max_len: 1024, lr: 1e-4, patience: 4 }),
    },
  ];
}

export function localModel(over: Partial<LocalModel> = {}): LocalModel {
  return {
    reference: "Qwen/Qwen2.5-0.5B-Instruct",
    kind: "hub",
    path: "/home/me/.cache/huggingface/hub/models--Qwen--Qwen2.5-0.5B-Instruct",
    size_bytes: 988_000_000,
    architecture: "qwen2",
    quantization: "",
    origin: "hub",
    ...over,
  };
}

export function recommended(over: Partial<RecommendedModel> = {}): RecommendedModel {
  return {
    id: "Qwen/Qwen2.5-0.5B-Instruct",
    name: "Qwen2.5 0.5B Instruct",
    parameters: "0.5B",
    download_bytes: 1_000_000_000,
    train_memory_mib: 3277,
    languages: "zh",
    note: "Small and quick; good at Chinese dialogue.",
    local: false,
    ...over,
  };
}

export function run(over: Partial<RunView> = {}): RunView {
  return {
    id: 1,
    status: "finished",
    model: "Qwen/Qwen2.5-0.5B-Instruct",
    config: trainConfig(),
    train_curve: [
      { step: 1, loss: 3.2 },
      { step: 2, loss: 2.8 },
      { step: 3, loss: 2.5 },
    ],
    val_curve: [{ step: 3, loss: 2.7 }],
    best_step: 3,
    summary: {
      steps: 3,
      total_steps: 3,
      train_loss_first: 3.2,
      train_loss_last: 2.5,
      val_loss_first: 2.9,
      val_loss_last: 2.7,
      best_val_loss: 2.7,
      best_step: 3,
      tokens_per_s: 850,
      peak_memory_mib: 2048,
      stopped_early: false,
      adapter: "/data/adapters/1",
    },
    error: null,
    adapter_id: 11,
    active: false,
    resumable: false,
    started_at: 1_700_000_000,
    finished_at: 1_700_000_600,
    ...over,
  };
}

export function adapter(over: Partial<AdapterView> = {}): AdapterView {
  return {
    id: 11,
    run_id: 1,
    path: "/data/adapters/1",
    model: "Qwen/Qwen2.5-0.5B-Instruct",
    label: "Balanced",
    active: true,
    created_at: 1_700_000_600,
    ...over,
  };
}

export function trainPage(over: Partial<TrainPage> = {}): TrainPage {
  return {
    persona: 1,
    name: "Mags",
    dataset_id: 10,
    samples: 1200,
    presets: presets(),
    runs: [],
    adapters: [],
    last_model: null,
    ...over,
  };
}

export function estimate(preset: Preset, seconds: number, over: Partial<Estimate> = {}): Estimate {
  return {
    preset,
    label: preset,
    description: "",
    total_steps: 300,
    seconds_per_step: seconds / 300,
    estimated_seconds: seconds,
    peak_memory_mib: 2048,
    needed_mib: 2048,
    available_mib: 8192,
    fits: true,
    config: presets().find((p) => p.preset === preset)!.config,
    ...over,
  };
}

export function evalReport(): EvalReport {
  return {
    samples: 40,
    base: { loss: 2.5, perplexity: 12.18, bleu: 3.1, rouge_l: 0.12, token_f1: 0.15, general_perplexity: 8.2 },
    adapter: { loss: 1.9, perplexity: 6.69, bleu: 9.4, rouge_l: 0.21, token_f1: 0.24, general_perplexity: 8.6 },
    examples: [
      { prompt: "Will you have some tea, Father?", reference: "Ah go on!", base: "Yes, please.", adapter: "Ah go on, go on, go on!" },
    ],
  };
}
