"""Every malformed request to the platform API gets a 4xx with a machine code and changes nothing."""

import orjson
import pytest

from exchange.keys import POOL, VENUE

PASSWORD = "correct horse battery"   # the password the conftest's Client registers with
JSON = {"Content-Type": "application/json"}

# route -> (method, path, needs a login, a valid body)
ROUTES = {
    "register": ("POST", "/api/v1/auth/register", False,
                 {"email": "new@example.com", "password": PASSWORD}),
    "login": ("POST", "/api/v1/auth/login", False,
              {"email": "ada@example.com", "password": PASSWORD}),
    "refresh": ("POST", "/api/v1/auth/refresh", False, {"refresh_token": "x" * 43}),
    "logout": ("POST", "/api/v1/auth/logout", True, {}),
    "password": ("POST", "/api/v1/auth/password", True,
                 {"current_password": PASSWORD, "new_password": "another long password"}),
    "enroll": ("POST", "/api/v1/auth/totp/enroll", True, {}),
    "confirm": ("POST", "/api/v1/auth/totp/confirm", True, {"totp": "123456"}),
    "create key": ("POST", "/api/v1/api-keys", True, {"name": "bot", "permissions": ["read"]}),
}

# field -> (values of the wrong type or shape, the code they get)
WRONG = [1, 1.5, True, [], {}, ["x"], {"a": 1}]
FIELDS = {
    "email": [(v, "INVALID_FIELD") for v in WRONG] + [
        (None, "MISSING_FIELD"), ("", "INVALID_FIELD"), ("x" * 300, "INVALID_FIELD"),
        ("ada\x00@example.com", "INVALID_FIELD")],
    "password": [(v, "INVALID_FIELD") for v in WRONG] + [
        (None, "MISSING_FIELD"), ("", "INVALID_FIELD"), ("p" * 2000, "INVALID_FIELD")],
    "refresh_token": [(v, "INVALID_FIELD") for v in WRONG] + [
        (None, "MISSING_FIELD"), ("", "INVALID_FIELD"), ("r" * 1000, "INVALID_FIELD")],
    "current_password": [(v, "INVALID_FIELD") for v in WRONG] + [(None, "MISSING_FIELD")],
    "new_password": [(v, "INVALID_FIELD") for v in WRONG] + [
        (None, "MISSING_FIELD"), ("short", "WEAK_PASSWORD"), (PASSWORD, "INVALID_FIELD")],
    "totp": [(v, "INVALID_FIELD") for v in WRONG] + [
        ("12345", "INVALID_FIELD"), ("1234567", "INVALID_FIELD"), ("abcdef", "INVALID_FIELD"),
        ("１２３４５６", "INVALID_FIELD"), ("12345\n", "INVALID_FIELD")],
    "name": [(v, "INVALID_FIELD") for v in WRONG] + [
        (None, "MISSING_FIELD"), ("", "INVALID_FIELD"), ("n" * 65, "INVALID_FIELD"),
        ("a\nb", "INVALID_FIELD")],
    "permissions": [(v, "INVALID_FIELD") for v in (1, True, "read", {}, [], [1], [None],
                                                   ["admin"], ["read", "read"], ["READ"])]
    + [(None, "MISSING_FIELD")],
}

CASES = []
for route, (method, path, auth, valid) in ROUTES.items():
    CASES += [
        (route, "not json", b"{", JSON, 400, "MALFORMED_JSON"),
        (route, "NaN", b'{"x": NaN}', JSON, 400, "MALFORMED_JSON"),
        (route, "lone surrogate", b'{"email": "\\ud800"}', JSON, 400, "MALFORMED_JSON"),
        (route, "not utf-8", b'{"email": "\xff"}', JSON, 400, "MALFORMED_JSON"),
        (route, "too deep", b"[" * 5000, JSON, 400, "MALFORMED_JSON"),
        (route, "a list", b"[]", JSON, 400, "INVALID_BODY"),
        (route, "a string", b'"x"', JSON, 400, "INVALID_BODY"),
        (route, "null", b"null", JSON, 400, "INVALID_BODY"),
        (route, "unknown field", orjson.dumps({**valid, "admin": True}), JSON, 400,
         "UNKNOWN_FIELD"),
        (route, "form body", b"email=a&password=b", {"Content-Type":
                                                     "application/x-www-form-urlencoded"},
         415, "UNSUPPORTED_MEDIA_TYPE"),
        (route, "over 16 KiB", orjson.dumps({"email": "x" * 20_000}), JSON, 413,
         "BODY_TOO_LARGE"),
        (route, "over max_body_bytes", b" " * 70_000, JSON, 413, "BODY_TOO_LARGE"),
    ]
    for field in valid:
        for value, code in FIELDS[field]:
            body = dict(valid)
            if value is None:
                del body[field]
            else:
                body[field] = value
            CASES.append((route, f"{field}={value!r:.20}", orjson.dumps(body), JSON, 400, code))
