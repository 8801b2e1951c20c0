-- Tallies deferred to the end of a bulk import.
--
-- Every rating adds to the same few tally rows (its provider's, its rater's,
-- the agreement sums of its number of raters, the judgement groups). Within
-- one transaction each such update leaves a row version the next one has to
-- step over, so importing 100,000 ratings in one transaction slowed to 17
-- ratings a second and took over an hour. An import instead calls
-- latina_defer_tallies() after it begins: from then on, in that transaction
-- only, a tally upsert is appended to a temporary table of its own (no row
-- is updated twice), and latina_fold_deferred_tallies() adds the sums in
-- one statement per table before the import commits. Every tally is a sum
-- of signed contributions, so the folded totals are exactly the ones the
-- row-by-row updates would have left.

CREATE FUNCTION latina_tallies_deferred() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('latina.defer_tallies', true), '') = 'on'
$$;

-- Upserts (INSERT ... ON CONFLICT DO UPDATE) run BEFORE INSERT triggers
-- first; returning NULL skips the row, conflict and update included.
CREATE FUNCTION latina_tally_insert_deferred() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF latina_tallies_deferred() THEN
        EXECUTE format('INSERT INTO pg_temp.%I SELECT ($1).*', TG_TABLE_NAME || '_pending')
        USING NEW;
        RETURN NULL;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER provider_tallies_deferred BEFORE INSERT ON provider_tallies
FOR EACH ROW EXECUTE FUNCTION latina_tally_insert_deferred();
CREATE TRIGGER rater_tallies_deferred BEFORE INSERT ON rater_tallies
FOR EACH ROW EXECUTE FUNCTION latina_tally_insert_deferred();
CREATE TRIGGER agreement_tallies_deferred BEFORE INSERT ON agreement_tallies
FOR EACH ROW EXECUTE FUNCTION latina_tally_insert_deferred();
CREATE TRIGGER rater_agreement_deferred BEFORE INSERT ON rater_agreement
FOR EACH ROW EXECUTE FUNCTION latina_tally_insert_deferred();

-- The judgement groups are one row, raised by UPDATE: the raise is kept as
-- a delta and the row left alone.
CREATE FUNCTION latina_judgement_update_deferred() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF latina_tallies_deferred() THEN
        INSERT INTO pg_temp.judgement_tallies_pending (star_groups, preference_groups)
        VALUES (NEW.star_groups - OLD.star_groups, NEW.preference_groups - OLD.preference_groups);
        RETURN NULL;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER judgement_tallies_deferred BEFORE UPDATE ON judgement_tallies
FOR EACH ROW EXECUTE FUNCTION latina_judgement_update_deferred();

-- The rater tallies' hand-edit branches (UPDATE ... SET ratings = ratings - 1)
-- do not run in an import, which only inserts; refuse them while deferred
-- rather than lose them.
CREATE FUNCTION latina_tally_update_refused() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF latina_tallies_deferred() THEN
        RAISE EXCEPTION '% updated while its tallies are deferred', TG_TABLE_NAME;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER provider_tallies_no_update_deferred BEFORE UPDATE ON provider_tallies
FOR EACH ROW EXECUTE FUNCTION latina_tally_update_refused();
CREATE TRIGGER rater_tallies_no_update_deferred BEFORE UPDATE ON rater_tallies
FOR EACH ROW EXECUTE FUNCTION latina_tally_update_refused();
CREATE TRIGGER agreement_tallies_no_update_deferred BEFORE UPDATE ON agreement_tallies
FOR EACH ROW EXECUTE FUNCTION latina_tally_update_refused();
CREATE TRIGGER rater_agreement_no_update_deferred BEFORE UPDATE ON rater_agreement
FOR EACH ROW EXECUTE FUNCTION latina_tally_update_refused();

