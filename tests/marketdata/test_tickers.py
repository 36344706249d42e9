"""24 h ticker statistics and the volume-weighted average price (exchange.marketdata.tickers)."""

from decimal import Decimal

from exchange.engine import Instrument
from exchange.marketdata.tickers import DAY_MS, WindowStats, ratio, ticker, vwap, window_start_ns

INST = Instrument("AAPL", "AAPL", "USD", Decimal("0.01"), Decimal("1"), base_decimals=0,
                  quote_decimals=2)
STATS = WindowStats(count=3, first_id=1, last_id=3, open=100_00, high=101_50, low=99_25,
                    last=99_25, last_qty=1, volume=6, quote_volume=603_75)
NOW = 1_714_566_896_789


def test_the_window_is_the_24_hours_up_to_now():
    assert window_start_ns(NOW) == (NOW - DAY_MS) * 1_000_000


def test_a_full_ticker_from_the_window():
    assert ticker(INST, STATS, NOW, True, ((98_00, 5), (102_00, 4))) == {
        "symbol": "AAPL", "priceChange": "-0.75", "priceChangePercent": "-0.750",
        "weightedAvgPrice": "100.62500000", "prevClosePrice": "100.00", "lastPrice": "99.25",
        "lastQty": "1", "bidPrice": "98.00", "bidQty": "5", "askPrice": "102.00", "askQty": "4",
        "openPrice": "100.00", "highPrice": "101.50", "lowPrice": "99.25", "volume": "6",
        "quoteVolume": "603.75", "openTime": NOW - DAY_MS, "closeTime": NOW, "firstId": 1,
        "lastId": 3, "count": 3}


def test_a_mini_ticker_has_no_change_best_prices_or_last_qty():
    assert ticker(INST, STATS, NOW, False, (None, None)) == {
        "symbol": "AAPL", "lastPrice": "99.25", "openPrice": "100.00", "highPrice": "101.50",
        "lowPrice": "99.25", "volume": "6", "quoteVolume": "603.75",
        "openTime": NOW - DAY_MS, "closeTime": NOW, "firstId": 1, "lastId": 3, "count": 3}


def test_without_trades_the_last_price_stands_everywhere_and_the_book_may_be_empty():
    t = ticker(INST, WindowStats.empty(100_00), NOW, True, (None, None))
    assert (t["openPrice"], t["highPrice"], t["lowPrice"], t["lastPrice"]) == (
        "100.00", "100.00", "100.00", "100.00")
    assert (t["priceChange"], t["priceChangePercent"], t["weightedAvgPrice"]) == (
        "0.00", "0.000", "0.00000000")
    assert (t["volume"], t["quoteVolume"], t["count"], t["firstId"], t["lastId"]) == (
        "0", "0.00", 0, -1, -1)
    assert (t["bidPrice"], t["bidQty"], t["askPrice"], t["askQty"]) == ("0.00", "0", "0.00", "0")
    zero = ticker(INST, WindowStats.empty(0), NOW, True, (None, None))
    assert zero["priceChangePercent"] == "0.000"   # no open price: no division


def test_a_rise_has_no_sign_and_ratios_round_half_to_even():
    up = WindowStats(count=2, first_id=1, last_id=2, open=300_00, high=301_00, low=300_00,
                     last=301_00, last_qty=1, volume=2, quote_volume=601_00)
    t = ticker(INST, up, NOW, True, (None, None))
    assert (t["priceChange"], t["priceChangePercent"]) == ("1.00", "0.333")
    assert ratio(1, 8, 2) == "0.12" and ratio(3, 8, 2) == "0.38" and ratio(5, 0, 3) == "0.000"


def test_vwap_is_quote_per_base_unit_with_8_places():
    assert vwap(INST, 603_75, 6) == "100.62500000"
    assert vwap(INST, 100_00, 3) == "33.33333333"
    assert vwap(INST, 0, 0) == "0.00000000"
    fractional = Instrument("X", "X", "USD", Decimal("0.01"), Decimal("0.001"), base_decimals=3,
                            quote_decimals=2)
    assert vwap(fractional, 10_00, 500) == "20.00000000"   # 10.00 for 0.5 units
