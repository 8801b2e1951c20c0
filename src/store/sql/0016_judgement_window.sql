-- latina schema 16: the studio model's window without scanning every judgement.
--
-- Read commands (`status`, the dashboard of `latina serve`) fit the model on
-- the newest few hundred judgements and say how many came before. Both were
-- GROUP BY scans over every rating: at 120,000 ratings they were ~60% of
-- status's 0.2 s. The window is now an index walk from the newest rating
-- that stops after enough designers' latest ratings, and the total is a
-- tally kept by triggers.

-- Newest ratings first (the rowid, `id`, breaks ties in rated_at).
CREATE INDEX ratings_by_time ON ratings(rated_at);
-- The few renders the structure guard held back, newest first.
CREATE INDEX experiments_guarded_finished ON experiments(finished_at) WHERE guarded = 1;

-- How many (render, designer) pairs have stars and how many (pair of
-- renders, designer) have a preference: each counts once however often the
-- designer changed their mind. Unnamed judgements are one more designer.
CREATE TABLE judgement_tallies (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    star_groups       INTEGER NOT NULL,
    preference_groups INTEGER NOT NULL
);

INSERT INTO judgement_tallies (id, star_groups, preference_groups) VALUES (1,
    (SELECT count(*) FROM (SELECT 1 FROM ratings
                           GROUP BY experiment_id, coalesce(rated_by, ''))),
    (SELECT count(*) FROM (SELECT 1 FROM preferences
                           GROUP BY min(better_id, worse_id), max(better_id, worse_id),
                                    coalesce(rated_by, ''))));

-- A rating opens a group unless the designer rated this render before; an
-- index probe on ratings_by_experiment.
CREATE TRIGGER judgement_tallies_rating_insert AFTER INSERT ON ratings
WHEN NOT EXISTS (SELECT 1 FROM ratings r
                 WHERE r.experiment_id = NEW.experiment_id AND r.id <> NEW.id
                   AND coalesce(r.rated_by, '') = coalesce(NEW.rated_by, ''))
BEGIN
    UPDATE judgement_tallies SET star_groups = star_groups + 1 WHERE id = 1;
END;

CREATE TRIGGER judgement_tallies_preference_insert AFTER INSERT ON preferences
WHEN NOT EXISTS (SELECT 1 FROM preferences p
                 WHERE p.id <> NEW.id
                   AND ((p.better_id = NEW.better_id AND p.worse_id = NEW.worse_id)
                     OR (p.better_id = NEW.worse_id AND p.worse_id = NEW.better_id))
                   AND coalesce(p.rated_by, '') = coalesce(NEW.rated_by, ''))
BEGIN
    UPDATE judgement_tallies SET preference_groups = preference_groups + 1 WHERE id = 1;
END;

-- latina never edits or deletes judgements; a hand-edited file is recounted.
CREATE TRIGGER judgement_tallies_rating_delete AFTER DELETE ON ratings BEGIN
    UPDATE judgement_tallies SET star_groups =
        (SELECT count(*) FROM (SELECT 1 FROM ratings
                               GROUP BY experiment_id, coalesce(rated_by, '')))
    WHERE id = 1;
END;

CREATE TRIGGER judgement_tallies_rating_update
AFTER UPDATE OF experiment_id, rated_by ON ratings BEGIN
    UPDATE judgement_tallies SET star_groups =
        (SELECT count(*) FROM (SELECT 1 FROM ratings
                               GROUP BY experiment_id, coalesce(rated_by, '')))
    WHERE id = 1;
END;

CREATE TRIGGER judgement_tallies_preference_delete AFTER DELETE ON preferences BEGIN
    UPDATE judgement_tallies SET preference_groups =
        (SELECT count(*) FROM (SELECT 1 FROM preferences
                               GROUP BY min(better_id, worse_id), max(better_id, worse_id),
                                        coalesce(rated_by, '')))
    WHERE id = 1;
END;

CREATE TRIGGER judgement_tallies_preference_update
AFTER UPDATE OF better_id, worse_id, rated_by ON preferences BEGIN
    UPDATE judgement_tallies SET preference_groups =
        (SELECT count(*) FROM (SELECT 1 FROM preferences
                               GROUP BY min(better_id, worse_id), max(better_id, worse_id),
                                        coalesce(rated_by, '')))
    WHERE id = 1;
END;
