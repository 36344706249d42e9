-- Pre-trade risk (exchange.engine.risk, exchange.platform.risk): one row per
-- command the engine refused for a risk reason (a limit breach or an active kill
-- switch), written by the batcher in the same statement as the journal row, and
-- one per taker stopped by a volatility halt (reason VOLATILITY_HALT).
CREATE TABLE risk_alerts (
    seq             bigint NOT NULL,
    idx             integer NOT NULL,   -- the event's position among the command's events
    ts_ns           bigint NOT NULL,
    account_id      bigint,
    symbol          text,
    reason          text   NOT NULL,
    client_order_id text,
    order_id        bigint,
    PRIMARY KEY (seq, idx)
);
CREATE INDEX risk_alerts_account ON risk_alerts (account_id, seq);

-- Risk rejections already in the journal (none before this migration, but keep it exact).
INSERT INTO risk_alerts (seq, idx, ts_ns, account_id, symbol, reason, client_order_id)
SELECT seq, 0, ts_ns,
       CASE WHEN jsonb_typeof(command->'account') = 'number'
            THEN (command->>'account')::bigint END,
       command->>'symbol', rejected,
       CASE WHEN jsonb_typeof(command->'client_order_id') = 'string'
            THEN command->>'client_order_id' END
FROM journal
WHERE rejected IN ('RISK_MAX_ORDER_QTY', 'RISK_MAX_ORDER_NOTIONAL', 'RISK_MAX_OPEN_ORDERS',
                   'RISK_MAX_POSITION', 'RISK_MAX_DAILY_NOTIONAL', 'KILL_SWITCH');
