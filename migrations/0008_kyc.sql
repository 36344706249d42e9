-- KYC (exchange.platform.kyc): each account's know-your-customer status, set
-- by an operator (PUT /api/v1/admin/accounts/{id}/kyc) or moved to PENDING by
-- the user (POST /api/v1/kyc/submit). With [kyc] require_kyc_for_trading or
-- require_kyc_for_withdrawals on, only VERIFIED accounts may place orders or
-- request withdrawals.
ALTER TABLE accounts
    ADD COLUMN kyc_status text NOT NULL DEFAULT 'NONE'
        CHECK (kyc_status IN ('NONE', 'PENDING', 'VERIFIED', 'REJECTED')),
    ADD COLUMN kyc_note text,
    ADD COLUMN kyc_set_by bigint,          -- the operator's account (NULL: the user submitted)
    ADD COLUMN kyc_set_at timestamptz;
