"""Strict numbers from text at the edge: ids, millisecond timestamps and years.

One rule for every path segment and query value that names a number, in
every area (``api``, ``platform``, ``feed``): ASCII digits ``0-9`` only, at
most 20 of them (Binance's ``^-?[0-9]{1,20}$``), with a leading ``-`` only
where the caller allows one.
Nothing else: no ``+``, no whitespace or newline, no ``_`` separator, and
none of the other characters ``str.isdigit`` and ``int`` accept (``²``,
``⑦``, ``١٢٣``). The value must then lie in the caller's range, which is
never wider than a signed 64-bit integer (PostgreSQL's bigint).

Times are milliseconds since the Unix epoch from ``MIN_TIME_MS`` to
``MAX_TIME_MS`` (2255-03-14), so that every accepted time still fits an
int64 once in nanoseconds. Years run from ``MIN_YEAR`` to ``MAX_YEAR``,
the years that lie wholly inside that range of times.

This module imports nothing of the package: every layer may use it. Each
area turns a ``BadNumber`` into its own refusal (a 400 with its code).
"""

import re

MAX_INT64 = 2**63 - 1
MIN_INT64 = -(2**63)

MIN_TIME_MS = 0
MAX_TIME_MS = 9_000_000_000_000     # 2255-03-14T16:00:00Z; x 10**6 ns < MAX_INT64
MIN_YEAR = 1970
MAX_YEAR = 2254                     # 2255-01-01T00:00:00Z, its end, is under MAX_TIME_MS

UNSIGNED_LEGAL = "^[0-9]{1,20}$"
SIGNED_LEGAL = "^-?[0-9]{1,20}$"
_UNSIGNED = re.compile("[0-9]{1,20}")   # re's [0-9] is ASCII whatever the flags
_SIGNED = re.compile("-?[0-9]{1,20}")


class BadNumber(ValueError):
    """Text that is not a number of the form asked for, or one outside its range.

    ``out_of_range`` is False for a malformed text, True for a well-formed number
    outside ``lo..hi``; ``why`` completes a sentence about the value ("must be ...").
    """

    def __init__(self, text: str, lo: int, hi: int, out_of_range: bool, why: str):
        super().__init__(text)
        self.text, self.lo, self.hi = text, lo, hi
        self.out_of_range = out_of_range
        self.why = why

    def __str__(self) -> str:
        return f"{self.text!r} {self.why}"


def integer(text: str, lo: int = 0, hi: int = MAX_INT64, *, signed: bool | None = None) -> int:
    """Parse ``text`` as a decimal integer in ``lo..hi``; BadNumber otherwise.

    A leading ``-`` is well-formed when ``signed`` (by default: when ``lo`` is
    negative); a negative number below ``lo`` is then out of range rather than
    malformed. O(len(text)); a text over 21 characters is refused before conversion.
    """
    lo, hi = max(lo, MIN_INT64), min(hi, MAX_INT64)
    pattern = _SIGNED if (lo < 0 if signed is None else signed) else _UNSIGNED
    if type(text) is not str or not pattern.fullmatch(text):
        raise BadNumber(str(text), lo, hi, False, f"must be an integer from {lo} to {hi}")
    n = int(text)
    if not lo <= n <= hi:
        raise BadNumber(text, lo, hi, True, f"must be an integer from {lo} to {hi}")
    return n


def time_ms(text: str, *, signed: bool = False) -> int:
    """Parse ``text`` as a time in ms since the epoch, ``MIN_TIME_MS`` to ``MAX_TIME_MS``."""
    try:
        return integer(text, MIN_TIME_MS, MAX_TIME_MS, signed=signed)
    except BadNumber as e:
        e.why = f"must be a time in ms since the epoch from {MIN_TIME_MS} to {MAX_TIME_MS}"
        raise


def year(text: str) -> int:
    """Parse ``text`` as a calendar year from ``MIN_YEAR`` to ``MAX_YEAR``."""
    try:
        return integer(text, MIN_YEAR, MAX_YEAR)
    except BadNumber as e:
        e.why = f"must be a year from {MIN_YEAR} to {MAX_YEAR}"
        raise
