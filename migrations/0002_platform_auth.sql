-- The platform API's logins (exchange.platform): one user per account, with an
-- argon2id password and optional TOTP; sessions with rotating refresh tokens;
-- revoked access-token ids; names for API keys.

CREATE TABLE users (
    account_id      bigint PRIMARY KEY REFERENCES accounts,
    email           text   NOT NULL UNIQUE,         -- normalised to lower case
    password_hash   text   NOT NULL,                -- argon2id, PHC string
    totp_secret     text,                           -- base32; set by enrolment
    totp_enabled    boolean NOT NULL DEFAULT false, -- set by confirming a code
    totp_last_step  bigint NOT NULL DEFAULT 0,      -- last accepted TOTP time step: no replay
    failed_logins   integer NOT NULL DEFAULT 0,     -- consecutive; reset by a good login
    locked_until    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz NOT NULL DEFAULT now()
);

-- A login: its access tokens carry the session id, its refresh tokens point at it.
-- Revoking the session refuses both.
CREATE TABLE sessions (
    session_id  text   PRIMARY KEY,
    account_id  bigint NOT NULL REFERENCES accounts,
    created_at  timestamptz NOT NULL DEFAULT now(),
    ip          text,
    user_agent  text,
    revoked_at  timestamptz
);
CREATE INDEX sessions_account ON sessions (account_id) WHERE revoked_at IS NULL;

-- Opaque refresh tokens, stored as sha256. Each is used once (rotation); using
-- one again revokes its session (the token was stolen or replayed).
CREATE TABLE refresh_tokens (
    token_hash  bytea  PRIMARY KEY,
    session_id  text   NOT NULL REFERENCES sessions,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Access tokens revoked before their expiry (logout), by JWT id.
CREATE TABLE revoked_tokens (
    jti         text PRIMARY KEY,
    expires_at  timestamptz NOT NULL     -- the token's own expiry: the row can go after it
);

ALTER TABLE api_keys ADD COLUMN name text;
CREATE INDEX api_keys_account ON api_keys (account_id);
