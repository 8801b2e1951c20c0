-- latina schema 4: what each render cost, in US dollars (reported by the API
-- or estimated from the config's prices; NULL when unknown).

ALTER TABLE experiments ADD COLUMN cost_usd REAL;
