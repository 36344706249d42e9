"""The OpenAPI 3.1 document of every route (``GET /api/v1/openapi.json``), from one registry.

``OPERATIONS`` lists each route once: method, path, tag, summary, security
scheme, parameters (with the bounds ``exchange.parse`` enforces), request
body, the success response and every other status the route answers with
(its tag's refusals, or its own). ``document()`` builds the document from it,
and tests keep it true: the (method, path) pairs here must equal the
application router's (HEAD aside), and schemathesis checks the running
server's statuses, media types and bodies against it
(``tests/platform/test_platform_schemathesis.py``).
"""

from dataclasses import dataclass, field

import orjson
from aiohttp import web

from . import parse
from .api.params import CLIENT_ID_LEGAL, DECIMAL_LEGAL, SYMBOL_LEGAL
from .keys import OPENAPI_DOCUMENT
from .platform import errors
from .web.page import ASSET_TYPES

DOC_PATH = "/api/v1/openapi.json"

S = {"type": "string"}
DEC = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$", "description": "a decimal string"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
OBJ = {"type": "object"}
NULLABLE_DEC = {"type": ["string", "null"], "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}
# Parameters: ASCII digits only, within these bounds, else 400 (exchange.parse).
ID = {"type": "integer", "minimum": 1, "maximum": parse.MAX_INT64}
ID0 = {"type": "integer", "minimum": 0, "maximum": parse.MAX_INT64}
TIME_MS = {"type": "integer", "minimum": parse.MIN_TIME_MS, "maximum": parse.MAX_TIME_MS}
YEAR = {"type": "integer", "minimum": parse.MIN_YEAR, "maximum": parse.MAX_YEAR}


def obj(required=(), **props) -> dict:
    return {"type": "object", "properties": props, "required": list(required)}


def arr(items) -> dict:
    return {"type": "array", "items": items}


@dataclass(frozen=True)
class P:
    """A query (or path) parameter."""
    name: str
    schema: dict = field(default_factory=lambda: S)
    required: bool = False
    where: str = "query"
    description: str = ""


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    tag: str
    summary: str
    security: str | None = None          # "binance" (X-MBX-APIKEY + HMAC), "bearer" (JWT) or None
    params: tuple = ()
    body: dict | None = None             # JSON request body schema (platform) ...
    form: bool = False                   # ... or the params also as a form body (Binance)
    response: dict = field(default_factory=lambda: OBJ)
    status: int = 200
    media: str | tuple = "application/json"   # the success response's media type(s)
    csv: bool = False                    # ... or text/csv (reports with format=csv)
    errors: tuple | None = None          # the refusals' statuses (None: the tag's)
    extra: tuple = ()                    # more responses: (status, media, schema, description)


# ---- the Binance dialect (/api/v3) -----------------------------------------

SYMBOL_SCHEMA = {"type": "string", "pattern": SYMBOL_LEGAL, "examples": ["AAPL"]}
DEC_IN = {"type": "string", "pattern": DECIMAL_LEGAL, "description": "a decimal string"}
CLIENT_ID = {"type": "string", "pattern": CLIENT_ID_LEGAL}
SYMBOL = P("symbol", SYMBOL_SCHEMA, required=True)
SYMBOL_OPT = P("symbol", SYMBOL_SCHEMA)
SYMBOLS = P("symbols", description='a JSON array of symbols, e.g. ["AAPL","MSFT"]')


def limit(hi, default):
    return P("limit", {"type": "integer", "minimum": 1, "maximum": hi, "default": default})


TIMES = (P("startTime", TIME_MS, description="ms since the epoch"),
         P("endTime", TIME_MS, description="ms since the epoch"))
SIGNED = (P("timestamp", TIME_MS, required=True, description="ms since the epoch"),
          P("recvWindow", {"type": "integer", "minimum": 1, "maximum": 60000, "default": 5000}),
          P("signature", required=True,
            description="hex HMAC-SHA256 of the query string followed by the body"))
NEW_ORDER = (SYMBOL, P("side", {"enum": ["BUY", "SELL"]}, required=True),
             P("type", {"enum": ["LIMIT", "MARKET", "LIMIT_MAKER", "STOP_LOSS",
                                 "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"]},
               required=True),
             P("timeInForce", {"enum": ["GTC", "IOC", "FOK"]}),
             P("quantity", {**DEC_IN, "examples": ["1"]}), P("quoteOrderQty", DEC_IN),
             P("price", {**DEC_IN, "examples": ["100.00"]}),
             P("stopPrice", DEC_IN),
             P("icebergQty", DEC_IN), P("newClientOrderId", CLIENT_ID),
             P("selfTradePreventionMode", {"enum": ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER",
                                                    "EXPIRE_BOTH"]}),
             P("newOrderRespType", {"enum": ["ACK", "RESULT", "FULL"]}),
             P("strategyId"), P("strategyType"))
ORDER_REF = (P("orderId", ID), P("origClientOrderId"))


def v3(method, path, summary, params=(), signed=False, response=OBJ):
    return Op(method, "/api/v3/" + path, "binance", summary, "binance" if signed else None,
              tuple(params) + (SIGNED if signed else ()), form=signed and method != "GET",
              response=response)


