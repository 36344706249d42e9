"""Commands <-> JSON-able dicts, exactly: ``decode(encode(cmd)) == cmd`` for every command.

A command becomes a flat dict of its fields plus a ``"type"`` tag (the class
name); PlaceOrder's own ``type`` field is stored as ``"order_type"``. Enums
become their string values and come back as members (a string that is not a
member's value comes back unchanged, so a command the sequencer rejected
replays to the same rejection). An Instrument is a nested dict: Decimal tick
and step sizes as strings, ``allowed_stp`` as a sorted list. CancelReplace's
``new`` PlaceOrder nests the same way.

JSON and PostgreSQL's jsonb cannot hold everything a Python field can, so a
few values travel tagged: ``{"$int": "…"}`` for integers outside int64 (orjson
stop there), ``{"$str": [code points]}`` for strings jsonb refuses (NUL) or
UTF-8 cannot carry (lone surrogates), ``{"$float": repr}`` and
``{"$decimal": str}`` for the odd float or Decimal in an Instrument field
(commands check their own field types; an Instrument is checked only by the
sequencer). A command is a request the sequencer still checks, so malformed
values must be journaled as faithfully as good ones: the venue has already
applied (and rejected) them.

An ``admin`` field (an ``AdminRecord``: who asked for an operator's command)
is a dict ``{"actor", "role", "action", "target", "details"}`` whose details
are stored as they are; they must be what jsonb keeps exactly
(``check_exact``), which the edge checks before it submits the command.

Fields added to a command later have defaults (``destination``, ``note``,
``admin``): a journal row written before them decodes with the default.

Decoding raises ValueError on an unknown type tag, an unknown or missing
field, or a value of a shape the encoder never produces.
"""

import dataclasses
import enum
from decimal import Decimal

import orjson

from ..engine.commands import (AdminRecord, AmendOrder, CancelAll, CancelOnDisconnect, CancelOrder,
                               CancelReplace, ChangeInstrument, Deposit, ExpireOrders,
                               ListInstrument, PlaceOrder, RequestWithdrawal, ResolveWithdrawal,
                               SetInstrumentStatus, SetKillSwitch, SetRiskDefaults, SetRiskLimits,
                               Withdraw)
from ..engine.enums import STP, InstrumentStatus, OrderType, Side, TimeInForce
from ..engine.instrument import Instrument

_TYPES = {cls.__name__: cls for cls in (
    PlaceOrder, CancelOrder, CancelAll, CancelOnDisconnect, AmendOrder, CancelReplace, Deposit, Withdraw,
    RequestWithdrawal, ResolveWithdrawal, ListInstrument, SetInstrumentStatus, ExpireOrders,
    SetRiskDefaults, SetRiskLimits, SetKillSwitch, ChangeInstrument, Instrument)}
COMMAND_TYPES = frozenset(_TYPES) - {"Instrument"}

# Field -> the enum its string values come back as.
_ENUMS = {
    (PlaceOrder, "side"): Side, (PlaceOrder, "type"): OrderType,
    (PlaceOrder, "tif"): TimeInForce, (PlaceOrder, "stp"): STP,
    (Instrument, "status"): InstrumentStatus, (Instrument, "default_stp"): STP,
}
_DECIMALS = {(Instrument, "tick_size"), (Instrument, "step_size")}
_SETS = {(Instrument, "allowed_stp"): STP}
_KEY = {(PlaceOrder, "type"): "order_type"}  # "type" is the tag

