-- The journal as a hash chain (exchange.store.audit): each row's hash is SHA-256
-- over the previous row's hash, seq, ts_ns, kind, the canonical command bytes
-- and rejected. The batcher writes it with the row. Rows journaled before this
-- migration get theirs from exchange.store.audit.seal_legacy, which the server
-- runs at start-up after the migrations (and `exchange migrate` runs too), so
-- the column stays nullable here; `exchange audit verify` reports any row
-- without one.

ALTER TABLE journal ADD COLUMN hash bytea CHECK (hash IS NULL OR octet_length(hash) = 32);
