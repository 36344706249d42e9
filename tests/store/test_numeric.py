"""numeric round-trips through PostgreSQL: ints as ints, decimals as decimals."""

from decimal import Decimal

import pytest

VALUES = [0, 1, -1, 9999, 10000, -10000, 10**8, 123456789012345678901234567890, -(10**37),
          2**63, 10**12 + 7]
DECIMALS = ["0.5", "-0.0001", "1.23456", "100.10", "0.000", "-12345678.9", "1E+5", "NaN"]


async def test_integral_numerics_round_trip_as_ints(pool):
    got = await pool.fetchval("SELECT $1::numeric(38,0)[]", VALUES)
    assert got == VALUES and all(type(v) is int for v in got)
    texts = await pool.fetchval("SELECT $1::numeric[]::text[]", VALUES)
    assert texts == [str(v) for v in VALUES]  # the server reads the same numbers


@pytest.mark.parametrize("text", DECIMALS)
async def test_decimals_round_trip_with_their_scale(pool, text):
    d = Decimal(text)
    back = await pool.fetchval("SELECT $1::numeric", d)
    server = await pool.fetchval("SELECT $1::numeric::text", d)
    assert server == await pool.fetchval("SELECT $1::text::numeric::text", text)
    if d.is_nan():
        assert back.is_nan()
    else:
        assert back == d and (type(back) is int) == (server.find(".") < 0)