# Per class: [(field name, key in the dict)], the keys, and the required field names.
_LAYOUT = {}
_ENCODE = {}
_DECODE = {}   # class -> {key: (field, how, enum)}: how None for a plain value
for _cls in _TYPES.values():
    _fields = [f for f in dataclasses.fields(_cls) if f.init]
    _pairs = [(f.name, _KEY.get((_cls, f.name), f.name)) for f in _fields]
    _required = {k for f, (_, k) in zip(_fields, _pairs)
                 if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    _LAYOUT[_cls] = (_pairs, {k: n for n, k in _pairs}, _required)
    # for encoding: (field, key, how), how None for a plain value (most of them)
    _ENCODE[_cls] = [(n, k, "decimal" if (_cls, n) in _DECIMALS else
                      "set" if (_cls, n) in _SETS else
                      "admin" if n == "admin" else None) for n, k in _pairs]
    _DECODE[_cls] = {k: (n, "enum", _ENUMS[_cls, n]) if (_cls, n) in _ENUMS else
                     (n, "set", _SETS[_cls, n]) if (_cls, n) in _SETS else
                     (n, "admin", None) if n == "admin" else
                     (n, "decimal", None) if (_cls, n) in _DECIMALS else (n, None, None)
                     for n, k in _pairs}
del _cls, _fields, _pairs, _required

_INT64 = range(-2**63, 2**63)
_INT64_MIN, _INT64_MAX = -2**63, 2**63 - 1
_ADMIN_KEYS = frozenset(AdminRecord._fields)


class InexactValue(ValueError):
    """A value jsonb would not give back exactly (a float, a huge int, a NUL, a lone
    surrogate, a non-string key)."""


def check_exact(value, path: str = "details") -> None:
    """Raise InexactValue unless ``value`` is kept exactly by jsonb and the hash chain's
    canonical bytes: str (UTF-8, no NUL), int64, bool, None, lists and string-keyed dicts."""
    t = type(value)
    if t is dict:
        for k, v in value.items():
            if type(k) is not str:
                raise InexactValue(f"{path}: keys must be strings")
            check_exact(k, f"{path} key")
            check_exact(v, f"{path}.{k}")
    elif t is list or t is tuple:
        for i, v in enumerate(value):
            check_exact(v, f"{path}[{i}]")
    elif t is int:
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise InexactValue(f"{path}: integer out of int64 range")
    elif t is str:
        if not _clean(value):
            raise InexactValue(f"{path}: a NUL or a lone surrogate in a string")
    elif value is not None and t is not bool:
        raise InexactValue(f"{path}: {t.__name__} is not kept exactly by jsonb")


def encode_admin(record: AdminRecord) -> dict:
    """Return an AdminRecord as the dict a command's ``admin`` field is stored as."""
    if type(record) is not AdminRecord:
        raise ValueError(f"not an AdminRecord: {type(record).__name__}")
    actor, role, action, target, details = record
    if actor is not None and type(actor) is not int or not all(
            type(v) is str for v in (role, action, target)) or type(details) is not dict:
        raise ValueError(f"malformed AdminRecord: {record!r}")
    check_exact([actor, role, action, target, details], "admin")
    return record._asdict()


def decode_admin(raw) -> AdminRecord:
    """Return the AdminRecord ``encode_admin`` made ``raw`` from; ValueError if it is not one."""
    if type(raw) is not dict or raw.keys() != _ADMIN_KEYS:
        raise ValueError(f"not an encoded AdminRecord: {raw!r}")
    record = AdminRecord(**raw)
    encode_admin(record)   # the same checks
    return record


# ---- encode --------------------------------------------------------------------

def encode(cmd) -> dict:
    """Return ``cmd`` as a JSON-able dict with a ``"type"`` tag; ValueError if it cannot be."""
    cls = type(cmd)
    layout = _LAYOUT.get(cls)
    if layout is None or cls is Instrument:
        raise ValueError(f"not a command: {cls.__name__}")
    return _encode_object(cmd, cls)


def encode_instrument(inst: Instrument) -> dict:
    """Return an Instrument as the dict a ListInstrument command nests (``instruments.definition``)."""
    return _encode_object(inst, Instrument)


def _encode_object(obj, cls):
    out = {"type": cls.__name__}
    for name, key, how in _ENCODE[cls]:
        value = getattr(obj, name)
        if how is None:
            # _value's commonest answers inline (every command is encoded once)
            t = type(value)
            if value is None or t is int and _INT64_MIN <= value <= _INT64_MAX or (
                    t is str and value.isascii() and "\x00" not in value):
                out[key] = value
            else:
                out[key] = _value(value)
        elif how == "decimal" and isinstance(value, Decimal):
            out[key] = str(value)
        elif how == "set" and isinstance(value, (set, frozenset)):
            out[key] = sorted((_value(v) for v in value), key=orjson.dumps)
        elif how == "admin":
            out[key] = None if value is None else encode_admin(value)
        else:
            out[key] = _value(value)
    return out


def _value(v):
    t = type(v)
    if t is str:
        return v if v.isascii() and "\x00" not in v or _clean(v) else {"$str": [ord(c) for c in v]}
    if t is int:
        return v if v in _INT64 else {"$int": str(v)}
    if v is None or t is bool:
        return v
    if isinstance(v, enum.Enum):
        return _value(v.value)
    if t is float:
        return {"$float": repr(v)}
    if t is Decimal:
        return {"$decimal": str(v)}
    if t is PlaceOrder or t is Instrument:
        return _encode_object(v, t)
    raise ValueError(f"cannot encode a {t.__name__} value: {v!r}")


def _clean(s):
    if "\x00" in s:
        return False
    try:
        s.encode()
    except UnicodeEncodeError:
        return False
    return True


# ---- decode --------------------------------------------------------------------

def decode(data: dict):
    """Return the command ``data`` encodes; ValueError if it is not one."""
    if type(data) is not dict:
        raise ValueError(f"a command is a dict, got {type(data).__name__}")
    if data.get("type") not in COMMAND_TYPES:
        raise ValueError(f"unknown command type {data.get('type')!r}")
    return _decode_object(data)


def decode_instrument(data: dict) -> Instrument:
    """Return the Instrument ``encode_instrument`` made ``data`` from; ValueError if it is not one."""
    if type(data) is not dict or data.get("type") != "Instrument":
        raise ValueError("not an encoded Instrument")
    return _decode_object(data)


def _decode_object(data):
    cls = _TYPES.get(data.get("type"))
    if cls is None:
        raise ValueError(f"unknown type {data.get('type')!r}")
    required = _LAYOUT[cls][2]
    plan = _DECODE[cls]
    kwargs = {}
    for key, raw in data.items():
        step = plan.get(key)
        if step is None:
            if key == "type":
                continue
            raise ValueError(f"unknown field {key!r} for {cls.__name__}")
        name, how, members = step
        t = type(raw)
        if how is None:      # a plain field: most of them, and the journal's hot path
            kwargs[name] = raw if t is int or t is str or raw is None else _decode_value(raw)
        elif how == "enum":
            value = raw if t is str else _decode_value(raw)
            kwargs[name] = _member(members, value)
        elif how == "decimal" and t is str:
            kwargs[name] = raw  # Instrument.__post_init__ makes it a Decimal
        elif how == "set" and t is list:
            kwargs[name] = frozenset(_member(members, _decode_value(v)) for v in raw)
        elif how == "admin":
            kwargs[name] = None if raw is None else decode_admin(raw)
        else:
            kwargs[name] = _decode_value(raw)
    missing = required - data.keys()
    if missing:
        raise ValueError(f"{cls.__name__} lacks {sorted(missing)}")
    try:
        return cls(**kwargs)
    except Exception as e:  # e.g. Instrument's Decimal parsing
        raise ValueError(f"bad {cls.__name__}: {e}") from e


_MEMBERS = {}  # enum -> {value: member}: a dict lookup is far cheaper than calling the enum


def _member(members, value):
    if type(value) is str:
        table = _MEMBERS.get(members)
        if table is None:
            table = _MEMBERS[members] = {m.value: m for m in members}
        return table.get(value, value)
    return value


def _decode_value(raw):
    t = type(raw)
    if t is str or t is int or t is bool or raw is None:
        return raw
    if t is dict:
        if "type" in raw:
            if raw["type"] not in ("PlaceOrder", "Instrument"):
                raise ValueError(f"unexpected nested type {raw['type']!r}")
            return _decode_object(raw)
        if len(raw) == 1:
            (tag, body), = raw.items()
            try:
                if tag == "$int" and type(body) is str:
                    return int(body)
                if tag == "$float" and type(body) is str:
                    return float(body)
                if tag == "$decimal" and type(body) is str:
                    return Decimal(body)
                if tag == "$str" and type(body) is list:
                    return "".join(map(chr, body))
            except (ValueError, TypeError, OverflowError, ArithmeticError) as e:
                raise ValueError(f"bad {tag} value {body!r}") from e
    raise ValueError(f"unexpected value {raw!r}")


# ---- bytes ---------------------------------------------------------------------

def dumps(cmd) -> bytes:
    """Return ``cmd`` as JSON bytes."""
    return orjson.dumps(encode(cmd))


def loads(data: bytes | str):
    """Return the command in JSON ``data``."""
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise ValueError(f"not JSON: {e}") from e
    return decode(obj)
