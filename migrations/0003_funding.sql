-- Funding (exchange.platform.funding): account roles, withdrawals awaiting an
-- operator, and deposit history.

-- Who may do what on the platform API: operators credit deposits and resolve
-- withdrawals; compliance is reserved for read-only oversight. Set with
-- `exchange role <email-or-account-id> <role>`.
ALTER TABLE accounts ADD COLUMN role text NOT NULL DEFAULT 'trader'
    CHECK (role IN ('trader', 'operator', 'compliance'));

-- One row per accepted RequestWithdrawal, written by the batcher from
-- WithdrawalUpdated events in the same statement as the ledger entries that
-- hold (PENDING), pay out (APPROVED) or release (REJECTED) its amount. The
-- engine keeps withdrawal ids unique among pending withdrawals only, so the
-- key is the request's seq. destination, note and resolved_by are what the
-- edge knows and the engine does not; the platform API writes them once the
-- command has committed.
CREATE TABLE withdrawals (
    requested_seq   bigint PRIMARY KEY,
    withdrawal_id   text   NOT NULL,
    account_id      bigint NOT NULL,
    asset           text   NOT NULL,
    amount          numeric(38,0) NOT NULL,
    status          text   NOT NULL CHECK (status IN ('PENDING', 'APPROVED', 'REJECTED')),
    requested_ts_ns bigint NOT NULL,
    resolved_seq    bigint,
    resolved_ts_ns  bigint,
    resolved_by     bigint,          -- the operator's account
    destination     text,            -- where the user asked the money to go
    note            text,            -- the operator's note
    CHECK ((status = 'PENDING') = (resolved_seq IS NULL))
);
CREATE INDEX withdrawals_id ON withdrawals (withdrawal_id, requested_seq);
CREATE INDEX withdrawals_account ON withdrawals (account_id, requested_seq);
CREATE INDEX withdrawals_status ON withdrawals (status, requested_seq);

-- The platform API's withdrawal ids: never reused.
CREATE SEQUENCE withdrawal_ids;

-- Withdrawals already in the journal (the engine had them before this table).
INSERT INTO withdrawals (requested_seq, withdrawal_id, account_id, asset, amount, status,
                         requested_ts_ns)
SELECT seq, command->>'withdrawal_id', (command->>'account')::bigint, command->>'asset',
       (CASE WHEN jsonb_typeof(command->'amount') = 'number' THEN command->>'amount'
             ELSE command->'amount'->>'$int' END)::numeric,
       'PENDING', ts_ns
FROM journal WHERE kind = 'RequestWithdrawal' AND rejected IS NULL;

-- A resolution resolves the latest request of its id before it.
UPDATE withdrawals w
SET status = CASE WHEN (r.command->>'approve')::boolean THEN 'APPROVED' ELSE 'REJECTED' END,
    resolved_seq = r.seq, resolved_ts_ns = r.ts_ns
FROM journal r
WHERE r.kind = 'ResolveWithdrawal' AND r.rejected IS NULL
  AND w.withdrawal_id = r.command->>'withdrawal_id'
  AND w.requested_seq = (SELECT max(x.requested_seq) FROM withdrawals x
                         WHERE x.withdrawal_id = w.withdrawal_id AND x.requested_seq < r.seq);

-- (After the backfill: an id reused after its resolution is briefly pending twice above.)
CREATE UNIQUE INDEX withdrawals_pending_id ON withdrawals (withdrawal_id) WHERE status = 'PENDING';

-- Deposits are ledger entries with reason DEPOSIT (one per Deposit command):
-- one place for them, listed through this view; the command's seq is the id.
CREATE INDEX ledger_deposits ON ledger_entries (account_id, seq) WHERE reason = 'DEPOSIT';
CREATE VIEW deposits AS
SELECT l.seq AS deposit_id, l.account_id, l.asset, l.free_delta AS amount, l.ref, j.ts_ns
FROM ledger_entries l JOIN journal j ON j.seq = l.seq
WHERE l.reason = 'DEPOSIT';
