-- latina schema 5: prompt evolution claims and champion/challenger decisions.

-- One evolution per trigger (sample count), whatever process got there
-- first; a claim is a row with outcome 'pending'.
CREATE UNIQUE INDEX evolutions_one_per_trigger ON evolutions(trigger_sample);
ALTER TABLE evolutions ADD COLUMN changes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE evolutions ADD COLUMN detail TEXT;
ALTER TABLE evolutions ADD COLUMN finished_at TEXT;

-- Every champion/challenger decision, with the numbers it was made on.
CREATE TABLE prompt_decisions (
    id               INTEGER PRIMARY KEY,
    champion         TEXT    NOT NULL REFERENCES prompt_versions(version),
    challenger       TEXT    NOT NULL REFERENCES prompt_versions(version),
    decision         TEXT    NOT NULL CHECK (decision IN ('promote', 'reject', 'expire', 'activate', 'rollback')),
    champion_n       INTEGER NOT NULL,
    champion_mean    REAL    NOT NULL,
    challenger_n     INTEGER NOT NULL,
    challenger_mean  REAL    NOT NULL,
    difference       REAL,
    t                REAL,
    df               REAL,
    prob_better      REAL,
    created_at       TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
