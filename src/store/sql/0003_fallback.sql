-- latina schema 3: a variant rendered by a fallback engine records which provider failed.

ALTER TABLE experiments ADD COLUMN fallback_from TEXT;
