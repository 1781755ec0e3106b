//! The library's schema as forward migrations. `PRAGMA user_version` holds how
//! many have run; each runs in one transaction, so a crash leaves the library
//! at the previous version, never in between.

/// Migration N brings the library from version N to N + 1. Never edit a
/// migration that has shipped: add a new one.
pub const MIGRATIONS: &[&str] = &[
    // 1: everything a person makes.
    r#"
    CREATE TABLE sources (
        id INTEGER PRIMARY KEY,
        file_name TEXT NOT NULL,
        checksum TEXT NOT NULL,
        format TEXT NOT NULL,
        encoding TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        text TEXT NOT NULL,
        imported_at INTEGER NOT NULL
    );
    CREATE TABLE personas (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        character TEXT NOT NULL,
        source_title TEXT NOT NULL DEFAULT '',
        system_prompt TEXT NOT NULL DEFAULT '',
        description TEXT NOT NULL DEFAULT '',
        greeting TEXT NOT NULL DEFAULT '',
        avatar TEXT,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE persona_sources (
        persona_id INTEGER NOT NULL REFERENCES personas(id) ON DELETE CASCADE,
        source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE RESTRICT,
        position INTEGER NOT NULL,
        PRIMARY KEY (persona_id, source_id)
    );
    CREATE TABLE alias_groups (
        id INTEGER PRIMARY KEY,
        persona_id INTEGER NOT NULL REFERENCES personas(id) ON DELETE CASCADE,
        main_name TEXT NOT NULL,
        aliases TEXT NOT NULL,
        gender TEXT,
        lines INTEGER NOT NULL DEFAULT 0,
        confirmed INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE datasets (
        id INTEGER PRIMARY KEY,
        persona_id INTEGER REFERENCES personas(id) ON DELETE SET NULL,
        name TEXT NOT NULL,
        report TEXT NOT NULL DEFAULT '{}',
        created_at INTEGER NOT NULL
    );
    CREATE TABLE dataset_rows (
        id INTEGER PRIMARY KEY,
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        system TEXT NOT NULL DEFAULT '',
        instruction TEXT NOT NULL,
        input TEXT NOT NULL DEFAULT '',
        output TEXT NOT NULL,
        history TEXT NOT NULL DEFAULT '[]',
        split TEXT NOT NULL DEFAULT 'train',
        enabled INTEGER NOT NULL DEFAULT 1,
        edited INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX dataset_rows_by_dataset ON dataset_rows(dataset_id, position);
    CREATE TABLE models (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        reference TEXT NOT NULL,
        architecture TEXT NOT NULL DEFAULT '',
        size_bytes INTEGER NOT NULL DEFAULT 0,
        quantization TEXT NOT NULL DEFAULT '',
        added_at INTEGER NOT NULL
    );
    CREATE TABLE training_runs (
        id INTEGER PRIMARY KEY,
        persona_id INTEGER REFERENCES personas(id) ON DELETE SET NULL,
        dataset_id INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
        model_id INTEGER REFERENCES models(id) ON DELETE SET NULL,
        params TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL,
        metrics TEXT NOT NULL DEFAULT '{}',
        started_at INTEGER,
        finished_at INTEGER
    );
    CREATE TABLE adapters (
        id INTEGER PRIMARY KEY,
        persona_id INTEGER REFERENCES personas(id) ON DELETE SET NULL,
        run_id INTEGER REFERENCES training_runs(id) ON DELETE SET NULL,
        path TEXT NOT NULL,
        checksum TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE conversations (
        id INTEGER PRIMARY KEY,
        persona_id INTEGER REFERENCES personas(id) ON DELETE SET NULL,
        title TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL
    );
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        role TEXT NOT NULL,
        content TEXT NOT NULL,
        settings TEXT NOT NULL DEFAULT '{}',
        adapter_id INTEGER REFERENCES adapters(id) ON DELETE SET NULL,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
    "#,
    // 2: where a training run writes its checkpoints, so an interrupted run
    // (app closed, crash, killed for memory) can be offered for resume.
    r#"
    ALTER TABLE training_runs ADD COLUMN folder TEXT;
    "#,
    // 3: what the app's dataset review shows and keeps: each row's scene and
    // how sure extraction was of its speaker; the share of general samples
    // the persona's training mixes in.
    r#"
    ALTER TABLE dataset_rows ADD COLUMN scene INTEGER;
    ALTER TABLE dataset_rows ADD COLUMN confidence REAL;
    ALTER TABLE datasets ADD COLUMN mix_ratio REAL NOT NULL DEFAULT 0.2;
    "#,
    // 4: the app's chat and training pages: thumbs up/down on each reply (the
    // data for preference tuning later), each conversation's generation
    // settings, and the adapter a persona chats with by default.
    r#"
    ALTER TABLE messages ADD COLUMN rating INTEGER;
    ALTER TABLE conversations ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE personas ADD COLUMN active_adapter INTEGER REFERENCES adapters(id) ON DELETE SET NULL;
    "#,
];
