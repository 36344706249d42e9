-- Notifications (order status changes, price alerts, risk refusals) and the
-- price alerts users define (exchange.platform.notifications). Derived from
-- committed events after each commit; not part of the journal's transaction.

CREATE TABLE notifications (
    notification_id bigserial PRIMARY KEY,
    account_id      bigint  NOT NULL REFERENCES accounts,
    kind            text    NOT NULL CHECK (kind IN ('ORDER', 'PRICE_ALERT', 'RISK')),
    title           text    NOT NULL,
    detail          jsonb   NOT NULL,
    seq             bigint,                    -- the last command it reports, if any
    created_at      timestamptz NOT NULL DEFAULT now(),
    read_at         timestamptz
);
CREATE INDEX notifications_account ON notifications (account_id, notification_id DESC);
CREATE INDEX notifications_unread ON notifications (account_id) WHERE read_at IS NULL;

CREATE TABLE price_alerts (
    alert_id        bigserial PRIMARY KEY,
    account_id      bigint  NOT NULL REFERENCES accounts,
    symbol          text    NOT NULL,
    direction       text    NOT NULL CHECK (direction IN ('above', 'below')),
    price           bigint  NOT NULL CHECK (price > 0),      -- ticks
    repeating       boolean NOT NULL DEFAULT false,
    active          boolean NOT NULL DEFAULT true,           -- one-shot alerts end when they fire
    armed           boolean NOT NULL DEFAULT true,           -- a repeating one re-arms on crossing back
    triggered_count integer NOT NULL DEFAULT 0,
    last_triggered_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX price_alerts_account ON price_alerts (account_id, alert_id DESC);
