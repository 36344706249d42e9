"""KYC gating: each account's know-your-customer status, cached in memory.

``accounts.kyc_status`` (migration 0008) is NONE, PENDING, VERIFIED or
REJECTED. An operator sets it (``PUT /api/v1/admin/accounts/{id}/kyc``) and a
user submits (NONE or REJECTED -> PENDING, ``POST /api/v1/kyc/submit``); both
routes tell the cache here after their UPDATE commits. With ``[kyc]
require_kyc_for_trading`` the Binance edge refuses new orders and
cancel-replaces of accounts that are not VERIFIED (cancels always pass);
with ``require_kyc_for_withdrawals`` the platform refuses their withdrawal
requests. With a requirement off, nothing is looked up.

The cache reads an account's status from the database once, on its first
gated request, and keeps it: no query per order. A read that raced an
operator's change is not kept (the change's value is).
"""


from .store.queries import kyc as queries

STATUSES = ("NONE", "PENDING", "VERIFIED", "REJECTED")
VERIFIED = "VERIFIED"


class Kyc:
    """The KYC requirements and the accounts' statuses as last read or set."""

    def __init__(self, require_for_trading: bool = False, require_for_withdrawals: bool = False):
        self.require_for_trading = require_for_trading
        self.require_for_withdrawals = require_for_withdrawals
        self._status = {}     # account -> status
        self._changes = 0     # set() calls so far: a read older than the last one is dropped

    async def status(self, pool, account: int) -> str:
        """The account's status: from memory, else read once (NONE for no such account)."""
        status = self._status.get(account)
        if status is None:
            changes = self._changes
            status = await queries.status(pool, account) or "NONE"
            if changes == self._changes:
                self._status[account] = status
        return status

    def set(self, account: int, status: str) -> None:
        """Remember a status an operator or the user just committed."""
        if status not in STATUSES:
            raise ValueError(f"unknown KYC status {status!r}")
        self._changes += 1
        self._status[account] = status

    async def may_trade(self, pool, account: int) -> bool:
        """Whether ``account`` may place orders (always, unless KYC is required for trading)."""
        return not self.require_for_trading or await self.status(pool, account) == VERIFIED

    async def may_withdraw(self, pool, account: int) -> bool:
        """Whether ``account`` may request withdrawals (always, unless KYC is required)."""
        return not self.require_for_withdrawals or await self.status(pool, account) == VERIFIED


