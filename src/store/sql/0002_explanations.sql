-- latina schema 2: why each point was proposed, and a cache of fitted model hyperparameters.

ALTER TABLE experiments ADD COLUMN arm_rule TEXT;
ALTER TABLE experiments ADD COLUMN arm_score REAL;
ALTER TABLE experiments ADD COLUMN predicted_mean REAL;
ALTER TABLE experiments ADD COLUMN predicted_sd REAL;
ALTER TABLE experiments ADD COLUMN expected_improvement REAL;

-- Derived state only: safe to delete; refitted when missing or stale.
CREATE TABLE model_cache (
    key          TEXT PRIMARY KEY,
    observations INTEGER NOT NULL,
    value        TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
