"""Schemathesis over every operation of the OpenAPI document, against the real server.

The server (``exchange.server.create_app`` on a real socket and PostgreSQL) starts
once for the module. Every operation is fuzzed twice: without credentials, and
with the bearer token of a real account that registered and logged in (made an
operator, so the admin routes get past the role check). The Binance-key
operations (``/api/v3``) are fuzzed a third time as the funded demo account: a
requests auth hook sets ``X-MBX-APIKEY`` and, on the signed ones, sets
``timestamp`` to now and appends ``signature``, the hex HMAC-SHA256 of the
query string followed by the body exactly as sent.

Each response must pass schemathesis's ``not_a_server_error``,
``status_code_conformance``, ``content_type_conformance`` and
``response_schema_conformance``: no 5xx, and the status, media type and body
the document gives. The signed run also asserts that no signature was refused
(-1022), the bearer run that the token was never refused: else they would
test only the refusal.

Bounded and repeatable: examples and fuzzing phases, ``*_EXAMPLES`` cases per
operation and run (the environment variable ``EXCHANGE_FUZZ_EXAMPLES``
overrides all three for a deeper run by hand), derandomized with a fixed seed,
no example database; schemathesis's coverage phase (hundreds of cases per
operation) runs only on the signed order routes, where it is worth its time.

The venue has mail on (a local aiosmtpd server that keeps nothing), so the
routes that send mail answer as they do in production rather than 503
MAIL_DISABLED (documented, and tested in ``test_platform_mail.py``). One 5xx
remains by design and documented: ``GET /`` answers 503 (saying how to build it)
while the trading page is not built, as in a checkout where npm never ran; for
that operation alone the test asserts exactly that instead of
``not_a_server_error``.
"""

import hashlib
import hmac
import os
import socket
import time
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from aiosmtpd.controller import Controller
from hypothesis import HealthCheck, seed, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               response_schema_conformance,
                                               status_code_conformance)

from exchange.keys import POOL
from exchange.openapi import OPERATIONS, document
from exchange.platform.roles import set_role
from exchange.server import DEMO_CREDENTIALS
from exchange.web.build import INDEX

from tests.helpers.live_server import Database, LiveServer

_OVERRIDE = os.environ.get("EXCHANGE_FUZZ_EXAMPLES")
PUBLIC_EXAMPLES = int(_OVERRIDE or 4)
BEARER_EXAMPLES = int(_OVERRIDE or 8)
SIGNED_EXAMPLES = int(_OVERRIDE or 15)
SEED = 20261201
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
FAST = {"weight_limit_1m": 1_000_000, "argon2_time_cost": 1, "argon2_memory_kib": 1024,
        "auth_ip_limit_1m": 1_000_000}
EMAIL, PASSWORD = "fuzz@example.com", "correct horse battery"
# Operations that would end the bearer session the run uses for the rest of its examples.
ENDS_SESSION = {("POST", "/api/v1/auth/logout"), ("POST", "/api/v1/auth/password")}
TOKEN_REFUSALS = {"UNAUTHENTICATED", "TOKEN_INVALID", "TOKEN_EXPIRED", "TOKEN_REVOKED"}
SIGNED = {(op.method, op.path) for op in OPERATIONS
          if any(p.name == "signature" for p in op.params)}
BEARER = {(op.method, op.path) for op in OPERATIONS if op.security == "bearer"}
BINANCE_KEY_IDS = [o["operationId"] for ops in document()["paths"].values()
                   for o in ops.values() if o["security"] == [{"apiKey": []}]]


def _schema(coverage: bool, operation_ids: list | None = None):
    out = schemathesis.openapi.from_dict(document())
    if operation_ids is not None:
        out = out.include(operation_id=operation_ids)
    out.config.phases.coverage.enabled = coverage
    out.config.phases.coverage.generation.modes = [GenerationMode.POSITIVE]
    return out


public_schema = _schema(coverage=False)
bearer_schema = _schema(coverage=False)
signed_schema = _schema(coverage=True, operation_ids=BINANCE_KEY_IDS)


