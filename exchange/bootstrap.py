"""What a venue is given at start-up: the demo instruments and account on a new venue,
the ``[risk]`` settings as a journaled command, and the helpers that create and fund
accounts by commands (also used by tests and benchmarks)."""

import dataclasses
import logging
import os
import pathlib
import secrets
import sys

import orjson
from aiohttp import web

from .demo import demo_instruments
from .engine import CommandRejected, Deposit, ListInstrument, Reason, SetRiskDefaults
from .engine.instrument import minor_unit, to_units
from .engine.limits import LIMIT_FIELDS
from .keys import CONFIG, PASSWORDS, POOL, SECRET_BOX, VENUE
from .settings import Settings
from .store.queries import accounts
from .store.queries import api_keys as api_key_rows
from .store.queries import users
from .venue import Venue

log = logging.getLogger(__name__)

DEMO_ACCOUNT = "demo"
DEMO_CASH = "1000000.00"   # in each quote asset
DEMO_SHARES = 10_000       # of each instrument, in lots
DEMO_EMAIL = "demo@example.com"   # the demo account's login for the trading page


async def create_account(app: web.Application, name: str, funds: dict | None = None,
                         permissions=("read", "trade")) -> dict:
    """Create an account with an API key and fund it by Deposit commands.

    ``funds`` maps asset -> amount as a decimal string. Returns
    ``{"account_id", "api_key", "api_secret"}``.
    """
    pool = app[POOL]
    api_key, secret = secrets.token_hex(32), secrets.token_hex(32)
    async with pool.acquire() as conn:
        async with conn.transaction():
            account_id = (await accounts.create(conn, name))["account_id"]
            await api_key_rows.insert(conn, api_key, app[SECRET_BOX].seal(secret), account_id,
                                      permissions)
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
    API key and a login, ``DEMO_EMAIL`` and a generated password, printed to the
    terminal and written to ``<data_dir>/demo-credentials.json``, mode 0600)
    only if there is none; a demo account made before it had a login gets one.
    Returns the credentials when it created any.
    """
    settings = app[CONFIG]
    venue = app[VENUE]
    instruments = [dataclasses.replace(i, default_stp=settings.default_stp)
                   for i in demo_instruments()]
    if venue.sequencer.seq == 0:
        for inst in instruments:
            await venue.submit(ListInstrument(0, inst))
        log.info("demo: listed %s", ", ".join(i.symbol for i in instruments))
    path = settings.data_path() / "demo-credentials.json"
    account_id = await accounts.named(app[POOL], DEMO_ACCOUNT)
    if account_id is not None:
        if await users.has_login(app[POOL], account_id):
            return None
        creds = _read_credentials(path)
        creds.update(await _demo_login(app, account_id))
        _write_credentials(path, creds)
        _tell(f"demo account {account_id} given a login for the trading page",
              {"email": creds["email"], "password": creds["password"]}, path)
        return creds
    funds = {}
    for inst in instruments:
        if inst.symbol in venue.sequencer.market_views:
            funds[inst.quote] = DEMO_CASH
            funds[inst.base] = str(DEMO_SHARES * inst.step_size)
    made = await create_account(app, DEMO_ACCOUNT, funds)
    creds = {"api_key": made["api_key"], "api_secret": made["api_secret"]}
    creds.update(await _demo_login(app, made["account_id"]))
    _write_credentials(path, creds)
    _tell(f"demo account created (funded with {DEMO_CASH} of each quote asset and "
          f"{DEMO_SHARES} shares of each instrument)",
          {"api key": creds["api_key"], "api secret": creds["api_secret"],
           "email": creds["email"], "password": creds["password"]}, path)
    return creds


def _tell(what: str, secrets_shown: dict, path) -> None:
    """Print what the bootstrap made, with its secrets only when stdout is a terminal: a
    redirected stdout (a service manager's journal, a log file) gets the path of the 0600
    file instead, so no credential reaches a log."""
    lines = [what]
    if sys.stdout.isatty():
        lines += [f"  {name + ':':<12}{value}" for name, value in secrets_shown.items()]
        lines.append(f"  written to {path}")
    else:
        lines.append(f"  credentials ({', '.join(secrets_shown)}) written to {path} "
                     "(mode 0600); they are shown here only on a terminal")
    print("\n".join(lines), flush=True)



async def _demo_login(app: web.Application, account_id: int) -> dict:
    """Give the demo account its login: ``{"email", "password"}`` (a generated password)."""
    password = secrets.token_urlsafe(15)
    password_hash = await app[PASSWORDS].hash(password)
    async with app[POOL].acquire() as conn:
        async with conn.transaction():
            if await users.account_of_email(conn, DEMO_EMAIL) is not None:
                raise RuntimeError(f"the demo login {DEMO_EMAIL} belongs to another account")
            await users.add_login(conn, account_id, DEMO_EMAIL, password_hash)
    return {"email": DEMO_EMAIL, "password": password}


def _read_credentials(path: pathlib.Path) -> dict:
    try:
        creds = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    return creds if isinstance(creds, dict) else {}


def _write_credentials(path: pathlib.Path, creds: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)   # also when the file was there with a looser mode
    with os.fdopen(fd, "wb") as f:
        f.write(orjson.dumps(creds, option=orjson.OPT_INDENT_2))


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
