-- latina schema 1. Shipped migrations are never edited; add 0002_*.sql instead.

-- Each distinct photo, by content hash. The copy under the data dir is what renders are made from.
CREATE TABLE images (
    id          INTEGER PRIMARY KEY,
    sha256      TEXT    NOT NULL UNIQUE,
    stored_path TEXT    NOT NULL,
    source_path TEXT    NOT NULL,
    format      TEXT    NOT NULL,
    width       INTEGER NOT NULL CHECK (width > 0),
    height      INTEGER NOT NULL CHECK (height > 0),
    bytes       INTEGER NOT NULL CHECK (bytes > 0),
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- Prompt versions; the JSON files under prompts/ only seed this table.
CREATE TABLE prompt_versions (
    version         TEXT PRIMARY KEY,
    prompt          TEXT NOT NULL CHECK (length(prompt) > 0),
    negative_prompt TEXT NOT NULL,
    parent          TEXT REFERENCES prompt_versions(version),
    status          TEXT NOT NULL CHECK (status IN ('champion', 'challenger', 'retired', 'rejected')),
    reasoning       TEXT,
    changes         TEXT NOT NULL DEFAULT '[]',
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE UNIQUE INDEX prompt_versions_one_champion ON prompt_versions(status) WHERE status = 'champion';
CREATE UNIQUE INDEX prompt_versions_one_challenger ON prompt_versions(status) WHERE status = 'challenger';

-- One `enhance` of one image (or one `suggest` call, with no image): variants proposed together.
CREATE TABLE batches (
    id           TEXT PRIMARY KEY,
    image_id     INTEGER REFERENCES images(id),
    project      TEXT,
    kind         TEXT,
    room         TEXT,
    style        TEXT,
    preview_path TEXT,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- One row per variant. Ratings point at exactly one of these.
CREATE TABLE experiments (
    seq               INTEGER PRIMARY KEY,
    id                TEXT    NOT NULL UNIQUE,
    batch_id          TEXT    NOT NULL REFERENCES batches(id),
    option            TEXT    NOT NULL,
    provider          TEXT    NOT NULL,
    init_strength     REAL    NOT NULL,
    guidance_scale    REAL    NOT NULL,
    controlnet_weight REAL    NOT NULL,
    prompt_version    TEXT    NOT NULL REFERENCES prompt_versions(version),
    method            TEXT    NOT NULL,
    status            TEXT    NOT NULL CHECK (status IN ('proposed', 'running', 'done', 'failed')),
    output_path       TEXT,
    latency_ms        INTEGER,
    error             TEXT,
    created_at        TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    finished_at       TEXT,
    UNIQUE (batch_id, option)
);
CREATE INDEX experiments_by_status ON experiments(status);

-- Every rating ever given; re-rating appends, the latest (highest id) counts.
CREATE TABLE ratings (
    id            INTEGER PRIMARY KEY,
    experiment_id TEXT    NOT NULL REFERENCES experiments(id),
    stars         INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5),
    comment       TEXT,
    rated_by      TEXT,
    rated_at      TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX ratings_by_experiment ON ratings(experiment_id, id);

CREATE VIEW latest_ratings AS
SELECT r.* FROM ratings r
WHERE r.id = (SELECT max(id) FROM ratings WHERE experiment_id = r.experiment_id);

-- Prompt evolutions and champion/challenger decisions.
CREATE TABLE evolutions (
    id             INTEGER PRIMARY KEY,
    trigger_sample INTEGER NOT NULL,
    parent_version TEXT    NOT NULL REFERENCES prompt_versions(version),
    new_version    TEXT    REFERENCES prompt_versions(version),
    evolver        TEXT    NOT NULL,
    issues         TEXT    NOT NULL DEFAULT '[]',
    reasoning      TEXT,
    outcome        TEXT    NOT NULL,
    created_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
