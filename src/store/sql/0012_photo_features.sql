-- latina schema: the room is context. (Registered right after the last
-- migration of its branch; the file is numbered 0012 because 0011 is
-- 0011_preferences.sql on a sibling branch.)
--
-- A photo's measured features (imaging::context, each 0–1), once per photo.
-- Photos stored before this schema have no row: the next command that
-- needs them (suggest, enhance) measures and adds them. Rows are never
-- updated; the first measurement of a photo is kept.
CREATE TABLE photo_features (
    image_id      INTEGER PRIMARY KEY REFERENCES images(id),
    brightness    REAL NOT NULL CHECK (brightness BETWEEN 0 AND 1),
    contrast      REAL NOT NULL CHECK (contrast BETWEEN 0 AND 1),
    warmth        REAL NOT NULL CHECK (warmth BETWEEN 0 AND 1),
    colourfulness REAL NOT NULL CHECK (colourfulness BETWEEN 0 AND 1),
    clutter       REAL NOT NULL CHECK (clutter BETWEEN 0 AND 1),
    window_light  REAL NOT NULL CHECK (window_light BETWEEN 0 AND 1),
    measured_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- The features a batch was proposed for: the photo's, with the designer's
-- `--context key=value` overrides applied, as the optimizer was told them.
-- No row: the batch had no features (a suggest without a photo) or was
-- made before this schema, when its photo's features stand in.
CREATE TABLE batch_contexts (
    batch_id      TEXT PRIMARY KEY REFERENCES batches(id),
    brightness    REAL NOT NULL CHECK (brightness BETWEEN 0 AND 1),
    contrast      REAL NOT NULL CHECK (contrast BETWEEN 0 AND 1),
    warmth        REAL NOT NULL CHECK (warmth BETWEEN 0 AND 1),
    colourfulness REAL NOT NULL CHECK (colourfulness BETWEEN 0 AND 1),
    clutter       REAL NOT NULL CHECK (clutter BETWEEN 0 AND 1),
    window_light  REAL NOT NULL CHECK (window_light BETWEEN 0 AND 1),
    -- Comma-separated names of the features the designer set by hand ('' for none).
    overridden    TEXT NOT NULL DEFAULT ''
);