class Venue:
    """The live server with its logged-in operator and the demo account's API key."""

    def __init__(self, server: LiveServer):
        self.server, self.url = server, server.url
        r = requests.post(self.url + "/api/v1/auth/register",
                          json={"email": EMAIL, "password": PASSWORD})
        assert r.status_code == 201, r.text
        server.run(set_role(server.app[POOL], EMAIL, "operator"))
        self.token = self.login()
        r = requests.post(self.url + "/api/v1/auth/verify-email/resend", json={},
                          headers={"Authorization": f"Bearer {self.token}"})
        assert r.status_code == 202, r.text     # mail is on
        demo = server.app[DEMO_CREDENTIALS]
        self.api_key, self.api_secret = demo["api_key"], demo["api_secret"]

    def login(self) -> str:
        r = requests.post(self.url + "/api/v1/auth/login",
                          json={"email": EMAIL, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return r.json()["access_token"]


class Discard:
    """An aiosmtpd handler that accepts every message and keeps none."""

    async def handle_DATA(self, server, session, envelope):
        return "250 Message accepted"


@pytest.fixture(scope="module")
def venue(admin_dsn, migrated_template, tmp_path_factory):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    smtp = Controller(Discard(), hostname="127.0.0.1", port=port)
    smtp.start()
    database = Database(admin_dsn, migrated_template)
    try:
        server = LiveServer(database.dsn, str(tmp_path_factory.mktemp("schemathesis")), **FAST,
                            smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")
        try:
            yield Venue(server)
        finally:
            server.stop()
    finally:
        database.drop()
        smtp.stop()


class Signer(requests.auth.AuthBase):
    """The Binance dialect's request signing, on the request as it will be sent:
    ``X-MBX-APIKEY``, and (``sign``) ``signature`` = hex HMAC-SHA256 of the query
    string followed by the body."""

    def __init__(self, api_key: str, secret: str, sign: bool):
        self.api_key, self.secret, self.sign = api_key, secret, sign

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["X-MBX-APIKEY"] = self.api_key
        if self.sign:
            query = urlsplit(r.url).query
            body = r.body or b""
            payload = query.encode() + (body.encode() if isinstance(body, str) else body)
            signature = hmac.new(self.secret.encode(), payload, hashlib.sha256).hexdigest()
            r.url += ("&" if query else "?") + "signature=" + signature
        return r


def _bounded(max_examples: int):
    def wrap(test):
        return seed(SEED)(settings(max_examples=max_examples, derandomize=True, database=None,
                                   deadline=None, suppress_health_check=list(HealthCheck))(test))
    return wrap


def call_and_validate(case, venue, **kwargs):
    """Send ``case`` to the live server, run CHECKS on the response and return it."""
    if case.method.upper() == "GET" and case.path == "/" and not INDEX.is_file():
        response = case.call_and_validate(base_url=venue.url, checks=CHECKS[1:], **kwargs)
        assert response.status_code == 503 and b"not built" in response.content
        return response
    return case.call_and_validate(base_url=venue.url, checks=CHECKS, **kwargs)


def _code(response):
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


@public_schema.parametrize()
@_bounded(PUBLIC_EXAMPLES)
def test_every_operation_without_credentials(case, venue):
    call_and_validate(case, venue)


@bearer_schema.parametrize()
@_bounded(BEARER_EXAMPLES)
def test_every_operation_with_a_logged_in_bearer(case, venue):
    key = (case.method.upper(), case.path)
    token = venue.login() if key in ENDS_SESSION else venue.token
    response = call_and_validate(case, venue, headers={"Authorization": f"Bearer {token}"})
    # Negative cases may drop the header (schemathesis's own), or send /api/v1/ws's
    # ?token=, which is read instead of the header.
    sent = response.request.headers.get("Authorization") == f"Bearer {token}"
    if key in BEARER and key not in ENDS_SESSION and sent and "token" not in (case.query or {}):
        assert _code(response) not in TOKEN_REFUSALS, response.text


@signed_schema.parametrize()
@_bounded(SIGNED_EXAMPLES)
def test_every_binance_key_operation_signed(case, venue):
    sign = (case.method.upper(), case.path) in SIGNED
    if sign:
        for where in (case.query, case.body):
            if isinstance(where, dict):
                where.pop("signature", None)
                where.pop("timestamp", None)
        case.query = {**(case.query if isinstance(case.query, dict) else {}),
                      "timestamp": str(int(time.time() * 1000))}
    response = call_and_validate(case, venue, auth=Signer(venue.api_key, venue.api_secret, sign))
    assert _code(response) not in (-2014, -2015, -1022), response.text
