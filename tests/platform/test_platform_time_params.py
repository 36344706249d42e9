"""Every time and year parameter is range-checked at the edge: 400 with a code outside
its documented bounds, never a 5xx (``GET /api/v1/reports/tax?year=2565`` was a 500:
nanoseconds past int64).

The parameters come from the OpenAPI document (whose own test keeps it equal to
the router), so a time parameter added later is covered. Times are ms since the
epoch from ``parse.MIN_TIME_MS`` to ``parse.MAX_TIME_MS``, years from
``parse.MIN_YEAR`` to ``parse.MAX_YEAR``; the document states both bounds.
Binance-dialect parameters refuse with -1130 (out of range) or -1100
(malformed), platform ones with INVALID_PARAMETER. Signed routes are sent
signed by a real key, so the check is reached.
"""

import re
import time
from urllib.parse import quote, urlencode

import pytest

from exchange import parse
from exchange.api import sign
from exchange.keys import POOL
from exchange.openapi import document
from exchange.platform.roles import set_role

from tests.helpers.platform_clients import api_key

DOC = document()
TIME_NAME = re.compile(r"(Time|_time|timestamp|_ms|_at|year)$")
MS_BAD = ["-1", str(parse.MAX_TIME_MS + 1), str(2**63), "9" * 25, "²", "１２", "1.5", " 1", "1_0"]
YEAR_BAD = ["1969", str(parse.MAX_YEAR + 1), "2262", "2565", "9998", "9999", "10000", "-1",
            "²", "0"]


def _time_params() -> list:
    """(method, path, parameter name, is a year) for every time-like query parameter."""
    out = []
    for path, ops in DOC["paths"].items():
        for method, op in ops.items():
            for p in op.get("parameters", []):
                if p["in"] == "query" and TIME_NAME.search(p["name"]):
                    out.append((method.upper(), path, p["name"], p["name"] == "year"))
    return sorted(out)


PARAMS = _time_params()


def test_the_time_parameters_found_include_the_audited_ones():
    names = {(m, p, n) for m, p, n, _ in PARAMS}
    assert ("GET", "/api/v1/reports/tax", "year") in names
    assert ("GET", "/api/v3/klines", "startTime") in names
    assert ("POST", "/api/v3/order", "timestamp") in names
    assert ("GET", "/api/v1/trades", "end_time") in names
    assert ("GET", "/api/v1/admin/accounts/{account_id}/reports/statement", "start_time") in names


def test_the_document_states_the_bounds_of_every_time_parameter():
    for method, path, name, is_year in PARAMS:
        schema = next(p["schema"] for p in DOC["paths"][path][method.lower()]["parameters"]
                      if p["name"] == name)
        lo, hi = ((parse.MIN_YEAR, parse.MAX_YEAR) if is_year
                  else (parse.MIN_TIME_MS, parse.MAX_TIME_MS))
        assert (schema["type"], schema["minimum"], schema["maximum"]) == ("integer", lo, hi), \
            (method, path, name)


@pytest.fixture
async def caller(app, user):
    """A logged-in operator with a read+trade API key (``caller.key``)."""
    await set_role(app[POOL], user.email, "operator")
    user.key = await api_key(user)
    return user


def _filler(caller, param: dict):
    schema = param["schema"]
    known = {"symbol": "AAPL", "interval": "1m", "year": "2024",
             "account_id": str(caller.account_id), "cancelReplaceMode": "STOP_ON_FAILURE"}
    if param["name"] in known:
        return known[param["name"]]
    if "enum" in schema:
        return schema["enum"][0]
    return "1" if schema.get("type") == "integer" else "x"


async def _send(caller, method: str, path: str, name: str, value: str):
    op = DOC["paths"][path][method.lower()]
    values, url = {}, path
    for p in op.get("parameters", []):
        if p["in"] == "path":
            url = url.replace("{" + p["name"] + "}", _filler(caller, p))
        elif p["required"] and p["name"] not in ("timestamp", "signature"):
            values[p["name"]] = _filler(caller, p)
    values[name] = value
    signed = op["security"] == [{"apiKey": []}]
    if signed:
        values.setdefault("timestamp", str(int(time.time() * 1000)))
    query = urlencode(values, quote_via=quote)
    headers = {}
    if signed:
        query += "&signature=" + sign(caller.key["secret"], query)
        headers["X-MBX-APIKEY"] = caller.key["api_key"]
    return await caller.call(method, f"{url}?{query}", headers=headers)


async def test_every_time_outside_its_bounds_is_400_with_a_code_and_inside_is_not(caller):
    """One server for every parameter (a server per parameter would cost minutes)."""
    wrong = []
    for method, path, name, is_year in PARAMS:
        binance = path.startswith("/api/v3/")
        for value in YEAR_BAD if is_year else MS_BAD:
            status, body, _ = await _send(caller, method, path, name, value)
            code = body.get("code") if isinstance(body, dict) else None
            text = (body.get("msg") or body.get("message") or "") if isinstance(body, dict) else ""
            if status != 400 or name not in text or code not in (
                    (-1130, -1100) if binance else ("INVALID_PARAMETER",)):
                wrong.append((method, path, name, value, status, body))
        bounds = ((parse.MIN_YEAR, parse.MAX_YEAR) if is_year
                  else (parse.MIN_TIME_MS, parse.MAX_TIME_MS))
        for value in bounds:
            status, body, _ = await _send(caller, method, path, name, str(value))
            text = (body.get("msg") or body.get("message") or "") if isinstance(body, dict) else ""
            # timestamp at a bound is outside recvWindow (-1021), which names no parameter
            if status >= 500 or (status == 400 and f"'{name}'" in text):
                wrong.append((method, path, name, value, status, body))
    assert not wrong, "\n".join(map(repr, wrong))
