"""No log flooding and no credential in a log line: malformed requests, oversized headers
carrying a (fake) secret, a client leaving mid-body are at most one DEBUG/INFO line each,
with no traceback and no ERROR (the demo credentials, printed and never logged, are
tests/platform/test_platform_demo_login.py's). Real server, raw sockets, every logger
captured at DEBUG."""

import io
import logging

import pytest

from exchange.logs import JsonFormatter, TextFormatter, configure, redact

from tests.helpers.edge_sockets import connect, edge_server, request, until

SECRET = "s3cr3t" + "f" * 58    # shaped like an API secret; no test sends a real one


def rendered(records) -> str:
    """Every record as both formatters write it (tracebacks included)."""
    text, js = TextFormatter(), JsonFormatter()
    return "\n".join(f.format(r) for r in records for f in (text, js))


def assert_quiet(records, *secrets_):
    assert not [r for r in records if r.levelno >= logging.WARNING], [
        r.getMessage() for r in records if r.levelno >= logging.WARNING]
    assert not [r for r in records if r.exc_info or r.exc_text], "a traceback was logged"
    raw = "\n".join(r.getMessage() + repr(r.args) for r in records)
    for secret in secrets_:
        assert secret not in raw
        assert secret not in rendered(records)


async def test_malformed_requests_and_oversized_secret_headers_log_one_quiet_line(
        fresh_dsn, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    async with edge_server(fresh_dsn, tmp_path) as (app, site):
        caplog.clear()
        bad = [
            b"NOT-HTTP\r\n\r\n",
            b"GET /api/v3/ping HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + SECRET.encode() * 200 + b"\r\n\r\n",
            b"GET /api/v3/account HTTP/1.1\r\nHost: x\r\nX-MBX-APIKEY: "
            + SECRET.encode() * 200 + b"\r\n\r\n",
            b"GET /api/v3/ping?" + b"signature=" + SECRET.encode() * 200 + b" HTTP/1.1\r\n\r\n",
            b"POST /api/v3/order HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
            b"GET /api/v3/ping HTTP/1.1\r\nHost: x\r\nBad Header: " + SECRET.encode()
            + b"\r\n\r\n",
        ]
        for raw in bad:
            status, _, _ = await request(site, raw)
            assert 400 <= status < 500, raw[:40]
        await until(lambda: not site.bound.open)   # every connection handled and gone
    records = [r for r in caplog.records if r.name.startswith(("aiohttp", "exchange"))]
    assert_quiet(records, SECRET)
    faults = [r for r in records if r.name == "aiohttp.server"]
    assert len(faults) <= len(bad) and all(r.levelno == logging.DEBUG for r in faults)


async def test_a_client_leaving_mid_body_is_no_server_error(fresh_dsn, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    async with edge_server(fresh_dsn, tmp_path) as (app, site):
        caplog.clear()
        for path in (b"/api/v3/order", b"/api/v1/auth/login", b"/api/v3/userDataStream"):
            reader, writer = await connect(site)
            writer.write(b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nX-MBX-APIKEY: " +
                         SECRET.encode() + b"\r\nContent-Length: 1000\r\n\r\npassword=" +
                         SECRET.encode())
            await writer.drain()
            writer.close()
        await until(lambda: not site.bound.open)
        # the server still answers
        status, _, _ = await request(site, b"GET /api/v3/ping HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status == 200
    records = [r for r in caplog.records if r.name.startswith(("aiohttp", "exchange"))]
    assert_quiet(records, SECRET)
    assert not [r for r in records if "unhandled" in r.getMessage().lower()]


@pytest.mark.parametrize("line, hidden", [
    ("Authorization: Bearer abc.def.ghi", "abc.def.ghi"),
    ("GET /api/v3/order?symbol=X&signature=0123abcd&timestamp=1", "0123abcd"),
    ("X-MBX-APIKEY: k3yk3yk3y", "k3yk3yk3y"),
    ("listen key " + "ab" * 30, "ab" * 30),
    ("token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig", "eyJhbGciOiJIUzI1NiJ9"),
    ("{'password': 'hunter22'}", "hunter22"),
])
def test_the_formatters_redact_what_is_shaped_like_a_credential(line, hidden):
    assert hidden not in redact(line) and "[redacted]" in redact(line)
    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure("INFO", "json", stream)
    try:
        logging.getLogger("exchange.test").info("%s", line)
    finally:
        root.handlers[:], root.level = handlers, level   # as pytest had them
    assert hidden not in stream.getvalue()


def test_redaction_keeps_ordinary_lines():
    line = "recovered the venue at seq 1234 (from the start, then 12 journal commands)"
    assert redact(line) == line
