"""Binance's error vocabulary: ``{"code": int, "msg": str}`` with its HTTP statuses.

Every refusal of the REST edge is an ``ApiError``; the middleware in
``exchange.api.app`` turns it (and aiohttp's own HTTP errors) into the JSON
body. ``REASON_ERRORS`` maps every engine ``Reason`` to the Binance code and
message a client expects.
"""

from exchange.engine import Reason

# Binance's codes (https://developers.binance.com/docs/binance-spot-api-docs/errors)
UNKNOWN = -1000
UNAUTHORIZED = -1002
TOO_MANY_REQUESTS = -1003
SERVER_BUSY = -1008
INVALID_MESSAGE = -1013
INVALID_TIMESTAMP = -1021
INVALID_SIGNATURE = -1022
ILLEGAL_CHARS = -1100
DUPLICATE_PARAM = -1101
MANDATORY_PARAM_MISSING = -1102
UNREAD_PARAMETERS = -1104
PARAM_NOT_REQUIRED = -1106
BAD_PRECISION = -1111
INVALID_TIF = -1115
INVALID_ORDER_TYPE = -1116
INVALID_SIDE = -1117
BAD_SYMBOL = -1121
INVALID_INTERVAL = -1120
INVALID_LISTEN_KEY = -1125
INVALID_PARAMETER = -1130
BAD_RECV_WINDOW = -1131
NEW_ORDER_REJECTED = -2010
CANCEL_REJECTED = -2011
NO_SUCH_ORDER = -2013
BAD_API_KEY_FMT = -2014
REJECTED_MBX_KEY = -2015
REPLACE_PARTIALLY_FAILED = -2021
REPLACE_FAILED = -2022

# HTTP status per code; anything else is a 400 (a malformed or refused request).
_STATUS = {
    UNKNOWN: 500, UNAUTHORIZED: 401, BAD_API_KEY_FMT: 401, REJECTED_MBX_KEY: 401,
    TOO_MANY_REQUESTS: 429, SERVER_BUSY: 503, REPLACE_PARTIALLY_FAILED: 409,
}


class ApiError(Exception):
    """A refused request: Binance ``code`` and ``msg``, its HTTP status and headers."""

    def __init__(self, code: int, msg: str, *, status: int | None = None,
                 headers: dict | None = None, data: dict | None = None):
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.status = status or _STATUS.get(code, 400)
        self.headers = headers or {}
        self.data = data  # extra body fields (cancelReplace reports both halves)

    def body(self) -> dict:
        body = {"code": self.code, "msg": self.msg}
        if self.data:
            body["data"] = self.data
        return body


