-- latina schema: learned embeddings of renders. (Registered right after
-- the last migration of its branch; the file is numbered 0015 because 0013
-- and 0014 are render features and enhance candidates on sibling branches.)
--
-- One row per (render, model): the embedding of the rendered pixels by the
-- user's ONNX image model (`reward.embedding_model`), unit length, as
-- `dims` little-endian float32 values. The model is named by the SHA-256
-- of its file, so a changed file is a different model and old rows stay
-- what they were. Embedding the same render with the same model again
-- replaces the row.
CREATE TABLE render_embeddings (
    experiment_id TEXT    NOT NULL REFERENCES experiments(id),
    model_sha256  TEXT    NOT NULL CHECK (length(model_sha256) = 64),
    dims          INTEGER NOT NULL CHECK (dims > 0),
    vector        BLOB    NOT NULL CHECK (length(vector) = 4 * dims),
    measured_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (experiment_id, model_sha256)
);
CREATE INDEX render_embeddings_by_model ON render_embeddings (model_sha256);