for email in ("ada", "ada@", "@example.com", "ada@example", "a da@example.com",
              "ada@exa mple.com", "ada@@example.com", "ada@example..com", "ada@-example.com"):
    CASES.append(("register", f"email {email}", orjson.dumps({"email": email,
                                                              "password": PASSWORD}),
                  JSON, 400, "INVALID_EMAIL"))
CASES.append(("register", "short password", orjson.dumps({"email": "new@example.com",
                                                          "password": "123456789"}),
              JSON, 400, "WEAK_PASSWORD"))


async def state(app):
    """Everything a request could change: the auth tables and the venue."""
    pool = app[POOL]
    tables = {}
    for table, order in (("accounts", "account_id"), ("users", "account_id"),
                         ("sessions", "session_id"), ("refresh_tokens", "token_hash"),
                         ("revoked_tokens", "jti"), ("api_keys", "api_key")):
        tables[table] = [tuple(r) for r in await pool.fetch(f"SELECT * FROM {table} ORDER BY {order}")]
    seq = app[VENUE].sequencer
    return tables, seq.seq, sorted((b.account, b.asset, b.free, b.locked)
                                   for b in seq.ledger.balances() if b.free or b.locked)


@pytest.fixture
async def logged_in(app, user):
    """A registered, logged-in user (ada) and the state before the malformed requests."""
    return user


async def test_every_malformed_request_is_a_4xx_with_a_code_and_changes_nothing(app, logged_in):
    user = logged_in
    before = await state(app)
    failures = []
    for route, case, raw, headers, status, code in CASES:
        method, path, auth, _ = ROUTES[route]
        got_status, body, _ = await user.call(method, path, raw=raw, headers=headers,
                                              token=None if auth else "")
        if (got_status, body and body.get("code")) != (status, code) or not isinstance(
                body.get("message"), str):
            failures.append((route, case, got_status, body))
    assert not failures, f"{len(failures)} of {len(CASES)}: {failures[:10]}"
    assert await state(app) == before
    assert len(CASES) > 200


@pytest.mark.parametrize("method, path, status, code", [
    ("GET", "/api/v1/nothing", 404, "NOT_FOUND"),
    ("GET", "/api/v1/auth/login", 405, "METHOD_NOT_ALLOWED"),
    ("PUT", "/api/v1/api-keys", 405, "METHOD_NOT_ALLOWED"),
    ("GET", "/api/v1/me?x=1", 400, "UNKNOWN_PARAMETER"),
    ("GET", "/api/v1/balances?asset=USD", 400, "UNKNOWN_PARAMETER"),
    ("GET", "/api/v1/api-keys?limit=1", 400, "UNKNOWN_PARAMETER"),
    ("POST", "/api/v1/auth/logout?all=1", 400, "UNKNOWN_PARAMETER"),
    ("DELETE", "/api/v1/api-keys/" + "k" * 200, 404, "API_KEY_NOT_FOUND"),
    ("DELETE", "/api/v1/api-keys/%00", 404, "API_KEY_NOT_FOUND"),
    ("DELETE", "/api/v1/api-keys/..%2F..", 404, "API_KEY_NOT_FOUND"),
])
async def test_unknown_routes_methods_and_parameters(app, logged_in, method, path, status, code):
    before = await state(app)
    got_status, body, _ = await logged_in.call(method, path)
    assert (got_status, body["code"]) == (status, code)
    assert isinstance(body["message"], str)
    assert await state(app) == before


async def test_an_empty_body_is_an_empty_object(logged_in):
    status, body, _ = await logged_in.call("POST", "/api/v1/auth/login", raw=b"", headers=JSON,
                                           token="")
    assert (status, body["code"]) == (400, "MISSING_FIELD")
    status, body, _ = await logged_in.call("POST", "/api/v1/auth/totp/enroll", raw=b"")
    assert status == 200


async def test_a_chunked_body_over_the_limit_is_refused(app, logged_in):
    async def chunks():
        for _ in range(40):
            yield b" " * 1024
    before = await state(app)
    resp = await logged_in.client.post("/api/v1/auth/login", data=chunks(), headers=JSON)
    assert resp.status == 413 and (await resp.json())["code"] == "BODY_TOO_LARGE"
    assert await state(app) == before


async def test_undecodable_bytes_in_the_authorization_header_are_refused(app, logged_in):
    import asyncio
    before = await state(app)
    host, port = logged_in.client.host, logged_in.client.port
    for token in (b"\xff\xfe.\xfd.\xfc", b"a\xffb.c.d", "é.é.é".encode()):
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     b"Authorization: Bearer " + token + b"\r\n\r\n")
        response = await reader.read()
        writer.close()
        head, _, payload = response.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 401"), response
        assert orjson.loads(payload)["code"] in ("TOKEN_INVALID", "UNAUTHENTICATED")
    assert await state(app) == before
