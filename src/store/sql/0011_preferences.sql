-- latina schema 11: a designer's choice between two renders of one photo.
--
-- Like ratings, preferences are append-only: choosing again appends a row,
-- and each designer's latest row for a pair (in either order) counts.
-- `tie` = 1 means "same": neither was better, and the order of the two ids
-- carries nothing. Both renders must be different experiments; that they
-- show the same photo (one batch, or one stored image) is checked by the
-- writer, which also refuses failed and unfinished renders.

CREATE TABLE preferences (
    id         INTEGER PRIMARY KEY,
    better_id  TEXT    NOT NULL REFERENCES experiments(id),
    worse_id   TEXT    NOT NULL REFERENCES experiments(id),
    tie        INTEGER NOT NULL DEFAULT 0 CHECK (tie IN (0, 1)),
    rated_by   TEXT,
    comment    TEXT,
    rated_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CHECK (better_id <> worse_id)
);
-- `show ID` and the rating walkthrough look a render's preferences up from
-- either side.
CREATE INDEX preferences_by_better ON preferences(better_id, id);
CREATE INDEX preferences_by_worse ON preferences(worse_id, id);
