-- latina schema: best k of N. `enhance --candidates N` renders N variants
-- and shows the designer k of them; the rest are kept, unshown, and the
-- ones that break the room's structure are guarded.
--
-- `shown` = 0: a candidate the designer was not shown (it can still be
-- looked at and rated with `latina show`). Rows from before this schema
-- were all shown. A new render is recorded shown and the shortlist unmarks
-- the others once every candidate has landed, so a process killed mid-way
-- hides nothing.
ALTER TABLE experiments ADD COLUMN shown INTEGER NOT NULL DEFAULT 1 CHECK (shown IN (0, 1));
-- Why it was shown or not, in words ("best predicted: 4.1 ± 0.4 stars").
ALTER TABLE experiments ADD COLUMN shortlist_reason TEXT;
-- The reward model's prediction of this designer's stars from the render's
-- pixels, when there was a model to ask.
ALTER TABLE experiments ADD COLUMN reward_mean REAL;
ALTER TABLE experiments ADD COLUMN reward_sd REAL;
-- The structure guard's verdict: the measured agreement with the photo's
-- structure and the threshold it was held to. `guarded` = 1: never shown,
-- and a poor outcome for the optimizer.
ALTER TABLE experiments ADD COLUMN guard_structure REAL;
ALTER TABLE experiments ADD COLUMN guard_threshold REAL;
ALTER TABLE experiments ADD COLUMN guarded INTEGER NOT NULL DEFAULT 0 CHECK (guarded IN (0, 1));
-- The designer a batch was made for (`--by`), whose scale its predictions
-- are on and whose poor outcome a guarded render counts as. NULL: the
-- studio's view (no `--by`), or a batch from before this schema.
ALTER TABLE batches ADD COLUMN made_for TEXT;

CREATE INDEX experiments_by_shown ON experiments(shown) WHERE shown = 0;
