-- Account security (issue 14): login throttling that leaks nothing, email
-- (verification, password reset, opt-in notifications), secrets at rest.

-- Failed logins for emails that have no user, counted and locked exactly as
-- users.failed_logins / users.locked_until are, so an unknown email answers a
-- login as a known one does (401, then 423 after login_max_failures). A user
-- registering the email takes its row over (exchange.store.queries.users).
CREATE TABLE login_failures (
    email          text PRIMARY KEY,
    failed_logins  integer NOT NULL DEFAULT 0,
    locked_until   timestamptz
);
-- rows whose lock has ended are deleted as logins go (a deleted row and an ended lock
-- count the next failure alike, as 1)
CREATE INDEX login_failures_lock_end ON login_failures (locked_until)
    WHERE locked_until IS NOT NULL;

ALTER TABLE users
    ADD COLUMN email_verified boolean NOT NULL DEFAULT false,
    ADD COLUMN email_fills    boolean NOT NULL DEFAULT false,  -- opt-in: mail on fills
    ADD COLUMN email_alerts   boolean NOT NULL DEFAULT false;  -- opt-in: mail on price alerts

-- Single-use tokens sent by email (password reset, email verification),
-- stored as the sha256 of the token (the token is 256 random bits).
CREATE TABLE email_tokens (
    token_hash  bytea  PRIMARY KEY,
    account_id  bigint NOT NULL REFERENCES accounts,
    purpose     text   NOT NULL CHECK (purpose IN ('reset', 'verify')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX email_tokens_account ON email_tokens (account_id, purpose) WHERE used_at IS NULL;

-- api_keys.secret and users.totp_secret now hold sealed values ('sealed:v1:' and a
-- Fernet token under the key outside the database, exchange.store.sealing); rows
-- written as plaintext before are sealed at start-up, where the key is known.
COMMENT ON COLUMN api_keys.secret IS 'sealed:v1:<Fernet token> (exchange.store.sealing)';
COMMENT ON COLUMN users.totp_secret IS 'sealed:v1:<Fernet token> (exchange.store.sealing)';