def one_or_all(item: dict) -> dict:
    """A ticker: one object for ``symbol``, an array for ``symbols`` or neither (every symbol)."""
    return {"oneOf": [item, arr(item)],
            "description": "an object when 'symbol' is given, else an array"}


TICKER_MINI = obj(["symbol", "lastPrice", "openPrice", "highPrice", "lowPrice", "volume",
                   "quoteVolume", "openTime", "closeTime", "firstId", "lastId", "count"],
                  symbol=S, lastPrice=DEC, openPrice=DEC, highPrice=DEC, lowPrice=DEC,
                  volume=DEC, quoteVolume=DEC, openTime=INT, closeTime=INT, firstId=INT,
                  lastId=INT, count=INT)
TICKER_FULL = obj(TICKER_MINI["required"] + ["priceChange", "priceChangePercent",
                                             "weightedAvgPrice", "prevClosePrice", "lastQty",
                                             "bidPrice", "bidQty", "askPrice", "askQty"],
                  **TICKER_MINI["properties"], priceChange=DEC, priceChangePercent=DEC,
                  weightedAvgPrice=DEC, prevClosePrice=DEC, lastQty=DEC, bidPrice=DEC,
                  bidQty=DEC, askPrice=DEC, askQty=DEC)
TICKER_PRICE = obj(["symbol", "price"], symbol=S, price=DEC)
BOOK_TICKER = obj(["symbol", "bidPrice", "bidQty", "askPrice", "askQty"], symbol=S,
                  bidPrice=DEC, bidQty=DEC, askPrice=DEC, askQty=DEC)
HEALTH = obj(["status", "seq", "committed_seq", "backlog"], status={"enum": ["ok", "failed"]},
             seq=INT, committed_seq=INT, backlog=INT)
READY = obj(["ready", "reasons"], ready=BOOL, reasons=arr(S), seq=INT, committed_seq=INT,
            backlog=INT, max_backlog=INT)
ASSET_MEDIA = tuple(sorted(set(ASSET_TYPES.values()) | {"application/octet-stream"}))
LEVELS = arr({"type": "array", "items": DEC, "minItems": 2, "maxItems": 2,
              "description": "[price, quantity]"})
DEPTH = obj(["lastUpdateId", "bids", "asks"], lastUpdateId=INT, bids=LEVELS, asks=LEVELS)
PUBLIC_TRADE = obj(["id", "price", "qty", "quoteQty", "time", "isBuyerMaker", "isBestMatch"],
                   id=INT, price=DEC, qty=DEC, quoteQty=DEC, time=INT, isBuyerMaker=BOOL,
                   isBestMatch=BOOL)
AGG_TRADE = obj(["a", "p", "q", "f", "l", "T", "m", "M"], a=INT, p=DEC, q=DEC, f=INT, l=INT,
                T=INT, m=BOOL, M=BOOL)
# A plain GET (no Upgrade) on a WebSocket path: aiohttp's handshake refusal, as the edge's JSON.
NOT_UPGRADED = (400,)


# ---- the platform API (/api/v1) ---------------------------------------------

TOKENS = obj(["account_id", "token_type", "access_token", "expires_in", "refresh_token",
              "refresh_expires_in"], account_id=INT, token_type=S, access_token=S,
             expires_in=INT, refresh_token=S, refresh_expires_in=INT)
API_KEY = obj(["api_key", "name", "permissions", "created_at"], api_key=S, name=S,
              permissions=arr({"enum": ["read", "trade", "withdraw"]}), created_at=S)
