-- latina schema: what each render looks like, measured (issue 15).
--
-- One row per experiment with a render: imaging::quality's features of the
-- render against its original photo, each on the scale of
-- domain::RenderFeatures (all 0–1). Written once, when the render lands
-- (or by the bounded backfill for renders made before this schema); never
-- updated.
CREATE TABLE render_features (
    experiment_id      TEXT PRIMARY KEY REFERENCES experiments(id),
    exposure           REAL NOT NULL CHECK (exposure BETWEEN 0 AND 1),
    highlight_clipping REAL NOT NULL CHECK (highlight_clipping BETWEEN 0 AND 1),
    shadow_clipping    REAL NOT NULL CHECK (shadow_clipping BETWEEN 0 AND 1),
    contrast           REAL NOT NULL CHECK (contrast BETWEEN 0 AND 1),
    colourfulness      REAL NOT NULL CHECK (colourfulness BETWEEN 0 AND 1),
    sharpness          REAL NOT NULL CHECK (sharpness BETWEEN 0 AND 1),
    blur               REAL NOT NULL CHECK (blur BETWEEN 0 AND 1),
    noise              REAL NOT NULL CHECK (noise BETWEEN 0 AND 1),
    halo               REAL NOT NULL CHECK (halo BETWEEN 0 AND 1),
    colour_cast        REAL NOT NULL CHECK (colour_cast BETWEEN 0 AND 1),
    colour_shift       REAL NOT NULL CHECK (colour_shift BETWEEN 0 AND 1),
    structure          REAL NOT NULL CHECK (structure BETWEEN 0 AND 1),
    structure_local    REAL NOT NULL CHECK (structure_local BETWEEN 0 AND 1),
    edge_agreement     REAL NOT NULL CHECK (edge_agreement BETWEEN 0 AND 1),
    measured_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) WITHOUT ROWID;