-- Starts deferring for the rest of the current transaction.
CREATE FUNCTION latina_defer_tallies() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS provider_tallies_pending
        (LIKE provider_tallies INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE IF NOT EXISTS rater_tallies_pending
        (LIKE rater_tallies INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE IF NOT EXISTS agreement_tallies_pending
        (LIKE agreement_tallies INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE IF NOT EXISTS rater_agreement_pending
        (LIKE rater_agreement INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE IF NOT EXISTS judgement_tallies_pending
        (star_groups BIGINT NOT NULL, preference_groups BIGINT NOT NULL) ON COMMIT DELETE ROWS;
    PERFORM set_config('latina.defer_tallies', 'on', true);
END $$;

-- Adds what was deferred to the tallies and stops deferring.
CREATE FUNCTION latina_fold_deferred_tallies() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('latina.defer_tallies', 'off', true);
    INSERT INTO provider_tallies AS t
    SELECT provider, sum(experiments), sum(rated), sum(successes), sum(star_sum), sum(unrated),
           sum(renders), sum(failed), sum(latency_ms), sum(cost_nano_usd),
           sum(renders_without_cost), sum(comparisons), sum(wins), sum(ties), sum(fallbacks),
           sum(fallback_latency_ms)
    FROM pg_temp.provider_tallies_pending GROUP BY provider
    ON CONFLICT (provider) DO UPDATE SET
        experiments          = t.experiments + excluded.experiments,
        rated                = t.rated + excluded.rated,
        successes            = t.successes + excluded.successes,
        star_sum             = t.star_sum + excluded.star_sum,
        unrated              = t.unrated + excluded.unrated,
        renders              = t.renders + excluded.renders,
        failed               = t.failed + excluded.failed,
        latency_ms           = t.latency_ms + excluded.latency_ms,
        cost_nano_usd        = t.cost_nano_usd + excluded.cost_nano_usd,
        renders_without_cost = t.renders_without_cost + excluded.renders_without_cost,
        comparisons          = t.comparisons + excluded.comparisons,
        wins                 = t.wins + excluded.wins,
        ties                 = t.ties + excluded.ties,
        fallbacks            = t.fallbacks + excluded.fallbacks,
        fallback_latency_ms  = t.fallback_latency_ms + excluded.fallback_latency_ms;
    INSERT INTO rater_tallies AS t
    SELECT rated_by, sum(ratings), sum(star_sum)
    FROM pg_temp.rater_tallies_pending GROUP BY rated_by
    ON CONFLICT (rated_by) DO UPDATE SET
        ratings  = t.ratings + excluded.ratings,
        star_sum = t.star_sum + excluded.star_sum;
    INSERT INTO agreement_tallies AS a
    SELECT raters, sum(items), sum(star_sum), sum(item_sum_sq), sum(star_sq), sum(category_sq),
           sum(n1), sum(n2), sum(n3), sum(n4), sum(n5)
    FROM pg_temp.agreement_tallies_pending GROUP BY raters
    ON CONFLICT (raters) DO UPDATE SET
        items       = a.items + excluded.items,
        star_sum    = a.star_sum + excluded.star_sum,
        item_sum_sq = a.item_sum_sq + excluded.item_sum_sq,
        star_sq     = a.star_sq + excluded.star_sq,
        category_sq = a.category_sq + excluded.category_sq,
        n1 = a.n1 + excluded.n1, n2 = a.n2 + excluded.n2, n3 = a.n3 + excluded.n3,
        n4 = a.n4 + excluded.n4, n5 = a.n5 + excluded.n5;
    INSERT INTO rater_agreement AS g
    SELECT rated_by, raters, sum(items), sum(offset_num)
    FROM pg_temp.rater_agreement_pending GROUP BY rated_by, raters
    ON CONFLICT (rated_by, raters) DO UPDATE SET
        items      = g.items + excluded.items,
        offset_num = g.offset_num + excluded.offset_num;
    UPDATE judgement_tallies SET
        star_groups       = star_groups + (SELECT coalesce(sum(star_groups), 0)
                                           FROM pg_temp.judgement_tallies_pending),
        preference_groups = preference_groups + (SELECT coalesce(sum(preference_groups), 0)
                                                 FROM pg_temp.judgement_tallies_pending)
    WHERE id = 1;
    DELETE FROM pg_temp.provider_tallies_pending;
    DELETE FROM pg_temp.rater_tallies_pending;
    DELETE FROM pg_temp.agreement_tallies_pending;
    DELETE FROM pg_temp.rater_agreement_pending;
    DELETE FROM pg_temp.judgement_tallies_pending;
END $$;
