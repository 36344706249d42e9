-- The venue's durable state. Prices are integer ticks, quantities integer lots,
-- money integer minor units (numeric(38,0): balances can outgrow bigint).
-- The journal is the source of truth (recovery replays it); the other tables
-- are kept in step by the batcher in the same transaction, for queries.

CREATE TABLE journal (
    seq         bigint PRIMARY KEY,
    ts_ns       bigint NOT NULL,
    kind        text   NOT NULL,          -- command class name
    command     jsonb  NOT NULL,          -- exchange.store.codec encoding
    rejected    text                      -- the Reason when the command was refused
);

CREATE TABLE instruments (
    symbol      text PRIMARY KEY,
    definition  jsonb  NOT NULL,
    status      text   NOT NULL,
    updated_seq bigint NOT NULL
);

CREATE TABLE accounts (
    account_id  bigint PRIMARY KEY,
    name        text   NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    api_key     text PRIMARY KEY,
    secret      text   NOT NULL,          -- HMAC needs the secret itself
    account_id  bigint NOT NULL REFERENCES accounts,
    permissions text[] NOT NULL DEFAULT '{read,trade}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE TABLE orders (
    order_id        bigint PRIMARY KEY,
    account_id      bigint  NOT NULL,
    symbol          text    NOT NULL,
    client_order_id text,
    side            text    NOT NULL,
    type            text    NOT NULL,
    tif             text    NOT NULL,
    price           bigint,
    qty             bigint,
    quote_qty       numeric(38,0),
    stop_price      bigint,
    display_qty     bigint,
    stp             text    NOT NULL,
    expire_ts_ns    bigint,
    working         boolean NOT NULL,
    status          text    NOT NULL,
    executed_qty    bigint  NOT NULL,
    cum_quote       numeric(38,0) NOT NULL,
    created_ts_ns   bigint  NOT NULL,
    updated_ts_ns   bigint  NOT NULL,
    updated_seq     bigint  NOT NULL
);
CREATE INDEX orders_account_symbol ON orders (account_id, symbol, order_id);
CREATE INDEX orders_open ON orders (symbol) WHERE status IN ('NEW', 'PARTIALLY_FILLED');
CREATE INDEX orders_client_id ON orders (account_id, client_order_id);

CREATE TABLE trades (
    trade_id       bigint PRIMARY KEY,
    seq            bigint  NOT NULL,
    ts_ns          bigint  NOT NULL,
    symbol         text    NOT NULL,
    price          bigint  NOT NULL,
    qty            bigint  NOT NULL,
    quote_qty      numeric(38,0) NOT NULL,
    maker_order_id bigint  NOT NULL,
    taker_order_id bigint  NOT NULL,
    maker_account  bigint  NOT NULL,
    taker_account  bigint  NOT NULL,
    taker_side     text    NOT NULL,
    maker_fee      numeric(38,0) NOT NULL,
    taker_fee      numeric(38,0) NOT NULL
);
CREATE INDEX trades_symbol_time ON trades (symbol, ts_ns);
CREATE INDEX trades_maker_account ON trades (maker_account, symbol, trade_id);
CREATE INDEX trades_taker_account ON trades (taker_account, symbol, trade_id);

-- Append-only, double-entry: per seq and asset the deltas sum to zero except
-- for DEPOSIT and WITHDRAWAL, which move money across the venue's boundary.
CREATE TABLE ledger_entries (
    seq          bigint  NOT NULL,
    idx          integer NOT NULL,         -- position among the seq's events
    account_id   bigint  NOT NULL,
    asset        text    NOT NULL,
    free_delta   numeric(38,0) NOT NULL,
    locked_delta numeric(38,0) NOT NULL,
    free         numeric(38,0) NOT NULL,
    locked       numeric(38,0) NOT NULL,
    reason       text    NOT NULL,
    ref          text,
    PRIMARY KEY (seq, idx)
);
CREATE INDEX ledger_account ON ledger_entries (account_id, asset, seq);

CREATE TABLE balances (
    account_id  bigint NOT NULL,
    asset       text   NOT NULL,
    free        numeric(38,0) NOT NULL,
    locked      numeric(38,0) NOT NULL,
    updated_seq bigint NOT NULL,
    PRIMARY KEY (account_id, asset)
);
