"""Every account's committed balances: what GET /api/v3/account shows.

Like ``Depth``, they change only by events after their batch committed (each
``BalanceChanged`` carries the balance that results), never by reading the
live ledger (which may be ahead of the commit); and a read creates nothing.
"""


class Balances:
    """``(free, locked)`` per ``(account, asset)``, in minor units, as committed."""

    __slots__ = ("_amounts",)

    def __init__(self) -> None:
        self._amounts: dict[tuple[int, str], tuple[int, int]] = {}

    @classmethod
    def of_ledger(cls, ledger) -> "Balances":
        """The balances of a ledger whose state is committed (at start-up)."""
        balances = cls()
        for account, asset, free, locked in ledger.nonzero():
            balances._amounts[(account, asset)] = (free, locked)
        return balances

    def apply(self, ev) -> None:
        """Apply one committed BalanceChanged."""
        self._amounts[(ev.account, ev.asset)] = (ev.free, ev.locked)

    def of(self, account: int, asset: str) -> tuple[int, int]:
        """``(free, locked)`` of ``account`` in ``asset``; zeros if it never held any."""
        return self._amounts.get((account, asset), (0, 0))
