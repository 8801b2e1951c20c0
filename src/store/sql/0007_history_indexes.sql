-- latina schema 7: indexes for `latina history`, which lists experiments
-- newest first (created_at, then seq) and filters by provider, prompt
-- version, time or rater. Each experiments index ends in created_at so a
-- filter and the order are served by one index walk that can stop early
-- (`history | head`); a rater's experiments are read from their ratings
-- through `ratings_by_rater` (schema 6).

CREATE INDEX experiments_by_created ON experiments(created_at);
CREATE INDEX experiments_by_provider_created ON experiments(provider, created_at);
CREATE INDEX experiments_by_version_created ON experiments(prompt_version, created_at);
