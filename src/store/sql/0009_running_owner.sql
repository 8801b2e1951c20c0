-- latina schema 9: who owns a running render.
--
-- A process killed with -9 (or by a power cut) leaves its experiments
-- `running` forever: they cannot be rated, and the optimizer counted them as
-- pending. Each running row now records its process: the pid, the host, and
-- the process's start (boot id and start time on Linux), so a reused pid is
-- not mistaken for the owner. A row whose owner is gone is marked failed
-- with an error starting `interrupted` the next time a command opens the
-- database for writing. Where the start cannot be known, a lease on the
-- row's age decides. Rows written before this schema have no owner and are
-- judged by the lease alone.
ALTER TABLE experiments ADD COLUMN owner_pid INTEGER;
ALTER TABLE experiments ADD COLUMN owner_host TEXT;
ALTER TABLE experiments ADD COLUMN owner_start TEXT;
