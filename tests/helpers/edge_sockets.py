"""Raw-socket helpers for the edge tests: the production site (``exchange.server.start_site``,
with its connection bound) on a free loopback port, and HTTP/1.1 spoken by hand."""

import asyncio
import contextlib

import orjson

from exchange.server import create_app, start_site
from exchange.settings import Settings

WAIT_S = 30.0   # generous: a wait for an answer, never a timing assertion


@contextlib.asynccontextmanager
async def edge_server(dsn: str, data_dir, **overrides):
    """Yield (app, site) for a server with ``overrides`` on a free port; stop it after."""
    settings = Settings(database_url=dsn, data_dir=str(data_dir), weight_limit_1m=1_000_000,
                        **overrides)
    app = create_app(settings, on_fatal=lambda error: None)
    runner, site = await start_site(app, settings, host="127.0.0.1", port=0)
    try:
        yield app, site
    finally:
        await runner.cleanup()


async def connect(site):
    return await asyncio.open_connection("127.0.0.1", site.port)


async def read_response(reader) -> tuple[int, dict, bytes]:
    """One HTTP/1.1 response: (status, headers with lower-case names, body)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT_S)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await asyncio.wait_for(reader.readexactly(int(headers.get("content-length", 0))),
                                  WAIT_S)
    return status, headers, body


def json_of(body: bytes):
    return orjson.loads(body)


async def eof(reader) -> bool:
    """Read until the server closes; True once it has (everything before it is dropped)."""
    while await asyncio.wait_for(reader.read(65536), WAIT_S):
        pass
    return True


async def request(site, raw: bytes) -> tuple[int, dict, bytes]:
    """Send ``raw`` on a new connection and read one response."""
    reader, writer = await connect(site)
    try:
        writer.write(raw)
        await writer.drain()
        return await read_response(reader)
    finally:
        writer.close()


async def until(predicate) -> None:
    """Wait for a state of the server (never for a time)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not predicate():
        assert loop.time() < deadline, "the server never reached the expected state"
        await asyncio.sleep(0.01)
