-- Market surveillance and the audit of admin actions (exchange.platform.surveillance,
-- exchange.platform.compliance, exchange.store.actions).

-- Accounts marked as one beneficial owner (set by an operator); NULL: the account
-- is its own owner. Trades between accounts of one owner are wash trades.
ALTER TABLE accounts ADD COLUMN beneficial_owner text
    CHECK (beneficial_owner IS NULL OR length(beneficial_owner) BETWEEN 1 AND 128);
CREATE INDEX accounts_beneficial_owner ON accounts (beneficial_owner)
    WHERE beneficial_owner IS NOT NULL;

-- Alerts computed from committed events by the Surveillance listener, written in
-- batches after the journal's commit (not in its transaction), reviewed by compliance.
CREATE TABLE surveillance_alerts (
    alert_id    bigserial PRIMARY KEY,
    kind        text     NOT NULL CHECK (kind IN ('WASH_TRADE', 'SPOOFING', 'LAYERING',
                                                  'UNUSUAL_VOLUME', 'UNUSUAL_PRICE')),
    symbol      text     NOT NULL,
    accounts    bigint[] NOT NULL DEFAULT '{}',
    evidence    jsonb    NOT NULL,
    first_seq   bigint   NOT NULL,          -- the commands the evidence comes from
    last_seq    bigint   NOT NULL CHECK (last_seq >= first_seq),
    created_at  timestamptz NOT NULL DEFAULT now(),
    status      text     NOT NULL DEFAULT 'OPEN'
                         CHECK (status IN ('OPEN', 'REVIEWED', 'DISMISSED')),
    reviewed_by bigint REFERENCES accounts,
    reviewed_at timestamptz,
    note        text
);
CREATE INDEX surveillance_alerts_kind ON surveillance_alerts (kind, alert_id DESC);
CREATE INDEX surveillance_alerts_status ON surveillance_alerts (status, alert_id DESC);
CREATE INDEX surveillance_alerts_symbol ON surveillance_alerts (symbol, alert_id DESC);
CREATE INDEX surveillance_alerts_accounts ON surveillance_alerts USING gin (accounts);

-- Every operator or compliance action that changes something, as a SHA-256 hash
-- chain of its own (exchange.store.actions, hashed with the journal's row_hash):
-- ids run 1, 2, 3... with no gap; prev_hash is the previous row's hash (32 zero
-- bytes before the first). One writer at a time: the writer locks the table.
CREATE TABLE admin_actions (
    action_id  bigint PRIMARY KEY CHECK (action_id > 0),
    actor      bigint,                      -- the account; NULL: the command line
    role       text   NOT NULL,             -- the actor's role then (cli: the command line)
    action     text   NOT NULL,
    target     text   NOT NULL,
    details    jsonb  NOT NULL,
    created_at timestamptz NOT NULL,
    prev_hash  bytea  NOT NULL CHECK (octet_length(prev_hash) = 32),
    hash       bytea  NOT NULL CHECK (octet_length(hash) = 32)
);
CREATE INDEX admin_actions_actor ON admin_actions (actor, action_id);
