"""Every route with a variable in its path refuses a malformed value with a 4xx, never a 5xx.

The routes come from the application's router, so a route added later is
covered without touching this file. The caller is a logged-in operator and
each request carries the smallest body the OpenAPI document allows, so the
handlers get as far as parsing the path. A path variable the document types
as an integer (an id) must be refused with exactly 400 INVALID_PARAMETER by
the one strict parser (``exchange.parse``): ASCII digits only, in range. A
well-formed id that names nothing is a 404, which shows the parser accepts
what it should.
"""

import re
from urllib.parse import quote

import pytest

from exchange.keys import POOL
from exchange.openapi import document
from exchange.platform.roles import set_role
from exchange.server import create_app
from exchange.settings import Settings

BAD_IDS = ["²", "⑦", "١٢٣", "１２", "-1", " 1", "1 ", "1\n", "+1", "1_0", "0x1f", "1e3",
           "99999999999999999999999", "9223372036854775808", "0", ""]
_VAR = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


def _routes() -> list[tuple[str, str, list]]:
    """(method, canonical path, variable names) of every router route with a variable."""
    app = create_app(Settings(database_url="postgresql://unused", data_dir="/nonexistent"))
    out = set()
    for route in app.router.routes():
        path = route.resource.canonical
        if route.method != "HEAD" and "{" in path:
            out.add((route.method, path, tuple(_VAR.findall(path))))
    return sorted(out)


ROUTES = _routes()
DOC = document()


def _operation(method: str, path: str) -> dict:
    return DOC["paths"][path][method.lower()]


def _minimal(schema: dict):
    """The smallest value ``schema`` (as this document writes schemas) accepts."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: _minimal(props[name]) for name in schema.get("required", [])}
    return {"string": "x", "integer": 1, "boolean": False, "array": []}[kind]


def _body(method: str, path: str):
    body = _operation(method, path).get("requestBody")
    if body is None or "application/json" not in body["content"]:
        return None
    return _minimal(body["content"]["application/json"]["schema"])


def _is_id(method: str, path: str, name: str) -> bool:
    params = _operation(method, path).get("parameters", [])
    return any(p["name"] == name and p["in"] == "path" and p["schema"].get("type") == "integer"
               for p in params)


def test_the_routes_with_path_ids_include_the_audited_ones():
    paths = {(m, p) for m, p, _ in ROUTES}
    assert ("DELETE", "/api/v1/alerts/{alert_id}") in paths
    assert ("PUT", "/api/v1/admin/accounts/{account_id}/kyc") in paths
    assert ("POST", "/api/v1/admin/surveillance/alerts/{alert_id}/review") in paths
    assert sum(1 for m, p, names in ROUTES for n in names if _is_id(m, p, n)) >= 8


@pytest.fixture
async def operator(app, user):
    await set_role(app[POOL], user.email, "operator")
    return user


async def test_a_malformed_path_value_is_a_4xx_and_a_malformed_id_is_400(operator):
    """Every route x every bad value, on one server (a server per route costs a minute)."""
    wrong = []
    for method, path, names in ROUTES:
        body = _body(method, path)
        ids = all(_is_id(method, path, n) for n in names)
        for value in BAD_IDS:
            sent = _VAR.sub(lambda m: quote(value, safe=""), path)
            status, reply = await _request(operator, method, sent, body)
            if not 400 <= status < 500:
                wrong.append((method, path, value, status, reply))
            elif value and ids and (status, (reply or {}).get("code")) != (400,
                                                                           "INVALID_PARAMETER"):
                wrong.append((method, path, value, status, reply))
        if ids:   # the control: a well-formed id that names nothing
            status, reply = await _request(operator, method, _VAR.sub("987654321", path), body)
            if status != 404:
                wrong.append((method, path, "987654321", status, reply))
    assert not wrong, "\n".join(map(repr, wrong))


async def _request(client, method, path, body):
    """Send ``body`` (None: no body) as the client; the reply parsed only when it is JSON."""
    hdrs = {"Authorization": f"Bearer {client.token}"}
    kw = {} if body is None else {"json": body}
    resp = await client.client.request(method, path, headers=hdrs, **kw)
    text = await resp.read()
    reply = None
    if resp.content_type == "application/json" and text:
        reply = await resp.json()
    return resp.status, reply


async def test_the_role_command_reads_an_account_id_by_the_same_rule(app, user):
    from exchange.platform.roles import RoleError
    for who in ("²", "١", "-1", "1_0", "99999999999999999999999"):
        with pytest.raises(RoleError):
            await set_role(app[POOL], who, "operator")
    assert await set_role(app[POOL], str(user.account_id), "operator") == (user.account_id,
                                                                           "trader")
