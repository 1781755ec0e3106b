import type { CastGroup, DatasetRow, DatasetView, DraftView, PersonaCard } from "../api";

export function card(over: Partial<PersonaCard> = {}): PersonaCard {
  return {
    id: 1,
    name: "Mags",
    character: "MAGS",
    source_title: "Father Ted",
    avatar: "data:image/png;base64,iVBORw0KGgo=",
    dataset_id: 10,
    dataset_rows: 1234,
    enabled_rows: 1200,
    adapters: 0,
    last_chat: null,
    created_at: 1_700_000_000,
    ...over,
  };
}

export function castGroup(name: string, lines: number, over: Partial<CastGroup> = {}): CastGroup {
  return { name, aliases: [], lines, sample: `A line by ${name}.`, narrator: false, ...over };
}

export function draft(over: Partial<DraftView> = {}): DraftView {
  return {
    id: 3,
    files: [
      {
        file: "/books/father-ted.txt",
        format: "txt",
        encoding: "UTF-8",
        bytes: 1_234_567,
        chars: 1_200_000,
        lines: 9000,
        chapters: 0,
        cues: 0,
        lossy: false,
      },
    ],
    layout: "script",
    utterances: 3974,
    attributed: 3900,
    unknown_lines: 74,
    unsure: 12,
    title: "Father Ted",
    cast: [
      castGroup("TED", 1500, { aliases: ["Father Ted", "Ted Crilly"], sample: "That money was just resting in my account." }),
      castGroup("DOUGAL", 900),
      castGroup("MRS DOYLE", 400, { aliases: ["Mrs Doyle"] }),
      castGroup("JACK", 120),
    ],
    first_person: false,
    ...over,
  };
}

export function row(id: number, over: Partial<DatasetRow> = {}): DatasetRow {
  return {
    id,
    position: id - 1,
    instruction: `Question ${id}?`,
    input: "",
    output: `Answer ${id}.`,
    history: [],
    scene: 1,
    confidence: 0.9,
    split: "train",
    enabled: true,
    edited: false,
    flags: [],
    ...over,
  };
}

export function datasetView(over: Partial<DatasetView> = {}): DatasetView {
  const rows = over.rows ?? [
    row(1),
    row(2, { flags: ["unsure"], confidence: 0.4 }),
    row(3, { flags: ["unsure"], confidence: 0.2 }),
    row(4, { flags: ["short"], output: "No." }),
    row(5, { flags: ["duplicate"] }),
    row(6, { enabled: false }),
  ];
  return {
    target: { draft: 3 },
    character: "TED",
    persona_id: null,
    system_prompt: "You are Father Ted Crilly.",
    mix_ratio: 0.2,
    rows,
    count: rows.length,
    enabled: rows.filter((r) => r.enabled).length,
    duplicates: 1,
    short: 1,
    unsure: 2,
    report: {
      candidates: 10,
      kept: rows.length,
      train: 5,
      validation: 1,
      dropped_short: 2,
      dropped_exact_duplicates: 1,
      dropped_near_duplicates: 1,
      no_context: 0,
      leaked_removed: 3,
      total_tokens: 4567,
      general_mixed: 0,
    },
    ...over,
  };
}
