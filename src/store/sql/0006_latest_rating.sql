-- latina schema 6: each experiment carries its latest rating, kept by triggers.
--
-- The `latest_ratings` view used a correlated max(id) subquery per row:
-- fine for hundreds of ratings, ~300 ms per query at 100,000. Pointing each
-- experiment at its latest rating makes every "latest rating" lookup a
-- rowid join and lets status/history aggregate in one scan.

ALTER TABLE experiments ADD COLUMN rating_id INTEGER REFERENCES ratings(id);
ALTER TABLE experiments ADD COLUMN stars INTEGER CHECK (stars BETWEEN 1 AND 5);
ALTER TABLE experiments ADD COLUMN rating_count INTEGER NOT NULL DEFAULT 0;

UPDATE experiments SET
    rating_id    = (SELECT max(id) FROM ratings WHERE experiment_id = experiments.id),
    rating_count = (SELECT count(*) FROM ratings WHERE experiment_id = experiments.id);
UPDATE experiments SET stars = (SELECT stars FROM ratings WHERE id = experiments.rating_id)
WHERE rating_id IS NOT NULL;

CREATE INDEX experiments_by_rating ON experiments(rating_id) WHERE rating_id IS NOT NULL;
-- The few experiments rated more than once (inter-rater agreement), and
-- their ratings with rater and stars, both read without touching the tables.
CREATE INDEX experiments_rerated ON experiments(seq, id) WHERE rating_count >= 2;
DROP INDEX ratings_by_experiment;
CREATE INDEX ratings_by_experiment ON ratings(experiment_id, id, rated_by, stars);
-- Per-rater counts and means (status) and a rater's experiments (history
-- --by), both without a table scan.
CREATE INDEX ratings_by_rater ON ratings(rated_by, experiment_id, stars);

-- Ratings are append-only in latina; the update/delete triggers keep the
-- derived columns right even if someone edits the file by hand.
CREATE TRIGGER ratings_latest_after_insert AFTER INSERT ON ratings BEGIN
    UPDATE experiments SET
        rating_count = rating_count + 1,
        stars     = CASE WHEN rating_id IS NULL OR NEW.id > rating_id THEN NEW.stars ELSE stars END,
        rating_id = CASE WHEN rating_id IS NULL OR NEW.id > rating_id THEN NEW.id ELSE rating_id END
    WHERE id = NEW.experiment_id;
END;

CREATE TRIGGER ratings_latest_after_update AFTER UPDATE ON ratings BEGIN
    UPDATE experiments SET
        rating_id    = (SELECT max(id) FROM ratings WHERE experiment_id = experiments.id),
        rating_count = (SELECT count(*) FROM ratings WHERE experiment_id = experiments.id)
    WHERE id IN (OLD.experiment_id, NEW.experiment_id);
    UPDATE experiments SET stars = (SELECT stars FROM ratings WHERE id = experiments.rating_id)
    WHERE id IN (OLD.experiment_id, NEW.experiment_id);
END;

CREATE TRIGGER ratings_latest_after_delete AFTER DELETE ON ratings BEGIN
    UPDATE experiments SET
        rating_id    = (SELECT max(id) FROM ratings WHERE experiment_id = experiments.id),
        rating_count = (SELECT count(*) FROM ratings WHERE experiment_id = experiments.id)
    WHERE id = OLD.experiment_id;
    UPDATE experiments SET stars = (SELECT stars FROM ratings WHERE id = experiments.rating_id)
    WHERE id = OLD.experiment_id;
END;

DROP VIEW latest_ratings;
CREATE VIEW latest_ratings AS
SELECT r.* FROM experiments e JOIN ratings r ON r.id = e.rating_id;
