"""exchange.parse: the one strict parser of ids, times and years that every edge uses."""

import pytest

from exchange import parse

NOT_NUMBERS = ["", "²", "⑦", "١٢٣", "１２", "-", "+1", " 1", "1 ", "1\n", "\n1", "1_0", "0x1f",
               "1e3", "1.0", "1,0", "٣", "߁", "𝟙", "NaN", "∞", "1" * 21, None, 12, b"12"]


@pytest.mark.parametrize("text", NOT_NUMBERS, ids=repr)
def test_anything_but_ascii_digits_is_malformed(text):
    with pytest.raises(parse.BadNumber) as e:
        parse.integer(text, parse.MIN_INT64)
    assert e.value.out_of_range is False


def test_every_character_int_takes_as_a_digit_but_ascii_is_refused():
    # int() accepts every Unicode decimal digit (Nd); str.isdigit() also ²-like ones
    others = [chr(c) for c in range(0x110000) if chr(c).isdigit() and not "0" <= chr(c) <= "9"]
    assert len(others) > 700
    for c in others:
        with pytest.raises(parse.BadNumber):
            parse.integer(c)


@pytest.mark.parametrize("text, lo, hi, value", [
    ("0", 0, 10, 0), ("10", 0, 10, 10), ("007", 0, 10, 7),
    ("9223372036854775807", 1, parse.MAX_INT64, parse.MAX_INT64),
    ("-9223372036854775808", parse.MIN_INT64, 0, parse.MIN_INT64), ("-5", -10, 10, -5),
])
def test_ascii_digits_in_range_are_read(text, lo, hi, value):
    assert parse.integer(text, lo, hi) == value


@pytest.mark.parametrize("text, lo, hi", [
    ("11", 0, 10), ("0", 1, 10), ("9223372036854775808", 0, 2**70),
    ("99999999999999999999", 0, parse.MAX_INT64)])
def test_ascii_digits_out_of_range_are_out_of_range(text, lo, hi):
    with pytest.raises(parse.BadNumber) as e:
        parse.integer(text, lo, hi)
    assert e.value.out_of_range is True
    assert e.value.hi <= parse.MAX_INT64


def test_a_sign_is_malformed_unless_the_range_is_signed_or_asked_for():
    with pytest.raises(parse.BadNumber) as e:
        parse.integer("-1", 0, 10)
    assert e.value.out_of_range is False
    with pytest.raises(parse.BadNumber) as e:
        parse.integer("-1", 0, 10, signed=True)
    assert e.value.out_of_range is True


def test_times_fit_int64_nanoseconds_and_years_lie_wholly_in_the_time_range():
    from datetime import datetime, timezone
    assert parse.MAX_TIME_MS * 1_000_000 <= parse.MAX_INT64
    end_of_max_year = datetime(parse.MAX_YEAR + 1, 1, 1, tzinfo=timezone.utc)
    assert end_of_max_year.timestamp() * 1000 <= parse.MAX_TIME_MS
    after = datetime(parse.MAX_YEAR + 2, 1, 1, tzinfo=timezone.utc)
    assert after.timestamp() * 1000 > parse.MAX_TIME_MS
    assert parse.time_ms(str(parse.MAX_TIME_MS)) == parse.MAX_TIME_MS
    assert parse.year(str(parse.MAX_YEAR)) == parse.MAX_YEAR
    for bad in (str(parse.MAX_TIME_MS + 1), "-1"):
        with pytest.raises(parse.BadNumber, match="ms since the epoch"):
            parse.time_ms(bad)
    for bad in ("1969", str(parse.MAX_YEAR + 1), "2565", "9999"):
        with pytest.raises(parse.BadNumber, match="year from 1970 to 2254"):
            parse.year(bad)
