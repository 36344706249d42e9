-- Every write goes through the journal (DESIGN §1): account ids come from an
-- identity column instead of max(account_id) + 1, so concurrent creations get
-- distinct ids without a table lock. ALWAYS: an INSERT that still names an id
-- fails loudly instead of racing the sequence (exchange.store.queries.accounts
-- .create is the one way to make an account). Existing ids are kept; the
-- sequence continues after the highest.
ALTER TABLE accounts ALTER COLUMN account_id ADD GENERATED ALWAYS AS IDENTITY;
SELECT setval(pg_get_serial_sequence('accounts', 'account_id'),
              coalesce((SELECT max(account_id) FROM accounts), 0) + 1, false);