PAGE = (P("symbol"), P("side", {"enum": ["buy", "sell"]}),
        P("start_time", TIME_MS, description="ms since the epoch, inclusive"),
        P("end_time", TIME_MS, description="ms since the epoch, exclusive"),
        P("limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}),
        P("before", ID, description="only ids below this"),
        P("after", ID0, description="only ids above this"))
ORDER = obj(["order_id", "symbol", "side", "type", "status"], order_id=INT,
            client_order_id={"type": ["string", "null"]}, symbol=S, side=S, type=S,
            time_in_force=S, status=S, working=BOOL, price=NULLABLE_DEC, quantity=NULLABLE_DEC,
            quote_quantity=NULLABLE_DEC, stop_price=NULLABLE_DEC, iceberg_quantity=NULLABLE_DEC,
            executed_quantity=DEC, cumulative_quote=DEC, self_trade_prevention=S,
            created_at=S, updated_at=S)
TRADE = obj(["trade_id", "order_id", "symbol", "side", "role", "price", "quantity", "fee"],
            trade_id=INT, order_id=INT, symbol=S, side={"enum": ["buy", "sell"]},
            role={"enum": ["maker", "taker"]}, price=DEC, quantity=DEC, quote_quantity=DEC,
            fee=DEC, fee_asset=S, time=S)
NEXT = {"type": ["integer", "null"], "description": "the before cursor of the next older page"}
POSITION = obj(["symbol", "quantity"], symbol=S, base=S, quote=S, quantity=DEC,
               last_price=NULLABLE_DEC, value=NULLABLE_DEC, costed_quantity=DEC,
               uncosted_quantity=DEC, cost=DEC, average_cost=NULLABLE_DEC,
               unrealised_pnl=NULLABLE_DEC, realised_pnl=DEC)
BALANCE = obj(["asset", "free", "locked"], asset=S, free=DEC, locked=DEC)
DEPOSIT = obj(["deposit_id", "account_id", "asset", "amount", "time"], deposit_id=INT,
              account_id=INT, asset=S, amount=DEC, ref={"type": ["string", "null"]}, time=S)
NULL_S = {"type": ["string", "null"]}
WITHDRAWAL = obj(["withdrawal_id", "account_id", "asset", "amount", "status", "requested_at"],
                 withdrawal_id=S, account_id=INT, asset=S, amount=DEC,
                 status={"enum": ["PENDING", "APPROVED", "REJECTED"]}, destination=NULL_S,
                 requested_at=S, resolved_at=NULL_S, resolved_by={"type": ["integer", "null"]},
                 note=NULL_S)
FUNDING_PAGE = (P("asset"), P("limit", {"type": "integer", "minimum": 1, "maximum": 500,
                                        "default": 50}),
                P("before", ID, description="the next_before of the previous page"))
W_STATUS = P("status", description="comma-separated: PENDING, APPROVED, REJECTED")
W_ID = (P("withdrawal_id", required=True, where="path"),)
DEPOSITS = obj(["deposits", "next_before"], deposits=arr(DEPOSIT), next_before=NEXT)
WITHDRAWALS = obj(["withdrawals", "next_before"], withdrawals=arr(WITHDRAWAL), next_before=NEXT)


NOTIFICATION = obj(["notification_id", "kind", "title", "detail", "created_at", "read"],
                   notification_id=INT, kind={"enum": ["ORDER", "PRICE_ALERT", "RISK"]},
                   title=S, detail=OBJ, seq={"type": ["integer", "null"]}, created_at=S,
                   read=BOOL)
ALERT = obj(["alert_id", "symbol", "direction", "price", "repeating", "active"],
            alert_id=INT, symbol=S, direction={"enum": ["above", "below"]}, price=DEC,
            repeating=BOOL, active=BOOL, triggered_count=INT,
            last_triggered_at={"type": ["string", "null"]}, created_at=S)
EMAIL_PREFERENCES = obj(["email_verified", "fills", "alerts"], email_verified=BOOL, fills=BOOL,
                        alerts=BOOL)
API_KEY_PATH = (P("api_key", required=True, where="path"),)
KEY_SWITCH = obj(["api_key", "account_id", "kill_switch"], api_key=S, account_id=INT,
                 kill_switch=BOOL, canceled_order_ids=arr(INT))
REPORT_RANGE = (P("start_time", TIME_MS, description="ms since the epoch, inclusive"),
                P("end_time", TIME_MS, description="ms since the epoch, exclusive"))
REPORT_FORMAT = P("format", {"enum": ["json", "csv"]})

RISK_LIMITS = obj([], **{k: INT for k in ("max_order_qty", "max_order_notional",
                                           "max_open_orders", "max_position",
                                           "max_daily_notional")})
RISK_ALERT = obj(["seq", "time", "reason"], seq=INT, time=S,
                 account_id={"type": ["integer", "null"]}, symbol={"type": ["string", "null"]},
                 reason=S, client_order_id={"type": ["string", "null"]},
                 order_id={"type": ["integer", "null"]})
RISK_PAGE = (P("limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}),
             P("before", ID, description="the next_before of the previous page (a seq)"))
RISK_ALERTS = obj(["alerts", "next_before"], alerts=arr(RISK_ALERT), next_before=NEXT)
ACCOUNT_ID = (P("account_id", ID, required=True, where="path"),)
NULLABLE_S = {"type": ["string", "null"]}
INSTRUMENT = obj(
    ["symbol", "status", "base", "quote", "tick_size", "step_size"], symbol=S, status=S,
    base=S, quote=S, base_decimals=INT, quote_decimals=INT, tick_size=S, step_size=S,
    price_unit=S, qty_unit=S, min_qty=S, max_qty=S, min_notional=S, price_band_bps=INT,
    reference_price=NULLABLE_S, maker_fee=S, taker_fee=S)
INSTRUMENT_CHANGE = obj(INSTRUMENT["required"] + ["canceled_order_ids"],
                        **INSTRUMENT["properties"], canceled_order_ids=arr(INT))
KYC_STATUSES = ["NONE", "PENDING", "VERIFIED", "REJECTED"]
KYC_STATE = obj(["account_id", "kyc_status"], account_id=INT, kyc_status={"enum": KYC_STATUSES},
                note=NULLABLE_S, set_by={"type": ["integer", "null"]}, set_at=NULLABLE_S)
SURVEILLANCE_ALERT = obj(
    ["alert_id", "kind", "symbol", "accounts", "evidence", "status"], alert_id=INT,
    kind={"enum": ["WASH_TRADE", "SPOOFING", "LAYERING", "UNUSUAL_VOLUME", "UNUSUAL_PRICE"]},
    symbol=S, accounts=arr(INT), evidence=OBJ, first_seq=INT, last_seq=INT, created_at=S,
    status={"enum": ["OPEN", "REVIEWED", "DISMISSED"]},
    reviewed_by={"type": ["integer", "null"]}, reviewed_at=NULLABLE_S, note=NULLABLE_S)
ADMIN_ACTION = obj(
    ["action_id", "actor", "role", "action", "target", "details", "created_at", "prev_hash",
     "hash"], action_id=INT, actor={"type": ["integer", "null"]}, role=S, action=S, target=S,
    details=OBJ, created_at=S, prev_hash=S, hash=S)


def v1(method, path, summary, *, bearer=True, body=None, params=(), response=OBJ, status=200,
       extra=()):
    return Op(method, "/api/v1/" + path, "platform", summary, "bearer" if bearer else None,
              tuple(params), body=body, response=response, status=status,
              csv=REPORT_FORMAT in params, extra=extra)


# What needs mail on a venue without an SMTP server (exchange.platform.account_mail).
MAIL_DISABLED = ((503, "application/json", {"$ref": "#/components/schemas/PlatformError"},
                  "MAIL_DISABLED: the venue has no SMTP server configured"),)


OPERATIONS = [
    v3("GET", "ping", "Test connectivity"),
    v3("GET", "time", "Server time", response=obj(["serverTime"], serverTime=INT)),
    v3("GET", "exchangeInfo", "Instruments and their filters", (SYMBOL_OPT, SYMBOLS)),
    v3("GET", "depth", "Order book", (SYMBOL, limit(5000, 100)), response=DEPTH),
    v3("GET", "trades", "Recent trades", (SYMBOL, limit(1000, 500)),
       response=arr(PUBLIC_TRADE)),
    v3("GET", "historicalTrades", "Older trades", (SYMBOL, limit(1000, 500), P("fromId", ID0)),
       response=arr(PUBLIC_TRADE)),
    v3("GET", "aggTrades", "Aggregate trades (one trade each)",
       (SYMBOL, P("fromId", ID0)) + TIMES + (limit(1000, 500),), response=arr(AGG_TRADE)),
    v3("GET", "klines", "Candles", (SYMBOL, P("interval", required=True)) + TIMES
       + (limit(1000, 500),), response=arr(arr({}))),
    v3("GET", "ticker/24hr", "Rolling 24 h statistics (type=MINI: without the change, "
       "weighted average, last quantity and best bid/ask fields)",
       (SYMBOL_OPT, SYMBOLS, P("type", {"enum": ["FULL", "MINI"]})),
       response=one_or_all({"anyOf": [TICKER_FULL, TICKER_MINI]})),
    v3("GET", "ticker/price", "Last price", (SYMBOL_OPT, SYMBOLS),
       response=one_or_all(TICKER_PRICE)),
    v3("GET", "ticker/bookTicker", "Best bid and ask", (SYMBOL_OPT, SYMBOLS),
       response=one_or_all(BOOK_TICKER)),
    v3("GET", "avgPrice", "5-minute average price", (SYMBOL,),
       response=obj(["mins", "price", "closeTime"], mins=INT, price=DEC, closeTime=INT)),
    v3("POST", "order", "Place an order", NEW_ORDER, signed=True),
    v3("POST", "order/test", "Validate an order without placing it",
       NEW_ORDER + (P("computeCommissionRates", {"enum": ["true", "false"]}),), signed=True),
    v3("GET", "order", "Query an order", (SYMBOL,) + ORDER_REF, signed=True),
    v3("DELETE", "order", "Cancel an order", (SYMBOL,) + ORDER_REF + (P("newClientOrderId"),),
       signed=True),
    v3("GET", "openOrders", "Open orders", (SYMBOL_OPT,), signed=True, response=arr(OBJ)),
    v3("DELETE", "openOrders", "Cancel all open orders on a symbol", (SYMBOL,), signed=True,
       response=arr(OBJ)),
    v3("GET", "allOrders", "All orders", (SYMBOL, P("orderId", ID)) + TIMES
       + (limit(1000, 500),), signed=True, response=arr(OBJ)),
    v3("POST", "order/cancelReplace", "Cancel an order and place a new one",
       NEW_ORDER + (P("cancelReplaceMode", {"enum": ["STOP_ON_FAILURE", "ALLOW_FAILURE"]},
                      required=True), P("cancelOrderId", ID), P("cancelOrigClientOrderId"),
                    P("cancelNewClientOrderId")), signed=True),
    v3("GET", "account", "Balances and permissions",
       (P("omitZeroBalances", {"enum": ["true", "false"]}),), signed=True),
    v3("GET", "myTrades", "The account's trades",
       (SYMBOL, P("orderId", ID), P("fromId", ID0)) + TIMES + (limit(1000, 500),),
       signed=True, response=arr(OBJ)),
    Op("GET", "/healthz", "operations", "Liveness and journal progress (503 once it failed)",
       response=HEALTH, extra=((503, "application/json", HEALTH, "The journal has failed"),)),
    Op("GET", "/readyz", "operations", "Readiness: 200 once recovered with the journal "
       "writer running and its backlog under the bound; 503 with the reasons otherwise",
       response=READY, extra=((503, "application/json", READY, "Not ready, with the reasons"),)),
    Op("GET", "/metrics", "operations", "Prometheus metrics (text exposition format)",
       response=S, media="text/plain"),
    Op("GET", "/", "web", "The trading page (built from exchange/web)", response=S,
       media="text/html", extra=((503, "text/html", S, "The page is not built: the body says "
                                  "how to build it"),)),
    Op("GET", "/assets/{name}", "web", "A built script, style sheet or source map of the page",
       params=(P("name", required=True, where="path"),), response={},
       media=ASSET_MEDIA, extra=((404, "text/plain", S, "No such asset"),)),
    v1("POST", "auth/register", "Create an account with a login", bearer=False, status=201,
       body=obj(["email", "password"], email=S, password=S),
       response=obj(["account_id", "email", "created_at"], account_id=INT, email=S,
                    created_at=S)),
    v1("POST", "auth/login", "Log in: an access and a refresh token", bearer=False,
       body=obj(["email", "password"], email=S, password=S, totp=S), response=TOKENS),
    Op("GET", "/ws", "streams", "WebSocket: raw streams chosen by SUBSCRIBE messages",
       status=101, errors=NOT_UPGRADED),
    Op("GET", "/ws/{path}", "streams",
       "WebSocket: raw streams (or a listen key's user data) named in the path, '/'-separated",
       params=(P("path", required=True, where="path"),), status=101,
       errors=NOT_UPGRADED + (404,)),   # 404: a line break in the path matches no route
    Op("GET", "/stream", "streams",
       "WebSocket: combined streams, each message wrapped as {stream, data}",
       params=(P("streams", description="stream names separated by '/'"),), status=101,
       errors=NOT_UPGRADED),
    Op("POST", "/api/v3/userDataStream", "binance", "Start (or extend) the account's user "
       "data stream: X-MBX-APIKEY only, no signature; connect to /ws/<listenKey>",
       "binance", response=obj(["listenKey"], listenKey=S)),
    Op("PUT", "/api/v3/userDataStream", "binance",
       "Keep a listen key valid for 60 more minutes", "binance",
       (P("listenKey", required=True),), form=True),
    Op("DELETE", "/api/v3/userDataStream", "binance",
       "Close a listen key and its sockets", "binance", (P("listenKey", required=True),),
       form=True),
    Op("GET", "/ws-api/v3", "streams", "WebSocket API: ping, time, session.logon/status/logout, "
       "userDataStream.subscribe[.signature], userDataStream.unsubscribe, "
       "session.subscriptions; events as {subscriptionId, event}", status=101,
       errors=NOT_UPGRADED),
    v1("POST", "auth/refresh", "Trade a refresh token for a new pair", bearer=False,
       body=obj(["refresh_token"], refresh_token=S), response=TOKENS),
    v1("POST", "auth/logout", "End this session", body=OBJ,
       response=obj(["logged_out"], logged_out=BOOL)),
    v1("POST", "auth/password", "Change the password; other sessions end",
       body=obj(["current_password", "new_password"], current_password=S, new_password=S),
       response=obj(["password_changed"], password_changed=BOOL, revoked_sessions=INT)),
    v1("POST", "auth/totp/enroll", "Start TOTP enrolment", body=OBJ,
       response=obj(["secret", "otpauth_uri"], secret=S, otpauth_uri=S, totp_enabled=BOOL)),
    v1("POST", "auth/totp/confirm", "Confirm TOTP with a code", body=obj(["totp"], totp=S),
       response=obj(["totp_enabled"], totp_enabled=BOOL)),
    v1("GET", "me", "The account", response=obj(
        ["account_id", "email"], account_id=INT, email=S, created_at=S, totp_enabled=BOOL,
        role={"enum": ["trader", "operator", "compliance"]},
        kyc_status={"enum": KYC_STATUSES}, email_verified=BOOL,
        email_preferences=obj(["fills", "alerts"], fills=BOOL, alerts=BOOL))),
    v1("POST", "auth/password-reset", "Mail a password reset link (the same 202 whether or "
       "not the email has an account; 503 MAIL_DISABLED without SMTP)", bearer=False,
       status=202, body=obj(["email"], email=S), response=obj(["requested"], requested=BOOL),
       extra=MAIL_DISABLED),
    v1("POST", "auth/password-reset/confirm", "Set a new password with a mailed reset token "
       "(once); every session of the account ends", bearer=False,
       body=obj(["token", "new_password"], token=S, new_password=S),
       response=obj(["password_reset"], password_reset=BOOL, revoked_sessions=INT)),
    v1("POST", "auth/verify-email", "Verify the email address with a mailed token (once)",
       bearer=False, body=obj(["token"], token=S),
       response=obj(["email_verified"], email_verified=BOOL)),
    v1("POST", "auth/verify-email/resend", "Mail a new verification token", body=OBJ,
       status=202, response=obj(["requested"], requested=BOOL), extra=MAIL_DISABLED),
    v1("GET", "me/email-preferences", "Opt-in mail on fills and price alerts",
       response=EMAIL_PREFERENCES),
    v1("PUT", "me/email-preferences", "Opt in or out of mail on fills and price alerts",
       body=obj([], fills=BOOL, alerts=BOOL), response=EMAIL_PREFERENCES),
    v1("GET", "balances", "Free and locked per asset",
       response=obj(["account_id", "balances"], account_id=INT, balances=arr(BALANCE))),
    v1("POST", "api-keys", "Create an API key (the secret is shown once)", status=201,
       body=obj(["name", "permissions"], name=S,
                permissions=arr({"enum": ["read", "trade", "withdraw"]})),
       response={**API_KEY, "properties": {**API_KEY["properties"], "secret": S}}),
    v1("GET", "api-keys", "Active API keys, no secrets",
       response=obj(["api_keys"], api_keys=arr(API_KEY))),
    v1("DELETE", "api-keys/{api_key}", "Revoke an API key",
       params=(P("api_key", required=True, where="path"),), response=API_KEY),
    v1("GET", "orders", "The account's orders, newest first",
       params=PAGE + (P("status", description="comma-separated: NEW, PARTIALLY_FILLED, "
                        "FILLED, CANCELED, REJECTED, EXPIRED, EXPIRED_IN_MATCH"),),
       response=obj(["orders", "next_before"], orders=arr(ORDER), next_before=NEXT)),
    v1("GET", "trades", "The account's trades with side, role and fee, newest first",
       params=PAGE, response=obj(["trades", "next_before"], trades=arr(TRADE),
                                 next_before=NEXT)),
    v1("GET", "portfolio", "Balances, positions at the last price, average cost, P&L",
       response=obj(["balances", "positions", "totals"], account_id=INT, cost_method=S,
                    balances=arr(BALANCE), positions=arr(POSITION), totals=arr(OBJ))),
    v1("GET", "ws", "WebSocket: the account's user data events (executionReport, "
       "outboundAccountPosition, balanceUpdate) and notifications; the access token in "
       "?token= or the header",
       params=(P("token", description="the access token (browsers cannot set headers)"),
               P("cancel_on_disconnect", {"enum": ["true", "false"]},
                 description="cancel every open order of the account when the socket goes")),
       status=101),
    v1("GET", "risk", "My pre-trade limits, their usage, holds and exposure per symbol",
       response=obj(["account_id", "kill_switch", "limits", "usage"], account_id=INT,
                    kill_switch=BOOL, limits=RISK_LIMITS, own_limits=OBJ,
                    venue_defaults=RISK_LIMITS, usage=OBJ, holds=OBJ, symbols=OBJ,
                    halt_s=INT)),
    v1("GET", "risk/alerts", "My risk alerts (limit breaches, kill switch, volatility halts)",
       params=RISK_PAGE, response=RISK_ALERTS),
    v1("GET", "admin/risk/alerts", "Every account's risk alerts (operators, compliance)",
       params=RISK_PAGE + (P("account_id", ID0),), response=RISK_ALERTS),
    v1("PUT", "admin/accounts/{account_id}/risk-limits",
       "Set an account's own limits; null = the venue default, 0 = unlimited (operators)",
       params=ACCOUNT_ID, body=obj(**{k: {"type": ["integer", "null"], "minimum": 0}
                                      for k in RISK_LIMITS["properties"]})),
    v1("POST", "admin/accounts/{account_id}/kill-switch",
       "Activate (cancel all, refuse new orders) or lift an account's kill switch (operators)",
       params=ACCOUNT_ID, body=obj(["active"], active=BOOL),
       response=obj(["account_id", "kill_switch"], account_id=INT, kill_switch=BOOL,
                    canceled_order_ids=arr(INT))),
    v1("POST", "admin/api-keys/{api_key}/kill-switch",
       "Activate (cancel the key's orders, refuse its new ones) or lift an API key's kill "
       "switch (operators)", params=API_KEY_PATH, body=obj(["active"], active=BOOL),
       response=KEY_SWITCH),
    v1("POST", "api-keys/{api_key}/kill-switch",
       "Activate or lift the kill switch of one of your own API keys",
       params=API_KEY_PATH, body=obj(["active"], active=BOOL), response=KEY_SWITCH),
    v1("POST", "admin/instruments/{symbol}/status",
       "Set a symbol's status: TRADING, HALT or CANCEL_ONLY (operators)",
       params=(P("symbol", required=True, where="path"),),
       body=obj(["status"], status={"enum": ["TRADING", "HALT", "CANCEL_ONLY"]}),
       response=obj(["symbol", "status"], symbol=S, status=S)),
    v1("POST", "admin/instruments", "List a new symbol at run time (operators)",
       body=obj(["symbol", "base", "quote", "tick_size", "step_size"], symbol=S, base=S,
                quote=S, tick_size=S, step_size=S, base_decimals=INT, quote_decimals=INT,
                min_qty=S, max_qty=S, min_notional=S, reference_price=NULLABLE_S,
                maker_fee=S, taker_fee=S, price_band_bps=INT),
       response=INSTRUMENT, status=201),
    v1("PATCH", "admin/instruments/{symbol}",
       "Change a symbol's grid, limits, band or fees; off-grid open orders refuse it unless "
       "cancel_off_grid (operators)",
       params=(P("symbol", required=True, where="path"),),
       body=obj(tick_size=S, step_size=S, min_qty=S, max_qty=S, min_notional=S,
                reference_price=S, maker_fee=S, taker_fee=S, price_band_bps=INT,
                cancel_off_grid=BOOL),
       response=INSTRUMENT_CHANGE),
    v1("POST", "admin/instruments/{symbol}/delist",
       "Delist a symbol: cancel every order and stop; it never trades again (operators)",
       params=(P("symbol", required=True, where="path"),), response=INSTRUMENT_CHANGE),
    v1("PUT", "admin/accounts/{account_id}/kyc",
       "Set an account's KYC status: NONE, PENDING, VERIFIED or REJECTED (operators)",
       params=ACCOUNT_ID, body=obj(["status"], status={"enum": KYC_STATUSES},
                                   note=NULLABLE_S), response=KYC_STATE),
    v1("POST", "kyc/submit", "Submit my account for KYC: NONE or REJECTED becomes PENDING",
       response=KYC_STATE),
    v1("GET", "admin/surveillance/alerts",
       "Surveillance alerts with their evidence, newest first (compliance, operators)",
       params=(P("kind", description="comma-separated: WASH_TRADE, SPOOFING, LAYERING, "
                 "UNUSUAL_VOLUME, UNUSUAL_PRICE"),
               P("status", description="comma-separated: OPEN, REVIEWED, DISMISSED"),
               P("symbol"), P("account_id", ID)) + RISK_PAGE[:1]
              + (P("before", ID, description="the next_before of the previous page"),),
       response=obj(["alerts", "next_before"], alerts=arr(SURVEILLANCE_ALERT),
                    next_before=NEXT)),
    v1("POST", "admin/surveillance/alerts/{alert_id}/review",
       "Mark an alert REVIEWED, DISMISSED or OPEN, with a note (compliance, operators)",
       params=(P("alert_id", ID, required=True, where="path"),),
       body=obj(["status"], status={"enum": ["OPEN", "REVIEWED", "DISMISSED"]}, note=S),
       response=SURVEILLANCE_ALERT),
    v1("GET", "admin/audit/journal",
       "Journal rows in seq order with their chain hashes (compliance, operators)",
       params=(P("from_seq", ID, description="inclusive, default 1"),
               P("to_seq", ID, description="inclusive"), P("kind"), RISK_PAGE[0]),
       response=obj(["rows", "next_from_seq"], rows=arr(obj(
           ["seq", "time", "kind", "command", "rejected", "hash"], seq=INT, time=S, kind=S,
           command=OBJ, rejected={"type": ["string", "null"]}, hash=S)),
           next_from_seq={"type": ["integer", "null"]})),
    v1("GET", "admin/audit/actions",
       "The admin actions' hash chain in id order (compliance, operators)",
       params=(P("from_id", ID, description="inclusive, default 1"), P("actor", ID),
               P("action"), RISK_PAGE[0]),
       response=obj(["actions", "next_from_id"], actions=arr(ADMIN_ACTION),
                    next_from_id={"type": ["integer", "null"]})),
    v1("GET", "admin/accounts/{account_id}/reports/trades",
       "An account's trade confirmations (compliance, operators)",
       params=ACCOUNT_ID + REPORT_RANGE + (P("symbol"), REPORT_FORMAT)),
    v1("GET", "admin/accounts/{account_id}/reports/statement",
       "An account's statement (compliance, operators)",
       params=ACCOUNT_ID + REPORT_RANGE + (P("asset"), REPORT_FORMAT)),
    v1("PUT", "admin/accounts/{account_id}/beneficial-owner",
       "Mark an account's beneficial owner; null = itself (operators)", params=ACCOUNT_ID,
       body=obj(["owner"], owner={"type": ["string", "null"]}),
       response=obj(["account_id", "beneficial_owner"], account_id=INT,
                    beneficial_owner={"type": ["string", "null"]})),
    Op("GET", DOC_PATH, "platform", "This document"),
    v1("GET", "notifications", "Notifications, newest first (order updates, price alerts, risk)",
       params=(P("unread", {"enum": ["true", "false"]}),
               P("limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}),
               P("before", ID, description="the next_before of the previous page")),
       response=obj(["notifications", "unread_count", "next_before"],
                    notifications=arr(NOTIFICATION), unread_count=INT, next_before=NEXT)),
    v1("POST", "notifications/read", "Mark notifications read: {ids: [...]} or {all: true}",
       body=obj([], ids=arr(INT), all=BOOL), response=obj(["marked"], marked=INT)),
    v1("GET", "alerts", "My price alerts", response=obj(["alerts"], alerts=arr(ALERT))),
    v1("POST", "alerts", "Create a price alert (above/below a price, one-shot or repeating)",
       status=201, body=obj(["symbol", "direction", "price"], symbol=S,
                            direction={"enum": ["above", "below"]}, price=DEC,
                            repeating=BOOL), response=ALERT),
    v1("DELETE", "alerts/{alert_id}", "End a price alert",
       params=(P("alert_id", ID, required=True, where="path"),),
       response=obj(["alert_id", "active"], alert_id=INT, active=BOOL)),
    v1("GET", "reports/trades", "Trade confirmations over a time range (JSON or CSV)",
       params=REPORT_RANGE + (P("symbol"), REPORT_FORMAT)),
    v1("GET", "reports/tax", "Realised gains and losses of a year, FIFO lots (JSON or CSV)",
       params=(P("year", YEAR, required=True), REPORT_FORMAT)),
    v1("GET", "reports/statement", "Opening balance, movements and closing balance per asset",
       params=REPORT_RANGE + (P("asset"), REPORT_FORMAT)),
    v1("GET", "analytics/me", "Trades, volume, fees, realised (FIFO) and unrealised P&L, win rate",
       params=REPORT_RANGE + (P("symbol"),)),
    v1("GET", "analytics/markets", "Volume, VWAP, change, volatility per market; top movers",
       params=(P("window", {"enum": ["1h", "24h", "7d", "30d"]}),)),
    v1("POST", "funding/deposits", "Credit an account (operators)", status=201,
       body=obj(["account_id", "asset", "amount"], account_id=INT, asset=S, amount=DEC, ref=S),
       response=DEPOSIT),
    v1("GET", "funding/deposits", "The account's deposits, newest first", params=FUNDING_PAGE,
       response=DEPOSITS),
    v1("POST", "funding/faucet", "Credit yourself (sandbox venues with the faucet on)",
       status=201, body=obj(["asset", "amount"], asset=S, amount=DEC), response=DEPOSIT),
    v1("POST", "funding/withdrawals", "Request a withdrawal: the amount is held until an "
       "operator resolves it", status=201,
       body=obj(["asset", "amount"], asset=S, amount=DEC, destination=S), response=WITHDRAWAL),
    v1("GET", "funding/withdrawals", "The account's withdrawals, newest first",
       params=FUNDING_PAGE + (W_STATUS,), response=WITHDRAWALS),
    v1("GET", "admin/withdrawals", "Every account's withdrawals (operators)",
       params=FUNDING_PAGE + (W_STATUS, P("account_id", ID0)), response=WITHDRAWALS),
    v1("POST", "admin/withdrawals/{withdrawal_id}/approve",
       "Approve a pending withdrawal: it is paid out (operators)", params=W_ID,
       body=obj(note=S), response=WITHDRAWAL),
    v1("POST", "admin/withdrawals/{withdrawal_id}/reject",
       "Reject a pending withdrawal: its amount is released (operators)", params=W_ID,
       body=obj(note=S), response=WITHDRAWAL),
]

_ERRORS = {"binance": ("BinanceError", (400, 401, 404, 429)),
           "platform": ("PlatformError", (400, 401, 403, 404, 409, 423, 429, 503)),
           "operations": (None, ()),
           "streams": ("BinanceError", ()),
           "web": (None, ())}


def _operation(op: Op) -> dict:
    out = {"operationId": f"{op.method.lower()}_{op.path.strip('/').replace('/', '_')}"
                          .replace("{", "").replace("}", "").replace("-", "_")
                          .replace(".", "_"),
           "tags": [op.tag], "summary": op.summary}
    if op.params:
        out["parameters"] = [{"name": p.name, "in": p.where,
                              "required": p.required or p.where == "path",
                              "schema": p.schema,
                              **({"description": p.description} if p.description else {})}
                             for p in op.params]
    if op.body is not None:
        out["requestBody"] = {"required": bool(op.body.get("required")), "content": {
            "application/json": {"schema": {**op.body, "additionalProperties": False}}}}
    elif op.form:
        out["requestBody"] = {"required": False, "content": {
            "application/x-www-form-urlencoded": {"schema": obj(
                **{p.name: p.schema for p in op.params})}}}
    out["security"] = ([{"apiKey": []}] if op.security == "binance"
                       else [{"bearer": []}] if op.security == "bearer" else [])
    media = op.media if isinstance(op.media, tuple) else (op.media,)
    content = {m: {"schema": op.response} for m in media}
    if op.csv:
        content["text/csv"] = {"schema": S}
    responses = {str(op.status): {"description": "OK", "content": content}}
    for status, media, schema, description in op.extra:
        responses[str(status)] = {"description": description,
                                  "content": {media: {"schema": schema}}}
    name, statuses = _ERRORS[op.tag]
    if op.errors is not None:
        statuses = op.errors
    for status in statuses:
        responses[str(status)] = {"description": "Refused", "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}
    out["responses"] = responses
    return out


def document() -> dict:
    """The OpenAPI 3.1 document of ``OPERATIONS``."""
    paths = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {"title": "exchange", "version": "0.1.0",
                 "description": "The Binance spot dialect (/api/v3) and the platform API "
                                "(/api/v1). Amounts are decimal strings, never floats."},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-MBX-APIKEY",
                           "description": "The API key; signed requests also carry "
                                          "timestamp (ms), optional recvWindow and signature: "
                                          "hex HMAC-SHA256, keyed with the API secret, of the "
                                          "query string followed by the body."},
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                           "description": "An access token from /api/v1/auth/login."}},
            "schemas": {
                "BinanceError": obj(["code", "msg"], code=INT, msg=S),
                "PlatformError": obj(["code", "message"], code=S, message=S)}},
    }


async def serve(request: web.Request) -> web.Response:
    """This API's OpenAPI 3.1 document."""
    if request.query:
        raise errors.unknown_parameter(next(iter(request.query)))
    return web.Response(body=request.app[OPENAPI_DOCUMENT], content_type="application/json")


def setup(app: web.Application) -> None:
    """Serve the document at ``DOC_PATH`` (built once)."""
    app[OPENAPI_DOCUMENT] = orjson.dumps(document())
    app.router.add_get(DOC_PATH, serve)
