"""What a venue is given at start-up: the demo instruments and account on a new venue,
the ``[risk]`` settings as a journaled command, and the helpers that create and fund
accounts by commands (also used by tests and benchmarks)."""

import dataclasses
import logging
import os
import pathlib
import secrets

import orjson
from aiohttp import web

from .demo import demo_instruments
from .engine import CommandRejected, Deposit, ListInstrument, Reason, SetRiskDefaults
from .engine.instrument import minor_unit, to_units
from .engine.risk import LIMIT_FIELDS
from .keys import CONFIG, POOL, VENUE
from .settings import Settings
from .store.queries import accounts
from .venue import Venue

log = logging.getLogger(__name__)

DEMO_ACCOUNT = "demo"
DEMO_CASH = "1000000.00"   # in each quote asset
DEMO_SHARES = 10_000       # of each instrument, in lots


async def create_account(app: web.Application, name: str, funds: dict | None = None,
                         permissions=("read", "trade")) -> dict:
    """Create an account with an API key and fund it by Deposit commands.

    ``funds`` maps asset -> amount as a decimal string. Returns
    ``{"account_id", "api_key", "api_secret"}``.
    """
    api_key, secret = secrets.token_hex(32), secrets.token_hex(32)
    account_id = await accounts.create_with_key(app[POOL], name, api_key, secret, permissions)
    for asset, amount in (funds or {}).items():
        await deposit(app, account_id, asset, amount)
    return {"account_id": account_id, "api_key": api_key, "api_secret": secret}


async def deposit(app: web.Application, account_id: int, asset: str, amount: str) -> None:
    """Credit ``amount`` (a decimal string) of ``asset`` to an account, by a Deposit command."""
    decimals = app[VENUE].sequencer.assets[asset]
    units = to_units(amount, minor_unit(decimals), "amount", Reason.INVALID_AMOUNT)
    events = await app[VENUE].submit(Deposit(0, account_id, asset, units, "bootstrap"))
    if any(type(e) is CommandRejected for e in events):
        raise RuntimeError(f"deposit of {amount} {asset} refused: {events}")


async def bootstrap_demo(app: web.Application) -> dict | None:
    """On a new venue: list the demo instruments and create a funded demo account.

    Idempotent: lists only what is missing, and creates the account (with its
    API key, printed and written to ``<data_dir>/demo-credentials.json``)
    only if there is none. Returns the credentials when it created them.
    """
    settings = app[CONFIG]
    venue = app[VENUE]
    instruments = [dataclasses.replace(i, default_stp=settings.default_stp)
                   for i in demo_instruments()]
    if venue.sequencer.seq == 0:
        for inst in instruments:
            await venue.submit(ListInstrument(0, inst))
    if await accounts.name_taken(app[POOL], DEMO_ACCOUNT):
        return None
    funds = {}
    for inst in instruments:
        if inst.symbol in venue.sequencer.markets:
            funds[inst.quote] = DEMO_CASH
            funds[inst.base] = str(DEMO_SHARES * inst.step_size)
    creds = await create_account(app, DEMO_ACCOUNT, funds)
    creds = {"api_key": creds["api_key"], "api_secret": creds["api_secret"]}
    path = pathlib.Path(settings.data_dir) / "demo-credentials.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(orjson.dumps(creds, option=orjson.OPT_INDENT_2))
    print(f"demo account created (funded with {DEMO_CASH} of each quote asset and "
          f"{DEMO_SHARES} shares of each instrument)\n"
          f"  api key:    {creds['api_key']}\n  api secret: {creds['api_secret']}\n"
          f"  written to {path}", flush=True)
    return creds


async def apply_risk_defaults(venue: Venue, settings: Settings) -> None:
    """Journal the [risk] settings as SetRiskDefaults when they differ from the
    venue's (recovery replays the journal, so the defaults in force are a command)."""
    seq = venue.sequencer
    values = tuple(getattr(settings, name) for name in LIMIT_FIELDS)
    if values == seq.risk_defaults.values() and settings.halt_s * 10**9 == seq.halt_ns:
        return
    events = await venue.submit(SetRiskDefaults(0, *values, halt_s=settings.halt_s))
    if any(type(ev) is CommandRejected for ev in events):
        raise RuntimeError(f"the [risk] settings were refused: {events}")
    log.info("risk defaults set from the settings", extra={"seq": seq.seq})
