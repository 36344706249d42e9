-- Snapshots of the sequencer (exchange.store.snapshots): the whole in-memory
-- state at a seq whose commands have all committed, so that a restart replays
-- only the journal after it. ``engine`` is the digest of the engine's source
-- the state was pickled with and ``day_end_utc_s`` the setting it ran under:
-- recovery uses only a snapshot taken with the same of both. The state is
-- stored in parts (a bytea value holds at most 1 GB), stored uncompressed
-- (pickles of integers and slotted objects gain little from pglz).
CREATE TABLE snapshots (
    seq            bigint PRIMARY KEY,
    engine         text NOT NULL,
    day_end_utc_s  integer NOT NULL,
    parts          integer NOT NULL CHECK (parts > 0),
    bytes          bigint NOT NULL,
    taken_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE snapshot_parts (
    seq   bigint NOT NULL REFERENCES snapshots ON DELETE CASCADE,
    part  integer NOT NULL,
    data  bytea NOT NULL,
    PRIMARY KEY (seq, part)
);
ALTER TABLE snapshot_parts ALTER COLUMN data SET STORAGE EXTERNAL;
