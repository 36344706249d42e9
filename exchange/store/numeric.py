"""PostgreSQL ``numeric`` <-> Python, binary, fast for the integers this schema holds.

asyncpg encodes an ``int`` into ``numeric`` about ten times slower than into
``bigint`` (it goes through Decimal), and the ledger's amounts are
``numeric(38,0)``. This codec writes ints straight into numeric's binary form
(base-10000 digits) and reads a scale-0 value back as an ``int``; other values
(Decimal with a fractional part, NaN) stay ``Decimal`` both ways.

Binary layout: int16 ndigits, int16 weight, uint16 sign (0 positive, 0x4000
negative, 0xC000 NaN), int16 dscale, then ndigits uint16 base-10000 digits;
the value is sum(digit[i] * 10000 ** (weight - i)).
"""

import decimal
import struct
from decimal import Decimal

_HEAD = struct.Struct("!hhHh")
_ZERO = _HEAD.pack(0, 0, 0, 0)
_NEG, _NAN = 0x4000, 0xC000
_WIDE = decimal.Context(prec=1000)


def encode(value) -> bytes:
    """Return the binary numeric of an int, a Decimal (or anything Decimal() takes)."""
    if type(value) is int:
        if not value:
            return _ZERO
        sign = 0
        if value < 0:
            sign, value = _NEG, -value
        if value < 10000:
            return _HEAD.pack(1, 0, sign, 0) + value.to_bytes(2, "big")
        return _pack(value, 0, sign, 0)
    d = value if isinstance(value, Decimal) else Decimal(value)
    if d.is_nan():
        return _HEAD.pack(0, 0, _NAN, 0)
    if d.is_infinite():
        raise ValueError("numeric cannot hold infinity")
    sign, digits, exp = d.as_tuple()
    n = int("".join(map(str, digits)) or "0")
    dscale = max(0, -exp)
    frac = dscale + (-dscale) % 4          # fractional digits, padded to whole base-10000 digits
    n *= 10 ** (frac + exp)                # now value = n / 10**frac
    if not n:
        return _HEAD.pack(0, 0, 0, dscale)
    return _pack(n, frac // 4, _NEG if sign else 0, dscale)


def _pack(n, frac_groups, sign, dscale):
    groups = []
    while n:
        n, r = divmod(n, 10000)
        groups.append(r)
    weight = len(groups) - 1 - frac_groups
    start = 0
    while not groups[start]:               # trailing zero digits carry nothing
        start += 1
    groups = groups[start:]
    groups.reverse()
    return _HEAD.pack(len(groups), weight, sign, dscale) + struct.pack(f"!{len(groups)}H", *groups)


def decode(data: bytes):
    """Return an int for a scale-0 numeric, else a Decimal."""
    ndigits, weight, sign, dscale = _HEAD.unpack_from(data)
    if sign == _NAN:
        return Decimal("NaN")
    n = 0
    for digit in struct.unpack_from(f"!{ndigits}H", data, 8):
        n = n * 10000 + digit
    shift = weight - ndigits + 1           # value = n * 10000 ** shift
    if dscale == 0 and shift >= 0:
        n *= 10000 ** shift
        return -n if sign else n
    d = Decimal((1 if sign else 0, tuple(map(int, str(n))), 4 * shift))
    return d.quantize(Decimal((0, (1,), -dscale)), context=_WIDE)
