-- latina schema 8: the totals behind `latina status`, kept by triggers.
--
-- At 100,000 ratings, scanning the experiments for per-provider totals and
-- same-photo pairs, and the ratings for each rater's agreement, took ~130 ms
-- of status's 100 ms budget. Every number status shows is a sum over
-- experiments, batches or rated items, so each change subtracts the old
-- contribution of the row (or batch, or item) it touches and adds the new
-- one. All tallies are integers, so they are exact and independent of the
-- order things happened in (an imported history gives the same numbers).
-- The triggers also cover deletes and updates, which latina never does, so
-- a hand-edited database stays consistent.

-- Per provider: experiments, rated ones and their stars, renders, failures,
-- time, cost, and the same-photo pairs against other providers.
CREATE TABLE provider_tallies (
    provider             TEXT    PRIMARY KEY,
    experiments          INTEGER NOT NULL DEFAULT 0,
    rated                INTEGER NOT NULL DEFAULT 0,
    successes            INTEGER NOT NULL DEFAULT 0,
    star_sum             INTEGER NOT NULL DEFAULT 0,
    unrated              INTEGER NOT NULL DEFAULT 0,
    renders              INTEGER NOT NULL DEFAULT 0,
    failed               INTEGER NOT NULL DEFAULT 0,
    latency_ms           INTEGER NOT NULL DEFAULT 0,
    -- billionths of a dollar: integer sums do not drift
    cost_nano_usd        INTEGER NOT NULL DEFAULT 0,
    renders_without_cost INTEGER NOT NULL DEFAULT 0,
    comparisons          INTEGER NOT NULL DEFAULT 0,
    wins                 INTEGER NOT NULL DEFAULT 0,
    ties                 INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- Per named rater: ratings given (re-ratings included) and their stars.
CREATE TABLE rater_tallies (
    rated_by TEXT    PRIMARY KEY,
    ratings  INTEGER NOT NULL DEFAULT 0,
    star_sum INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- Each named rater's latest stars on each experiment they rated.
CREATE TABLE rater_latest (
    experiment_id TEXT    NOT NULL,
    rated_by      TEXT    NOT NULL,
    rating_id     INTEGER NOT NULL,
    stars         INTEGER NOT NULL,
    PRIMARY KEY (experiment_id, rated_by)
) WITHOUT ROWID;

-- Items (experiments) rated by k >= 2 named raters, grouped by k: with T an
-- item's star total, s each rater's stars and n_j the raters giving j stars,
-- the sums Σ1, ΣT, ΣT², Σs², Σ_j n_j² and Σn_j are everything the one-way
-- ICC and Fleiss' kappa need.
CREATE TABLE agreement_tallies (
    raters      INTEGER PRIMARY KEY,
    items       INTEGER NOT NULL DEFAULT 0,
    star_sum    INTEGER NOT NULL DEFAULT 0,
    item_sum_sq INTEGER NOT NULL DEFAULT 0,
    star_sq     INTEGER NOT NULL DEFAULT 0,
    category_sq INTEGER NOT NULL DEFAULT 0,
    n1 INTEGER NOT NULL DEFAULT 0,
    n2 INTEGER NOT NULL DEFAULT 0,
    n3 INTEGER NOT NULL DEFAULT 0,
    n4 INTEGER NOT NULL DEFAULT 0,
    n5 INTEGER NOT NULL DEFAULT 0
);

-- Per rater and k: shared items and Σ(k·s − T). A rater's offset from the
-- others on an item is s − (T − s)/(k − 1) = (k·s − T)/(k − 1).
CREATE TABLE rater_agreement (
    rated_by   TEXT    NOT NULL,
    raters     INTEGER NOT NULL,
    items      INTEGER NOT NULL DEFAULT 0,
    offset_num INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (rated_by, raters)
) WITHOUT ROWID;

-- The trend reads only the latest stars in order, from this index alone.
CREATE INDEX experiments_rated_stars ON experiments(seq, stars) WHERE stars IS NOT NULL;
-- The inter-rater view read re-rated experiments through this index; it now
-- reads `rater_latest` tallies, and nothing else uses it.
DROP INDEX experiments_rerated;
-- `history --unrated`: the few unrated experiments in time order, instead
-- of checking every row of the time index for a rating.
CREATE INDEX experiments_unrated_created ON experiments(created_at) WHERE rating_id IS NULL;

-- Backfill from what is already there, before the triggers exist.
INSERT INTO provider_tallies (provider, experiments, rated, successes, star_sum, unrated,
                              renders, failed, latency_ms, cost_nano_usd, renders_without_cost)
SELECT provider, count(*), count(stars), count(*) FILTER (WHERE stars >= 4), coalesce(sum(stars), 0),
       count(*) FILTER (WHERE stars IS NULL AND status IN ('done', 'proposed')),
       count(*) FILTER (WHERE status = 'done'), count(*) FILTER (WHERE status = 'failed'),
       coalesce(sum(max(coalesce(latency_ms, 0), 0)), 0),
       coalesce(sum(CAST(round(coalesce(cost_usd, 0) * 1e9) AS INTEGER)), 0),
       count(*) FILTER (WHERE status = 'done' AND cost_usd IS NULL)
FROM experiments GROUP BY provider;

UPDATE provider_tallies SET
    comparisons = p.comparisons, wins = p.wins, ties = p.ties
FROM (SELECT a.provider, count(*) AS comparisons,
             count(*) FILTER (WHERE a.stars > b.stars) AS wins,
             count(*) FILTER (WHERE a.stars = b.stars) AS ties
      FROM experiments a JOIN experiments b
        ON b.batch_id = a.batch_id AND b.provider <> a.provider
      WHERE a.stars IS NOT NULL AND b.stars IS NOT NULL
      GROUP BY a.provider) AS p
WHERE provider_tallies.provider = p.provider;

INSERT INTO rater_tallies (rated_by, ratings, star_sum)
SELECT rated_by, count(*), sum(stars) FROM ratings WHERE rated_by IS NOT NULL GROUP BY rated_by;

INSERT INTO rater_latest (experiment_id, rated_by, rating_id, stars)
SELECT r.experiment_id, r.rated_by, r.id, r.stars
FROM ratings r
JOIN (SELECT experiment_id, rated_by, max(id) AS id FROM ratings
      WHERE rated_by IS NOT NULL GROUP BY experiment_id, rated_by) latest ON latest.id = r.id;

INSERT INTO agreement_tallies (raters, items, star_sum, item_sum_sq, star_sq, category_sq,
                               n1, n2, n3, n4, n5)
SELECT k, count(*), sum(t), sum(t * t), sum(q), sum(c1 * c1 + c2 * c2 + c3 * c3 + c4 * c4 + c5 * c5),
       sum(c1), sum(c2), sum(c3), sum(c4), sum(c5)
FROM (SELECT count(*) AS k, sum(stars) AS t, sum(stars * stars) AS q,
             count(*) FILTER (WHERE stars = 1) AS c1, count(*) FILTER (WHERE stars = 2) AS c2,
             count(*) FILTER (WHERE stars = 3) AS c3, count(*) FILTER (WHERE stars = 4) AS c4,
             count(*) FILTER (WHERE stars = 5) AS c5
      FROM rater_latest GROUP BY experiment_id)
WHERE k >= 2
GROUP BY k;

INSERT INTO rater_agreement (rated_by, raters, items, offset_num)
SELECT r.rated_by, i.k, count(*), sum(i.k * r.stars - i.t)
FROM rater_latest r
JOIN (SELECT experiment_id, count(*) AS k, sum(stars) AS t FROM rater_latest
      GROUP BY experiment_id) i ON i.experiment_id = r.experiment_id
WHERE i.k >= 2
GROUP BY r.rated_by, i.k;

-- Write-only views whose INSTEAD OF triggers apply one signed contribution:
-- each body is written once and used for both the subtraction and the
-- addition.

CREATE VIEW experiment_tally_delta AS
SELECT 0 AS sign, '' AS provider, '' AS status, NULL AS stars, NULL AS latency_ms,
       NULL AS cost_usd WHERE 0;

CREATE TRIGGER experiment_tally_delta_apply INSTEAD OF INSERT ON experiment_tally_delta BEGIN
    INSERT INTO provider_tallies (provider, experiments, rated, successes, star_sum, unrated,
                                  renders, failed, latency_ms, cost_nano_usd, renders_without_cost)
    VALUES (NEW.provider, NEW.sign,
            NEW.sign * (NEW.stars IS NOT NULL),
            NEW.sign * (coalesce(NEW.stars, 0) >= 4),
            NEW.sign * coalesce(NEW.stars, 0),
            NEW.sign * (NEW.stars IS NULL AND NEW.status IN ('done', 'proposed')),
            NEW.sign * (NEW.status = 'done'),
            NEW.sign * (NEW.status = 'failed'),
            NEW.sign * max(coalesce(NEW.latency_ms, 0), 0),
            NEW.sign * CAST(round(coalesce(NEW.cost_usd, 0) * 1e9) AS INTEGER),
            NEW.sign * (NEW.status = 'done' AND NEW.cost_usd IS NULL))
    ON CONFLICT (provider) DO UPDATE SET
        experiments          = experiments + excluded.experiments,
        rated                = rated + excluded.rated,
        successes            = successes + excluded.successes,
        star_sum             = star_sum + excluded.star_sum,
        unrated              = unrated + excluded.unrated,
        renders              = renders + excluded.renders,
        failed               = failed + excluded.failed,
        latency_ms           = latency_ms + excluded.latency_ms,
        cost_nano_usd        = cost_nano_usd + excluded.cost_nano_usd,
        renders_without_cost = renders_without_cost + excluded.renders_without_cost;
END;

CREATE VIEW batch_pairs_delta AS SELECT 0 AS sign, '' AS batch_id WHERE 0;

CREATE TRIGGER batch_pairs_delta_apply INSTEAD OF INSERT ON batch_pairs_delta BEGIN
    INSERT INTO provider_tallies (provider, comparisons, wins, ties)
    SELECT a.provider, NEW.sign * count(*),
           NEW.sign * count(*) FILTER (WHERE a.stars > b.stars),
           NEW.sign * count(*) FILTER (WHERE a.stars = b.stars)
    FROM experiments a JOIN experiments b
      ON b.batch_id = a.batch_id AND b.provider <> a.provider
    WHERE a.batch_id = NEW.batch_id AND a.stars IS NOT NULL AND b.stars IS NOT NULL
    GROUP BY a.provider
    ON CONFLICT (provider) DO UPDATE SET
        comparisons = comparisons + excluded.comparisons,
        wins        = wins + excluded.wins,
        ties        = ties + excluded.ties;
END;

CREATE VIEW agreement_delta AS SELECT 0 AS sign, '' AS experiment_id WHERE 0;

CREATE TRIGGER agreement_delta_apply INSTEAD OF INSERT ON agreement_delta BEGIN
    INSERT INTO agreement_tallies (raters, items, star_sum, item_sum_sq, star_sq, category_sq,
                                   n1, n2, n3, n4, n5)
    SELECT k, NEW.sign, NEW.sign * t, NEW.sign * t * t, NEW.sign * q,
           NEW.sign * (c1 * c1 + c2 * c2 + c3 * c3 + c4 * c4 + c5 * c5),
           NEW.sign * c1, NEW.sign * c2, NEW.sign * c3, NEW.sign * c4, NEW.sign * c5
    FROM (SELECT count(*) AS k, sum(stars) AS t, sum(stars * stars) AS q,
                 count(*) FILTER (WHERE stars = 1) AS c1, count(*) FILTER (WHERE stars = 2) AS c2,
                 count(*) FILTER (WHERE stars = 3) AS c3, count(*) FILTER (WHERE stars = 4) AS c4,
                 count(*) FILTER (WHERE stars = 5) AS c5
          FROM rater_latest WHERE experiment_id = NEW.experiment_id)
    WHERE k >= 2
    ON CONFLICT (raters) DO UPDATE SET
        items       = items + excluded.items,
        star_sum    = star_sum + excluded.star_sum,
        item_sum_sq = item_sum_sq + excluded.item_sum_sq,
        star_sq     = star_sq + excluded.star_sq,
        category_sq = category_sq + excluded.category_sq,
        n1 = n1 + excluded.n1, n2 = n2 + excluded.n2, n3 = n3 + excluded.n3,
        n4 = n4 + excluded.n4, n5 = n5 + excluded.n5;
    INSERT INTO rater_agreement (rated_by, raters, items, offset_num)
    SELECT r.rated_by, i.k, NEW.sign, NEW.sign * (i.k * r.stars - i.t)
    FROM rater_latest r,
         (SELECT count(*) AS k, sum(stars) AS t FROM rater_latest
          WHERE experiment_id = NEW.experiment_id) i
    WHERE r.experiment_id = NEW.experiment_id AND i.k >= 2
    ON CONFLICT (rated_by, raters) DO UPDATE SET
        items      = items + excluded.items,
        offset_num = offset_num + excluded.offset_num;
END;

-- Experiments: a row's own contribution, and its batch's pairs when its
-- stars change.
CREATE TRIGGER experiments_tally_after_insert AFTER INSERT ON experiments BEGIN
    INSERT INTO experiment_tally_delta
    VALUES (1, NEW.provider, NEW.status, NEW.stars, NEW.latency_ms, NEW.cost_usd);
END;

CREATE TRIGGER experiments_tally_after_update
AFTER UPDATE OF provider, status, stars, latency_ms, cost_usd ON experiments
WHEN OLD.provider IS NOT NEW.provider OR OLD.status IS NOT NEW.status
  OR OLD.stars IS NOT NEW.stars OR OLD.latency_ms IS NOT NEW.latency_ms
  OR OLD.cost_usd IS NOT NEW.cost_usd
BEGIN
    INSERT INTO experiment_tally_delta
    VALUES (-1, OLD.provider, OLD.status, OLD.stars, OLD.latency_ms, OLD.cost_usd),
           (1, NEW.provider, NEW.status, NEW.stars, NEW.latency_ms, NEW.cost_usd);
END;

CREATE TRIGGER experiments_tally_after_delete AFTER DELETE ON experiments BEGIN
    INSERT INTO experiment_tally_delta
    VALUES (-1, OLD.provider, OLD.status, OLD.stars, OLD.latency_ms, OLD.cost_usd);
END;

CREATE TRIGGER experiments_pairs_before_insert BEFORE INSERT ON experiments
WHEN NEW.stars IS NOT NULL BEGIN
    INSERT INTO batch_pairs_delta VALUES (-1, NEW.batch_id);
END;

CREATE TRIGGER experiments_pairs_after_insert AFTER INSERT ON experiments
WHEN NEW.stars IS NOT NULL BEGIN
    INSERT INTO batch_pairs_delta VALUES (1, NEW.batch_id);
END;

CREATE TRIGGER experiments_pairs_before_update BEFORE UPDATE OF provider, stars, batch_id ON experiments
WHEN OLD.provider IS NOT NEW.provider OR OLD.stars IS NOT NEW.stars
  OR OLD.batch_id IS NOT NEW.batch_id
BEGIN
    INSERT INTO batch_pairs_delta VALUES (-1, OLD.batch_id);
    INSERT INTO batch_pairs_delta SELECT -1, NEW.batch_id WHERE NEW.batch_id IS NOT OLD.batch_id;
END;

CREATE TRIGGER experiments_pairs_after_update AFTER UPDATE OF provider, stars, batch_id ON experiments
WHEN OLD.provider IS NOT NEW.provider OR OLD.stars IS NOT NEW.stars
  OR OLD.batch_id IS NOT NEW.batch_id
BEGIN
    INSERT INTO batch_pairs_delta VALUES (1, NEW.batch_id);
    INSERT INTO batch_pairs_delta SELECT 1, OLD.batch_id WHERE OLD.batch_id IS NOT NEW.batch_id;
END;

CREATE TRIGGER experiments_pairs_before_delete BEFORE DELETE ON experiments
WHEN OLD.stars IS NOT NULL BEGIN
    INSERT INTO batch_pairs_delta VALUES (-1, OLD.batch_id);
END;

CREATE TRIGGER experiments_pairs_after_delete AFTER DELETE ON experiments
WHEN OLD.stars IS NOT NULL BEGIN
    INSERT INTO batch_pairs_delta VALUES (1, OLD.batch_id);
END;

-- Ratings: each rater's totals, and their latest stars per experiment. No
-- upsert on rater_latest: an upsert fires both the insert and the update
-- triggers, which would subtract an item twice.
CREATE TRIGGER ratings_tally_after_insert AFTER INSERT ON ratings
WHEN NEW.rated_by IS NOT NULL BEGIN
    INSERT INTO rater_tallies (rated_by, ratings, star_sum) VALUES (NEW.rated_by, 1, NEW.stars)
    ON CONFLICT (rated_by) DO UPDATE SET
        ratings = ratings + 1, star_sum = star_sum + excluded.star_sum;
    UPDATE rater_latest SET rating_id = NEW.id, stars = NEW.stars
    WHERE experiment_id = NEW.experiment_id AND rated_by = NEW.rated_by AND rating_id < NEW.id;
    INSERT INTO rater_latest (experiment_id, rated_by, rating_id, stars)
    SELECT NEW.experiment_id, NEW.rated_by, NEW.id, NEW.stars
    WHERE NOT EXISTS (SELECT 1 FROM rater_latest
                      WHERE experiment_id = NEW.experiment_id AND rated_by = NEW.rated_by);
END;

CREATE TRIGGER ratings_tally_after_delete AFTER DELETE ON ratings
WHEN OLD.rated_by IS NOT NULL BEGIN
    UPDATE rater_tallies SET ratings = ratings - 1, star_sum = star_sum - OLD.stars
    WHERE rated_by = OLD.rated_by;
    DELETE FROM rater_latest WHERE experiment_id = OLD.experiment_id AND rated_by = OLD.rated_by;
    INSERT INTO rater_latest (experiment_id, rated_by, rating_id, stars)
    SELECT experiment_id, rated_by, id, stars FROM ratings
    WHERE experiment_id = OLD.experiment_id AND rated_by = OLD.rated_by
    ORDER BY id DESC LIMIT 1;
END;

-- An edit is a delete of the old rating and an insert of the new one.
CREATE TRIGGER ratings_tally_after_update AFTER UPDATE ON ratings BEGIN
    UPDATE rater_tallies SET ratings = ratings - 1, star_sum = star_sum - OLD.stars
    WHERE OLD.rated_by IS NOT NULL AND rated_by = OLD.rated_by;
    INSERT INTO rater_tallies (rated_by, ratings, star_sum)
    SELECT NEW.rated_by, 1, NEW.stars WHERE NEW.rated_by IS NOT NULL
    ON CONFLICT (rated_by) DO UPDATE SET
        ratings = ratings + 1, star_sum = star_sum + excluded.star_sum;
    DELETE FROM rater_latest
    WHERE (experiment_id = OLD.experiment_id AND rated_by = OLD.rated_by)
       OR (experiment_id = NEW.experiment_id AND rated_by = NEW.rated_by);
    INSERT INTO rater_latest (experiment_id, rated_by, rating_id, stars)
    SELECT experiment_id, rated_by, max(id), stars FROM ratings
    WHERE (experiment_id = OLD.experiment_id AND rated_by = OLD.rated_by)
       OR (experiment_id = NEW.experiment_id AND rated_by = NEW.rated_by)
    GROUP BY experiment_id, rated_by;
END;

CREATE TRIGGER rater_latest_before_insert BEFORE INSERT ON rater_latest BEGIN
    INSERT INTO agreement_delta VALUES (-1, NEW.experiment_id);
END;
CREATE TRIGGER rater_latest_after_insert AFTER INSERT ON rater_latest BEGIN
    INSERT INTO agreement_delta VALUES (1, NEW.experiment_id);
END;
CREATE TRIGGER rater_latest_before_update BEFORE UPDATE ON rater_latest BEGIN
    INSERT INTO agreement_delta VALUES (-1, OLD.experiment_id);
END;
CREATE TRIGGER rater_latest_after_update AFTER UPDATE ON rater_latest BEGIN
    INSERT INTO agreement_delta VALUES (1, NEW.experiment_id);
END;
CREATE TRIGGER rater_latest_before_delete BEFORE DELETE ON rater_latest BEGIN
    INSERT INTO agreement_delta VALUES (-1, OLD.experiment_id);
END;
CREATE TRIGGER rater_latest_after_delete AFTER DELETE ON rater_latest BEGIN
    INSERT INTO agreement_delta VALUES (1, OLD.experiment_id);
END;