def mandatory(name: str) -> ApiError:
    return ApiError(MANDATORY_PARAM_MISSING,
                    f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def not_required(name: str) -> ApiError:
    return ApiError(PARAM_NOT_REQUIRED, f"Parameter '{name}' sent when not required.")


def illegal(name: str, legal: str) -> ApiError:
    return ApiError(ILLEGAL_CHARS,
                    f"Illegal characters found in parameter '{name}'; legal range is '{legal}'.")


def filter_failure(name: str) -> ApiError:
    return ApiError(INVALID_MESSAGE, f"Filter failure: {name}")


def busy(retry_after_s: int) -> ApiError:
    return ApiError(SERVER_BUSY, "Server is currently overloaded with other requests. "
                    "Please try again in a few seconds.",
                    headers={"Retry-After": str(retry_after_s)})


R = Reason
# reason -> (code, message) for a refused new order (and cancel-replace's new half)
REASON_ERRORS = {
    R.UNKNOWN_ORDER: (NO_SUCH_ORDER, "Order does not exist."),
    R.INVALID_ORDER_ID: (ILLEGAL_CHARS, "Invalid orderId."),
    R.DUPLICATE_ORDER_ID: (NEW_ORDER_REJECTED, "Duplicate order sent."),
    R.DUPLICATE_CLIENT_ORDER_ID: (NEW_ORDER_REJECTED, "Duplicate order sent."),
    R.INVALID_SIDE: (INVALID_SIDE, "Invalid side."),
    R.INVALID_PRICE: (INVALID_MESSAGE, "Invalid price."),
    R.INVALID_QUANTITY: (INVALID_MESSAGE, "Invalid quantity."),
    R.INVALID_TIF: (INVALID_TIF, "Invalid timeInForce."),
    R.INVALID_STP: (ILLEGAL_CHARS, "Invalid selfTradePreventionMode."),
    R.INVALID_DISPLAY_QUANTITY: (INVALID_MESSAGE, "Filter failure: ICEBERG_PARTS"),
    R.POST_ONLY_WOULD_TAKE: (NEW_ORDER_REJECTED, "Order would immediately match and take."),
    R.UNKNOWN_SYMBOL: (BAD_SYMBOL, "Invalid symbol."),
    R.UNKNOWN_ASSET: (ILLEGAL_CHARS, "Invalid asset."),
    R.UNKNOWN_COMMAND: (UNKNOWN, "Unsupported operation."),
    R.INVALID_CLIENT_ORDER_ID: (ILLEGAL_CHARS, "Illegal characters found in parameter "
                                "'newClientOrderId'; legal range is '^[a-zA-Z0-9._-]{1,36}$'."),
    R.INVALID_STATUS: (INVALID_PARAMETER, "Invalid status."),
    R.INVALID_ORDER_TYPE: (INVALID_ORDER_TYPE, "Invalid orderType."),
    R.INVALID_STOP_PRICE: (INVALID_MESSAGE, "Invalid stopPrice."),
    R.INVALID_EXPIRY: (INVALID_MESSAGE, "Invalid expiry."),
    R.INVALID_AMOUNT: (INVALID_MESSAGE, "Invalid amount."),
    R.UNKNOWN_WITHDRAWAL: (INVALID_PARAMETER, "Unknown withdrawal."),
    R.DUPLICATE_WITHDRAWAL: (INVALID_PARAMETER, "Duplicate withdrawal id."),
    R.INVALID_INSTRUMENT: (INVALID_PARAMETER, "Invalid instrument."),
    R.DUPLICATE_SYMBOL: (INVALID_PARAMETER, "Symbol already listed."),
    R.FILTER_LOT_SIZE: (INVALID_MESSAGE, "Filter failure: LOT_SIZE"),
    R.FILTER_MARKET_LOT_SIZE: (INVALID_MESSAGE, "Filter failure: MARKET_LOT_SIZE"),
    R.FILTER_NOTIONAL: (INVALID_MESSAGE, "Filter failure: NOTIONAL"),
    R.FILTER_PRICE: (INVALID_MESSAGE, "Filter failure: PRICE_FILTER"),
    R.FILTER_PERCENT_PRICE: (INVALID_MESSAGE, "Filter failure: PERCENT_PRICE_BY_SIDE"),
    R.FILTER_ICEBERG: (INVALID_MESSAGE, "Filter failure: ICEBERG_PARTS"),
    R.STP_MODE_NOT_ALLOWED: (NEW_ORDER_REJECTED,
                             "This selfTradePreventionMode is not allowed for this symbol."),
    R.WOULD_TRIGGER_IMMEDIATELY: (NEW_ORDER_REJECTED, "Stop price would trigger immediately."),
    R.INSUFFICIENT_BALANCE: (NEW_ORDER_REJECTED,
                             "Account has insufficient balance for requested action."),
    R.NO_LIQUIDITY: (NEW_ORDER_REJECTED, "Insufficient liquidity for this market order."),
    R.MARKET_CLOSED: (NEW_ORDER_REJECTED, "Market is closed."),
    R.NOT_ORDER_OWNER: (NO_SUCH_ORDER, "Order does not exist."),
    R.NOT_AMENDABLE: (NEW_ORDER_REJECTED, "Order cannot be amended."),
    R.INVALID_LIMIT: (INVALID_PARAMETER, "Invalid risk limit."),
    R.RISK_MAX_ORDER_QTY: (NEW_ORDER_REJECTED, "Risk limit: order quantity above the maximum."),
    R.RISK_MAX_ORDER_NOTIONAL: (NEW_ORDER_REJECTED,
                                "Risk limit: order notional above the maximum."),
    R.RISK_MAX_OPEN_ORDERS: (NEW_ORDER_REJECTED, "Risk limit: too many open orders."),
    R.RISK_MAX_POSITION: (NEW_ORDER_REJECTED,
                          "Risk limit: the position would exceed the maximum for this symbol."),
    R.RISK_MAX_DAILY_NOTIONAL: (NEW_ORDER_REJECTED,
                                "Risk limit: daily traded notional would exceed the maximum."),
    R.KILL_SWITCH: (NEW_ORDER_REJECTED, "Kill switch active: new orders are refused."),
    R.OPEN_ORDERS_OFF_GRID: (INVALID_PARAMETER, "Open orders are off the new grid."),
    R.DELISTED: (NEW_ORDER_REJECTED, "This symbol has been delisted."),
    # Expiry and cancel reasons never refuse a command; listed so the map is total.
    R.IOC: (NEW_ORDER_REJECTED, "Order expired (IOC)."),
    R.FOK: (NEW_ORDER_REJECTED, "Order expired (FOK)."),
    R.MARKET: (NEW_ORDER_REJECTED, "Order expired (market)."),
    R.STP: (NEW_ORDER_REJECTED, "Order expired (self-trade prevention)."),
    R.TIME: (NEW_ORDER_REJECTED, "Order expired (time)."),
    R.USER: (CANCEL_REJECTED, "Canceled by user."),
    R.DISCONNECTED: (CANCEL_REJECTED, "Canceled: its session disconnected."),
    R.REPLACED: (CANCEL_REJECTED, "Replaced."),
    R.HALTED: (NEW_ORDER_REJECTED, "Market is closed."),
    R.FUNDS: (NEW_ORDER_REJECTED, "Account has insufficient balance for requested action."),
    R.VOLATILITY_HALT: (NEW_ORDER_REJECTED, "Order expired (volatility halt)."),
    R.INSTRUMENT_CHANGED: (CANCEL_REJECTED, "Canceled: the symbol's rules changed."),
}
del R


def rejected(reason, action: str = "new") -> ApiError:
    """The ApiError for a command the sequencer refused with ``reason``.

    ``action`` is "new", "cancel" or "query": an unknown order is -2013 for a
    new order or a query and -2011 "Unknown order sent." for a cancel.
    """
    code, msg = REASON_ERRORS.get(reason, (UNKNOWN, f"Rejected: {reason}"))
    if action == "cancel":
        if reason in (Reason.UNKNOWN_ORDER, Reason.NOT_ORDER_OWNER):
            return ApiError(CANCEL_REJECTED, "Unknown order sent.")
        if code == NEW_ORDER_REJECTED:
            code = CANCEL_REJECTED
    return ApiError(code, msg)
