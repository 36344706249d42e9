"""Request parameters: the query string and a form body, parsed strictly.

Binance reads parameters from the query string and from an
``application/x-www-form-urlencoded`` body (the query string wins when both
have one). ``Params`` hands out typed values and remembers which it handed
out, so that a request with parameters the endpoint never read is refused
(-1104), like Binance does. Empty values count as not sent.
"""

from __future__ import annotations  # the methods str/int/bool shadow the builtins below

import re
from urllib.parse import parse_qsl

from .. import parse
from . import errors
from .errors import ApiError

MAX_PARAMS = 64
MAX_INT = parse.MAX_INT64       # ids fit PostgreSQL's bigint
DECIMAL_LEGAL = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"
_DECIMAL = re.compile(DECIMAL_LEGAL)
SYMBOL_LEGAL = r"^[A-Z0-9-_.]{1,20}$"
_SYMBOL = re.compile(SYMBOL_LEGAL)
CLIENT_ID_LEGAL = r"^[a-zA-Z0-9._-]{1,36}$"
_CLIENT_ID = re.compile(CLIENT_ID_LEGAL)


def parse_form(text: str, what: str) -> list[tuple[str, str]]:
    """Split ``a=1&b=2`` into pairs; refuse bad encodings and too many fields (-1100)."""
    if not text:
        return []
    if "%" not in text and "+" not in text:
        # Nothing to decode: exactly parse_qsl's split (empty fields skipped, a field
        # without '=' is a blank value) at a third of its cost.
        if text.count("&") >= MAX_PARAMS:
            raise ApiError(errors.ILLEGAL_CHARS, f"Illegal characters found in the {what}.")
        out = []
        for field in text.split("&"):
            if field:
                name, _, value = field.partition("=")
                out.append((name, value))
        return out
    try:
        return parse_qsl(text, keep_blank_values=True, strict_parsing=False, encoding="utf-8",
                         errors="strict", max_num_fields=MAX_PARAMS)
    except (UnicodeDecodeError, ValueError):
        raise ApiError(errors.ILLEGAL_CHARS, f"Illegal characters found in the {what}.") from None


def merge(query: list, body: list) -> dict:
    """Merge query and body pairs; a name repeated within one of them is -1101."""
    out = dict(body)
    if len(out) != len(body):
        raise _duplicate()
    if query:
        names = dict(query)
        if len(names) != len(query):
            raise _duplicate()
        out.update(names)  # the query string wins
    return out


def _duplicate() -> ApiError:
    return ApiError(errors.DUPLICATE_PARAM, "Duplicate values for a parameter detected.")


class Params:
    """Typed access to a request's parameters, remembering which were read."""

    def __init__(self, values: dict):
        self._values = values
        self._read = set()

    def __contains__(self, name):
        return bool(self._values.get(name))

    def raw(self, name: str) -> str | None:
        """The value as sent (None when absent or empty); marks it read."""
        self._read.add(name)
        value = self._values.get(name)
        return value if value else None

    def str(self, name: str, required: bool = False, pattern=None, legal: str = "") -> str | None:
        value = self.raw(name)
        if value is None:
            if required:
                raise errors.mandatory(name)
            return None
        if pattern is not None and not pattern.match(value):
            raise errors.illegal(name, legal)
        return value

    def int(self, name: str, required: bool = False, lo: int | None = None,
            hi: int | None = None) -> int | None:
        """Parameter ``name`` as an integer in ``lo..hi`` (None: the int64 bound) by
        ``exchange.parse``'s one rule: -1100 if malformed, -1130 if out of range."""
        value = self.raw(name)
        if value is None:
            if required:
                raise errors.mandatory(name)
            return None
        lo = parse.MIN_INT64 if lo is None else lo
        hi = MAX_INT if hi is None else hi
        try:
            return parse.integer(value, lo, hi, signed=True)   # Binance's -1130 for "-5"
        except parse.BadNumber as e:
            if not e.out_of_range:
                raise errors.illegal(name, parse.SIGNED_LEGAL) from None
            raise ApiError(errors.INVALID_PARAMETER,
                           f"Invalid value for parameter '{name}': {value}; expected "
                           f"{e.lo}..{e.hi}.") from None

    def time_ms(self, name: str, required: bool = False) -> int | None:
        """Parameter ``name`` as ms since the epoch, 0 to ``parse.MAX_TIME_MS``."""
        return self.int(name, required, parse.MIN_TIME_MS, parse.MAX_TIME_MS)

    def bool(self, name: str) -> bool | None:
        value = self.raw(name)
        if value is None:
            return None
        if value.lower() not in ("true", "false"):
            raise errors.illegal(name, "true|false")
        return value.lower() == "true"

    def decimal(self, name: str, required: bool = False) -> str | None:
        """A plain decimal string ("12", "0.50"), still text: instruments convert it."""
        value = self.raw(name)
        if value is None:
            if required:
                raise errors.mandatory(name)
            return None
        if not _DECIMAL.match(value):
            raise errors.illegal(name, DECIMAL_LEGAL)
        return value

    def symbol(self, name: str = "symbol", required: bool = True) -> str | None:
        return self.str(name, required, _SYMBOL, SYMBOL_LEGAL)

    def page(self, id_name: str | None = None) -> tuple:
        """History paging: (from id, startTime, endTime, limit up to 1000, default 500)."""
        from_id = self.int(id_name, lo=0) if id_name else None
        return (from_id, self.time_ms("startTime"), self.time_ms("endTime"),
                self.int("limit", lo=1, hi=1000) or 500)

    def client_id(self, name: str) -> str | None:
        return self.str(name, False, _CLIENT_ID, CLIENT_ID_LEGAL)

    def symbols(self, name: str = "symbols") -> list[str] | None:
        """A JSON-ish list of symbols: ``["AAPL","MSFT"]``."""
        value = self.raw(name)
        if value is None:
            return None
        if not (value.startswith("[") and value.endswith("]")):
            raise errors.illegal(name, '["SYMBOL",...]')
        out = []
        for part in value[1:-1].split(","):
            part = part.strip().strip('"')
            if not _SYMBOL.match(part):
                raise errors.illegal(name, '["SYMBOL",...]')
            out.append(part)
        if not out or len(out) > 100:
            raise errors.illegal(name, '["SYMBOL",...] (1 to 100)')
        return out

    def check_all_read(self) -> None:
        """Refuse the request if it sent parameters nobody read (-1104)."""
        unread = [n for n in self._values if n not in self._read]
        if unread:
            raise ApiError(errors.UNREAD_PARAMETERS,
                           f"Not all sent parameters were read; read '{len(self._read & set(self._values))}'"
                           f" parameter(s) but was sent '{len(self._values)}'. "
                           f"Unread: {', '.join(sorted(unread))}.")
