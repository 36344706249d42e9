"""Strict query strings and path ids: known names, each at most once, typed values.

Protocol code only: the request's query (or path) in, checked values out.
Anything malformed is a ``PlatformError`` (400 UNKNOWN_PARAMETER /
INVALID_PARAMETER / UNKNOWN_SYMBOL), never an exception of another kind.
Numbers follow ``exchange.parse``'s one rule (ASCII digits, int64, times and
years within their documented bounds).
"""

from __future__ import annotations  # the method int shadows the builtin below

import re

from aiohttp import web

from .. import parse
from . import errors

MAX_ID = parse.MAX_INT64               # ids fit PostgreSQL's bigint
MAX_TIME_MS = parse.MAX_TIME_MS        # times in ms still fit bigint once in ns


def path_id(request: web.Request, name: str, lo: int = 1) -> int:
    """Path segment ``{name}`` as an id from ``lo`` to ``MAX_ID``; 400 INVALID_PARAMETER if not."""
    try:
        return parse.integer(request.match_info[name], lo, MAX_ID)
    except parse.BadNumber as e:
        raise errors.invalid_parameter(name, e.why) from None
_SYMBOL = re.compile(r"[A-Za-z0-9._-]{1,20}")


class Query:
    """The query string of a request, restricted to ``names``."""

    def __init__(self, request: web.Request, names: frozenset | set):
        self._values = {}
        for name in request.query:
            if name not in names:
                raise errors.unknown_parameter(name)
            if name in self._values:
                raise errors.invalid_parameter(name, "is given more than once")
            self._values[name] = request.query[name]

    def int(self, name: str, lo: int, hi: int, default: int | None = None) -> int | None:
        """Parameter ``name`` as a decimal integer within [lo, hi], else ``default``."""
        text = self._values.get(name)
        if text is None:
            return default
        try:
            return parse.integer(text, lo, hi)
        except parse.BadNumber as e:
            raise errors.invalid_parameter(name, e.why) from None

    def time_ms(self, name: str) -> int | None:
        """Parameter ``name`` as ms since the epoch (0 to ``MAX_TIME_MS``), or None."""
        text = self._values.get(name)
        if text is None:
            return None
        try:
            return parse.time_ms(text)
        except parse.BadNumber as e:
            raise errors.invalid_parameter(name, e.why) from None

    def year(self, name: str) -> int | None:
        """Parameter ``name`` as a year (``parse.MIN_YEAR`` to ``parse.MAX_YEAR``), or None."""
        text = self._values.get(name)
        if text is None:
            return None
        try:
            return parse.year(text)
        except parse.BadNumber as e:
            raise errors.invalid_parameter(name, e.why) from None

    def choice(self, name: str, allowed: tuple) -> str | None:
        """Parameter ``name`` as one of ``allowed`` (matched case-insensitively), or None."""
        text = self._values.get(name)
        if text is None:
            return None
        for value in allowed:
            if text.upper() == value.upper():
                return value
        raise errors.invalid_parameter(name, f"must be one of {', '.join(allowed)}")

    def choices(self, name: str, allowed: tuple) -> list | None:
        """Parameter ``name`` as a comma-separated list of values from ``allowed``, or None."""
        text = self._values.get(name)
        if text is None:
            return None
        out = []
        for part in text.split(","):
            value = next((v for v in allowed if v == part.upper()), None)
            if value is None:
                raise errors.invalid_parameter(name, f"may list only {', '.join(allowed)}")
            if value not in out:
                out.append(value)
        return out

    def asset(self, known) -> str | None:
        """Parameter ``asset`` as one of the ``known`` assets, or None."""
        text = self._values.get("asset")
        if text is None:
            return None
        if text not in known:
            raise errors.invalid_parameter("asset", "is not a listed asset")
        return text

    def symbol(self, known) -> str | None:
        """Parameter ``symbol`` as a listed instrument's symbol, or None."""
        text = self._values.get("symbol")
        if text is None:
            return None
        if not _SYMBOL.fullmatch(text):
            raise errors.invalid_parameter("symbol", "is not a symbol")
        for symbol in (text, text.upper()):
            if symbol in known:
                return symbol
        raise errors.unknown_symbol(text)
