"""Per-account risk limits: the resolved values of one account (0 = unlimited)."""


LIMIT_FIELDS = ("max_order_qty", "max_order_notional", "max_open_orders", "max_position",
                "max_daily_notional")


class Limits:
    """Resolved limits of one account (0 = unlimited); ``any``: whether one is set."""

    __slots__ = LIMIT_FIELDS + ("any",)

    def __init__(self, max_order_qty: int = 0, max_order_notional: int = 0,
                 max_open_orders: int = 0, max_position: int = 0,
                 max_daily_notional: int = 0) -> None:
        self.max_order_qty = max_order_qty
        self.max_order_notional = max_order_notional
        self.max_open_orders = max_open_orders
        self.max_position = max_position
        self.max_daily_notional = max_daily_notional
        self.any = bool(max_order_qty or max_order_notional or max_open_orders or max_position
                        or max_daily_notional)

    @classmethod
    def resolve(cls, own: tuple[int | None, ...], defaults: "Limits") -> "Limits":
        """The limits of an account whose own values are ``own`` (None = the default)."""
        return cls(*(getattr(defaults, name) if value is None else value
                     for name, value in zip(LIMIT_FIELDS, own)))

    def values(self) -> tuple[int, ...]:
        return tuple(getattr(self, name) for name in LIMIT_FIELDS)

    def __eq__(self, other: object) -> bool:
        return type(other) is Limits and self.values() == other.values()

    def __repr__(self) -> str:
        return f"Limits{self.values()}"


NO_LIMITS = Limits()


def valid_limit(value: object, optional: bool) -> bool:
    """Whether ``value`` is a limit: a non-negative int (or None when ``optional``)."""
    if value is None:
        return optional
    return type(value) is int and 0 <= value < 2**63
