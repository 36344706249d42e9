-- Snapshots in a documented, versioned format (exchange.engine.state's plain data,
-- encoded by exchange.store.snapshots) instead of the sequencer pickled under a
-- digest of the engine's source: ``format`` is the version of the state's format,
-- and recovery loads any snapshot whose format this code knows or can upgrade,
-- whatever code version wrote it. The pickles go: no code can load them now (the
-- first start after this migration replays the journal once, then takes a
-- snapshot in the new format).
DELETE FROM snapshots;
ALTER TABLE snapshots DROP COLUMN engine;
ALTER TABLE snapshots ADD COLUMN format integer NOT NULL CHECK (format > 0);
COMMENT ON COLUMN snapshots.format IS
    'exchange.engine.state FORMAT of the stored state (MessagePack, see exchange.store.snapshots)';
