-- latina schema 10: a fallback's waiting time is charged to the provider
-- that failed.
--
-- A variant whose provider failed and that a fallback arm rendered is
-- recorded under the arm that rendered it (`provider`), with the failed
-- provider in `fallback_from`; its `latency_ms` is the fallback's own render
-- time. The time lost on the failed provider now has its own column, and
-- the failed attempt counts in the failed provider's tallies as one failed
-- render and that time, exactly as a failed render without a fallback would
-- (so `status` shows what each provider really cost in waiting). The
-- attempt is kept in separate tally columns so that the experiment-level
-- numbers (experiments, failed experiments) stay what they were: the
-- variant itself did not fail.
ALTER TABLE experiments ADD COLUMN fallback_latency_ms INTEGER;

ALTER TABLE provider_tallies ADD COLUMN fallbacks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE provider_tallies ADD COLUMN fallback_latency_ms INTEGER NOT NULL DEFAULT 0;

-- Backfill, before the triggers exist. Rows written before this schema kept
-- the wait only at the end of their error text, as `… (failed after 812 ms)`
-- (written by one format! in ops/enhance.rs since the fallback has recorded
-- it; older rows lack the suffix). The number is taken from the last 40
-- characters and used only when it is all digits; a row without it counts
-- as a failure of unknown time (NULL, tallied as 0 ms).
UPDATE experiments SET fallback_latency_ms = (
    SELECT CAST(n AS INTEGER)
    FROM (SELECT substr(t, p + 14, length(t) - p - 17) AS n
          FROM (SELECT t, instr(t, '(failed after ') AS p
                FROM (SELECT substr(experiments.error, -40) AS t)))
    WHERE experiments.error LIKE '% (failed after % ms)'
      AND n <> '' AND n NOT GLOB '*[^0-9]*')
WHERE fallback_from IS NOT NULL;

INSERT INTO provider_tallies (provider, fallbacks, fallback_latency_ms)
SELECT fallback_from, count(*), coalesce(sum(max(coalesce(fallback_latency_ms, 0), 0)), 0)
FROM experiments WHERE fallback_from IS NOT NULL GROUP BY fallback_from
ON CONFLICT (provider) DO UPDATE SET
    fallbacks           = fallbacks + excluded.fallbacks,
    fallback_latency_ms = fallback_latency_ms + excluded.fallback_latency_ms;

-- As the other tallies: a write-only view whose INSTEAD OF trigger applies
-- one signed contribution, used for both the subtraction and the addition.
CREATE VIEW fallback_tally_delta AS
SELECT 0 AS sign, '' AS provider, NULL AS latency_ms WHERE 0;

CREATE TRIGGER fallback_tally_delta_apply INSTEAD OF INSERT ON fallback_tally_delta
WHEN NEW.provider IS NOT NULL BEGIN
    INSERT INTO provider_tallies (provider, fallbacks, fallback_latency_ms)
    VALUES (NEW.provider, NEW.sign, NEW.sign * max(coalesce(NEW.latency_ms, 0), 0))
    ON CONFLICT (provider) DO UPDATE SET
        fallbacks           = fallbacks + excluded.fallbacks,
        fallback_latency_ms = fallback_latency_ms + excluded.fallback_latency_ms;
END;

CREATE TRIGGER experiments_fallback_after_insert AFTER INSERT ON experiments
WHEN NEW.fallback_from IS NOT NULL BEGIN
    INSERT INTO fallback_tally_delta VALUES (1, NEW.fallback_from, NEW.fallback_latency_ms);
END;

CREATE TRIGGER experiments_fallback_after_update
AFTER UPDATE OF fallback_from, fallback_latency_ms ON experiments
WHEN OLD.fallback_from IS NOT NEW.fallback_from
  OR OLD.fallback_latency_ms IS NOT NEW.fallback_latency_ms
BEGIN
    INSERT INTO fallback_tally_delta
    VALUES (-1, OLD.fallback_from, OLD.fallback_latency_ms),
           (1, NEW.fallback_from, NEW.fallback_latency_ms);
END;

CREATE TRIGGER experiments_fallback_after_delete AFTER DELETE ON experiments
WHEN OLD.fallback_from IS NOT NULL BEGIN
    INSERT INTO fallback_tally_delta VALUES (-1, OLD.fallback_from, OLD.fallback_latency_ms);
END;
