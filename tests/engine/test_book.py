"""The order book, specified by example: each test names one behaviour and
asserts the exact events it produces.

Every call goes through ``CheckedBook``, which runs ``OrderBook.check()`` after
it, so each step of each test also checks the book's internal invariants.

Besides the project's own rules (iceberg refresh, self-trade prevention,
amend priority, funds-capped market orders), the file restates in its own
words the classic sequences that public matching-engine suites test
(exchange-core, parity, liquibook): sweeping several levels, a marketable
limit resting its remainder, cancelling a partly filled order, an
ineffective cancel, moving an order into a cross, all-or-nothing.
"""

from decimal import Decimal

import pytest

from exchange.engine import (STP, Accepted, Amended, Canceled, Expired, Filled, OrderBook, Reason,
                             Rejected, Rested, Side, TimeInForce)
from exchange.engine.book import MOVED_KEPT, MOVED_REQUEUED, BookOrder, Moved, MoveOutcome

BUY, SELL = "buy", "sell"
R = Reason


class CheckedBook:
    """Proxy to an ``OrderBook`` that asserts its invariants after every call."""

    def __init__(self):
        self._book = OrderBook()

    def __getattr__(self, name):
        attr = getattr(self._book, name)
        if not callable(attr):
            return attr

        def checked(*args, **kwargs):
            result = attr(*args, **kwargs)
            self._book.check()
            return result

        return checked


def snapshot(book, ids):
    """Everything the surface shows: depth, top of book, and each order."""
    return book.depth(1000), book.best_bid(), book.best_ask(), [book.order(i) for i in ids]


@pytest.fixture
def book():
    return CheckedBook()


STANDARD_IDS = ["a1", "a2", "a3", "b1", "b2"]


@pytest.fixture
def standard(book):
    """Asks 101: a1 5, a2 7; 103: a3 10.  Bids 99: b1 4; 98: b2 6."""
    book.limit("a1", SELL, 101, 5)
    book.limit("a2", SELL, 101, 7)
    book.limit("a3", SELL, 103, 10)
    book.limit("b1", BUY, 99, 4)
    book.limit("b2", BUY, 98, 6)
    return book


# ---- resting and queries -----------------------------------------------------------


def test_limit_on_empty_book_is_accepted_and_rests(book):
    assert book.limit(1, BUY, 100, 10) == [Accepted.of(1, BUY, 100, 10), Rested.of(1, BUY, 100, 10)]
    assert book.best_bid() == (100, 10)
    assert book.best_ask() is None
    assert book.order(1) == (BUY, 100, 10, 10)


def test_empty_book_has_no_top_and_no_depth(book):
    assert book.best_bid() is None
    assert book.best_ask() is None
    assert book.depth() == ([], [])
    assert book.order("nope") is None


def test_depth_sums_visible_qty_and_counts_orders_best_first(standard):
    assert standard.depth() == ([(99, 4, 1), (98, 6, 1)], [(101, 12, 2), (103, 10, 1)])
    assert standard.best_bid() == (99, 4)
    assert standard.best_ask() == (101, 12)


def test_depth_returns_at_most_n_levels(standard):
    assert standard.depth(1) == ([(99, 4, 1)], [(101, 12, 2)])


def test_orders_that_do_not_cross_both_rest(book):
    assert book.limit(1, BUY, 100, 3) == [Accepted.of(1, BUY, 100, 3), Rested.of(1, BUY, 100, 3)]
    assert book.limit(2, SELL, 101, 4) == [Accepted.of(2, SELL, 101, 4), Rested.of(2, SELL, 101, 4)]
    assert book.depth() == ([(100, 3, 1)], [(101, 4, 1)])


def test_side_may_be_given_in_capitals(book):
    assert book.limit(1, "BUY", 100, 3) == [Accepted.of(1, BUY, 100, 3), Rested.of(1, BUY, 100, 3)]


# ---- matching ----------------------------------------------------------------------


def test_buy_fills_at_resting_ask_price_not_its_own_limit(book):
    book.limit("a", SELL, 101, 5)
    assert book.limit("t", BUY, 105, 5) == [
        Accepted.of("t", BUY, 105, 5),
        Filled.of("a", "t", 101, 5, 0, 0, BUY),
    ]
    assert book.depth() == ([], [])
    assert book.order("a") is None and book.order("t") is None


def test_sell_fills_at_resting_bid_price_not_its_own_limit(book):
    book.limit("b", BUY, 99, 5)
    assert book.limit("t", SELL, 90, 2) == [
        Accepted.of("t", SELL, 90, 2),
        Filled.of("b", "t", 99, 2, 3, 0, SELL),
    ]
    assert book.best_bid() == (99, 3)


def test_fills_are_fifo_within_a_level(standard):
    assert standard.limit("t", BUY, 101, 8) == [
        Accepted.of("t", BUY, 101, 8),
        Filled.of("a1", "t", 101, 5, 0, 3, BUY),
        Filled.of("a2", "t", 101, 3, 4, 0, BUY),
    ]
    assert standard.best_ask() == (101, 4)
    assert standard.order("a2") == (SELL, 101, 4, 4)


def test_better_price_beats_earlier_time(book):
    book.limit("early", SELL, 102, 5)
    book.limit("better", SELL, 101, 5)
    assert book.limit("t", BUY, 102, 1) == [
        Accepted.of("t", BUY, 102, 1),
        Filled.of("better", "t", 101, 1, 4, 0, BUY),
    ]


def test_partially_filled_maker_keeps_its_queue_position(standard):
    standard.limit("t1", BUY, 101, 2)
    assert standard.limit("t2", BUY, 101, 4) == [
        Accepted.of("t2", BUY, 101, 4),
        Filled.of("a1", "t2", 101, 3, 0, 1, BUY),
        Filled.of("a2", "t2", 101, 1, 6, 0, BUY),
    ]


def test_marketable_limit_sweeps_levels_and_rests_remainder_at_its_limit(standard):
    # exchange-core: a GTC order crossing the spread matches, then places the rest.
    assert standard.limit("t", BUY, 102, 15) == [
        Accepted.of("t", BUY, 102, 15),
        Filled.of("a1", "t", 101, 5, 0, 10, BUY),
        Filled.of("a2", "t", 101, 7, 0, 3, BUY),
        Rested.of("t", BUY, 102, 3),
    ]
    assert standard.depth() == ([(102, 3, 1), (99, 4, 1), (98, 6, 1)], [(103, 10, 1)])
    assert standard.order("t") == (BUY, 102, 3, 3)


def test_taker_never_trades_past_its_limit(standard):
    assert standard.limit("t", BUY, 101, 20) == [
        Accepted.of("t", BUY, 101, 20),
        Filled.of("a1", "t", 101, 5, 0, 15, BUY),
        Filled.of("a2", "t", 101, 7, 0, 8, BUY),
        Rested.of("t", BUY, 101, 8),
    ]
    assert standard.best_ask() == (103, 10)
    assert standard.best_bid() == (101, 8)


def test_sweeping_every_level_exactly_empties_the_side(standard):
    # parity: one incoming order consuming several price levels.
    assert standard.limit("t", BUY, 103, 22) == [
        Accepted.of("t", BUY, 103, 22),
        Filled.of("a1", "t", 101, 5, 0, 17, BUY),
        Filled.of("a2", "t", 101, 7, 0, 10, BUY),
        Filled.of("a3", "t", 103, 10, 0, 0, BUY),
    ]
    assert standard.best_ask() is None
    assert standard.depth() == ([(99, 4, 1), (98, 6, 1)], [])


def test_sell_sweeps_bids_from_highest_down(standard):
    assert standard.limit("t", SELL, 97, 12) == [
        Accepted.of("t", SELL, 97, 12),
        Filled.of("b1", "t", 99, 4, 0, 8, SELL),
        Filled.of("b2", "t", 98, 6, 0, 2, SELL),
        Rested.of("t", SELL, 97, 2),
    ]
    assert standard.best_bid() is None
    assert standard.best_ask() == (97, 2)


def test_emptied_level_can_be_used_again(book):
    book.limit("a", SELL, 101, 1)
    book.limit("t", BUY, 101, 1)
    assert book.limit("b", SELL, 101, 2) == [Accepted.of("b", SELL, 101, 2), Rested.of("b", SELL, 101, 2)]
    assert book.depth() == ([], [(101, 2, 1)])


# ---- cancel ------------------------------------------------------------------------


def test_cancel_removes_resting_order_and_reports_open_qty(standard):
    assert standard.cancel("a3") == [Canceled.of("a3", 10, R.USER)]
    assert standard.order("a3") is None
    assert standard.depth() == ([(99, 4, 1), (98, 6, 1)], [(101, 12, 2)])


def test_cancel_of_partially_filled_order_reports_what_was_left(standard):
    # parity: a partial cancel after a partial fill.
    standard.limit("t", BUY, 101, 2)
    assert standard.cancel("a1") == [Canceled.of("a1", 3, R.USER)]
    assert standard.best_ask() == (101, 7)


def test_cancel_of_unknown_order_is_rejected(standard):
    # parity: an ineffective cancel.
    before = snapshot(standard, STANDARD_IDS)
    assert standard.cancel("zz") == [Rejected.of("zz", R.UNKNOWN_ORDER)]
    assert snapshot(standard, STANDARD_IDS) == before


def test_cancel_twice_is_rejected_the_second_time(standard):
    assert standard.cancel("b1") == [Canceled.of("b1", 4, R.USER)]
    assert standard.cancel("b1") == [Rejected.of("b1", R.UNKNOWN_ORDER)]


def test_cancel_of_filled_order_is_rejected(standard):
    standard.limit("t", BUY, 101, 5)
    assert standard.cancel("a1") == [Rejected.of("a1", R.UNKNOWN_ORDER)]


def test_cancel_of_last_order_at_best_level_moves_the_top(standard):
    standard.cancel("b1")
    assert standard.best_bid() == (98, 6)


def test_cancel_in_middle_of_queue_keeps_the_others_in_order(book):
    for oid in ("x", "y", "z"):
        book.limit(oid, SELL, 101, 2)
    book.cancel("y")
    assert book.limit("t", BUY, 101, 3) == [
        Accepted.of("t", BUY, 101, 3),
        Filled.of("x", "t", 101, 2, 0, 1, BUY),
        Filled.of("z", "t", 101, 1, 1, 0, BUY),
    ]


# ---- rejections change nothing -----------------------------------------------------

GOOD_LIMIT = dict(side=BUY, price=101, qty=5)  # would trade against the standard book


@pytest.mark.parametrize("bad, reason", [
    (dict(price=0), R.INVALID_PRICE),
    (dict(price=-101), R.INVALID_PRICE),
    (dict(price=101.0), R.INVALID_PRICE),
    (dict(price="101"), R.INVALID_PRICE),
    (dict(price=True), R.INVALID_PRICE),
    (dict(price=None), R.INVALID_PRICE),
    (dict(qty=0), R.INVALID_QUANTITY),
    (dict(qty=-5), R.INVALID_QUANTITY),
    (dict(qty=5.0), R.INVALID_QUANTITY),
    (dict(qty=True), R.INVALID_QUANTITY),
    (dict(qty=None), R.INVALID_QUANTITY),
    (dict(side="hold"), R.INVALID_SIDE),
    (dict(side=None), R.INVALID_SIDE),
    (dict(tif="DAY"), R.INVALID_TIF),
    (dict(tif="gtc"), R.INVALID_TIF),
    (dict(tif=None), R.INVALID_TIF),
    (dict(stp="EXPIRE"), R.INVALID_STP),
    (dict(display_qty=0), R.INVALID_DISPLAY_QUANTITY),
    (dict(display_qty=-1), R.INVALID_DISPLAY_QUANTITY),
    (dict(display_qty=6), R.INVALID_DISPLAY_QUANTITY),
    (dict(display_qty=2.5), R.INVALID_DISPLAY_QUANTITY),
], ids=repr)
def test_invalid_limit_is_rejected_and_changes_nothing(standard, bad, reason):
    before = snapshot(standard, STANDARD_IDS)
    assert standard.limit("t", **(GOOD_LIMIT | bad)) == [Rejected.of("t", reason)]
    assert snapshot(standard, STANDARD_IDS) == before
    assert standard.order("t") is None


@pytest.mark.parametrize("bad, reason", [
    (dict(qty=0), R.INVALID_QUANTITY),
    (dict(qty=-1), R.INVALID_QUANTITY),
    (dict(qty=1.5), R.INVALID_QUANTITY),
    (dict(qty=None), R.INVALID_QUANTITY),  # neither qty nor funds
    (dict(funds=0), R.INVALID_QUANTITY),
    (dict(funds=-10), R.INVALID_QUANTITY),
    (dict(funds=10.5), R.INVALID_QUANTITY),
    (dict(funds=True), R.INVALID_QUANTITY),
    (dict(price=0), R.INVALID_PRICE),
    (dict(price=101.5), R.INVALID_PRICE),
    (dict(side="hold"), R.INVALID_SIDE),
    (dict(stp="EXPIRE"), R.INVALID_STP),
], ids=repr)
def test_invalid_market_is_rejected_and_changes_nothing(standard, bad, reason):
    before = snapshot(standard, STANDARD_IDS)
    assert standard.market("t", **(dict(side=BUY, qty=5) | bad)) == [Rejected.of("t", reason)]
    assert snapshot(standard, STANDARD_IDS) == before


@pytest.mark.parametrize("bad, reason", [
    (dict(qty=0), R.INVALID_QUANTITY),
    (dict(qty=-1), R.INVALID_QUANTITY),
    (dict(qty=2.5), R.INVALID_QUANTITY),
    (dict(qty=True), R.INVALID_QUANTITY),
    (dict(price=0), R.INVALID_PRICE),
    (dict(price=-99), R.INVALID_PRICE),
    (dict(price=100.5), R.INVALID_PRICE),
    (dict(price="100"), R.INVALID_PRICE),
], ids=repr)
def test_invalid_amend_is_rejected_and_changes_nothing(standard, bad, reason):
    before = snapshot(standard, STANDARD_IDS)
    assert standard.amend("b1", **bad) == [Rejected.of("b1", reason)]
    assert snapshot(standard, STANDARD_IDS) == before


@pytest.mark.parametrize("price", [99.0, Decimal(99)], ids=repr)
def test_amend_to_non_int_price_equal_to_current_is_rejected(standard, price):
    # b1 rests at 99: a non-int price is invalid even when it compares equal.
    before = snapshot(standard, STANDARD_IDS)
    assert standard.amend("b1", qty=2, price=price) == [Rejected.of("b1", R.INVALID_PRICE)]
    assert snapshot(standard, STANDARD_IDS) == before


def test_amend_of_unknown_order_is_rejected(standard):
    assert standard.amend("zz", qty=1) == [Rejected.of("zz", R.UNKNOWN_ORDER)]


@pytest.mark.parametrize("bad, reason", [
    (dict(side=[BUY]), R.INVALID_SIDE),
    (dict(tif=["GTC"]), R.INVALID_TIF),
    (dict(stp={"mode": "EXPIRE_TAKER"}), R.INVALID_STP),
], ids=repr)
def test_unhashable_side_tif_or_stp_is_rejected_not_raised(standard, bad, reason):
    before = snapshot(standard, STANDARD_IDS)
    assert standard.limit("t", **(GOOD_LIMIT | bad)) == [Rejected.of("t", reason)]
    assert snapshot(standard, STANDARD_IDS) == before


@pytest.mark.parametrize("enter", [
    lambda b: b.limit("b1", SELL, 120, 1),
    lambda b: b.limit("b1", BUY, 101, 1, tif="IOC"),
    lambda b: b.market("b1", BUY, 1),
], ids=["limit", "ioc", "market"])
def test_order_id_of_a_resting_order_is_rejected_as_duplicate(standard, enter):
    before = snapshot(standard, STANDARD_IDS)
    assert enter(standard) == [Rejected.of("b1", R.DUPLICATE_ORDER_ID)]
    assert snapshot(standard, STANDARD_IDS) == before


# ---- time in force -----------------------------------------------------------------


def test_ioc_fills_what_it_can_and_expires_the_rest(standard):
    assert standard.limit("t", BUY, 101, 15, tif="IOC") == [
        Accepted.of("t", BUY, 101, 15),
        Filled.of("a1", "t", 101, 5, 0, 10, BUY),
        Filled.of("a2", "t", 101, 7, 0, 3, BUY),
        Expired.of("t", 3, R.IOC),
    ]
    assert standard.order("t") is None
    assert standard.best_bid() == (99, 4)


def test_ioc_that_does_not_cross_expires_whole(standard):
    assert standard.limit("t", BUY, 100, 5, tif="IOC") == [
        Accepted.of("t", BUY, 100, 5),
        Expired.of("t", 5, R.IOC),
    ]
    assert standard.best_bid() == (99, 4)


def test_ioc_filled_completely_has_no_expiry(standard):
    assert standard.limit("t", SELL, 99, 4, tif="IOC") == [
        Accepted.of("t", SELL, 99, 4),
        Filled.of("b1", "t", 99, 4, 0, 0, SELL),
    ]


def test_fok_that_can_fill_fills_completely_across_levels(standard):
    # liquibook: all-or-nothing that the book can satisfy.
    assert standard.limit("t", BUY, 103, 20, tif="FOK") == [
        Accepted.of("t", BUY, 103, 20),
        Filled.of("a1", "t", 101, 5, 0, 15, BUY),
        Filled.of("a2", "t", 101, 7, 0, 8, BUY),
        Filled.of("a3", "t", 103, 8, 2, 0, BUY),
    ]
    assert standard.best_ask() == (103, 2)


def test_fok_for_exactly_the_available_qty_fills(standard):
    assert standard.limit("t", BUY, 101, 12, tif="FOK") == [
        Accepted.of("t", BUY, 101, 12),
        Filled.of("a1", "t", 101, 5, 0, 7, BUY),
        Filled.of("a2", "t", 101, 7, 0, 0, BUY),
    ]


def test_fok_that_cannot_fill_changes_nothing(standard):
    before = snapshot(standard, STANDARD_IDS)
    assert standard.limit("t", BUY, 101, 13, tif="FOK") == [
        Accepted.of("t", BUY, 101, 13),
        Expired.of("t", 13, R.FOK),
    ]
    assert snapshot(standard, STANDARD_IDS) == before


def test_fok_that_does_not_cross_expires(standard):
    assert standard.limit("t", SELL, 100, 1, tif="FOK") == [
        Accepted.of("t", SELL, 100, 1),
        Expired.of("t", 1, R.FOK),
    ]


def test_fok_counts_hidden_iceberg_quantity(book):
    book.limit("ice", SELL, 101, 10, display_qty=2)
    assert book.limit("t", BUY, 101, 10, tif="FOK") == [
        Accepted.of("t", BUY, 101, 10),
        Filled.of("ice", "t", 101, 2, 8, 8, BUY),
        Filled.of("ice", "t", 101, 2, 6, 6, BUY),
        Filled.of("ice", "t", 101, 2, 4, 4, BUY),
        Filled.of("ice", "t", 101, 2, 2, 2, BUY),
        Filled.of("ice", "t", 101, 2, 0, 0, BUY),
    ]
    assert book.best_ask() is None


def test_fok_that_would_meet_own_order_with_expire_taker_changes_nothing(book):
    book.limit("other", SELL, 101, 3, owner="bob")
    book.limit("own", SELL, 101, 5, owner="alice")
    book.limit("after", SELL, 101, 5, owner="bob")
    before = snapshot(book, ["other", "own", "after"])
    assert book.limit("t", BUY, 101, 6, tif="FOK", owner="alice", stp="EXPIRE_TAKER") == [
        Accepted.of("t", BUY, 101, 6),
        Expired.of("t", 6, R.FOK),
    ]
    assert snapshot(book, ["other", "own", "after"]) == before


def test_fok_with_expire_maker_does_not_count_own_orders(book):
    book.limit("own", SELL, 101, 5, owner="alice")
    book.limit("other", SELL, 101, 7, owner="bob")
    before = snapshot(book, ["own", "other"])
    assert book.limit("t1", BUY, 101, 8, tif="FOK", owner="alice", stp="EXPIRE_MAKER") == [
        Accepted.of("t1", BUY, 101, 8),
        Expired.of("t1", 8, R.FOK),
    ]
    assert snapshot(book, ["own", "other"]) == before
    assert book.limit("t2", BUY, 101, 7, tif="FOK", owner="alice", stp="EXPIRE_MAKER") == [
        Accepted.of("t2", BUY, 101, 7),
        Expired.of("own", 5, R.STP),
        Filled.of("other", "t2", 101, 7, 0, 0, BUY),
    ]
    assert book.depth() == ([], [])


# ---- post-only ---------------------------------------------------------------------


def test_post_only_that_would_take_is_rejected(standard):
    before = snapshot(standard, STANDARD_IDS)
    assert standard.limit("t", BUY, 101, 1, post_only=True) == [
        Rejected.of("t", R.POST_ONLY_WOULD_TAKE)]
    assert snapshot(standard, STANDARD_IDS) == before


def test_post_only_that_does_not_cross_rests(standard):
    assert standard.limit("t", BUY, 100, 1, post_only=True) == [
        Accepted.of("t", BUY, 100, 1), Rested.of("t", BUY, 100, 1)]
    assert standard.best_bid() == (100, 1)


def test_post_only_amended_into_a_cross_is_rejected(standard):
    standard.limit("p", BUY, 100, 2, post_only=True)
    assert standard.amend("p", price=101) == [Rejected.of("p", R.POST_ONLY_WOULD_TAKE)]
    assert standard.order("p") == (BUY, 100, 2, 2)


def test_post_only_may_be_amended_to_a_price_that_does_not_cross(standard):
    standard.limit("p", BUY, 100, 2, post_only=True)
    assert standard.amend("p", price=97) == [Amended.of("p", BUY, 97, 2, False)]


# ---- market orders -----------------------------------------------------------------


def test_market_buy_sweeps_levels_until_filled(standard):
    assert standard.market("t", BUY, 15) == [
        Accepted.of("t", BUY, None, 15),
        Filled.of("a1", "t", 101, 5, 0, 10, BUY),
        Filled.of("a2", "t", 101, 7, 0, 3, BUY),
        Filled.of("a3", "t", 103, 3, 7, 0, BUY),
    ]


def test_market_remainder_expires_and_never_rests(standard):
    assert standard.market("t", BUY, 30) == [
        Accepted.of("t", BUY, None, 30),
        Filled.of("a1", "t", 101, 5, 0, 25, BUY),
        Filled.of("a2", "t", 101, 7, 0, 18, BUY),
        Filled.of("a3", "t", 103, 10, 0, 8, BUY),
        Expired.of("t", 8, R.MARKET),
    ]
    assert standard.order("t") is None
    assert standard.best_ask() is None
    assert standard.best_bid() == (99, 4)


def test_market_on_an_empty_side_expires_whole(book):
    assert book.market("t", SELL, 5) == [Accepted.of("t", SELL, None, 5), Expired.of("t", 5, R.MARKET)]


def test_market_sell_hits_bids_best_first(standard):
    assert standard.market("t", SELL, 5) == [
        Accepted.of("t", SELL, None, 5),
        Filled.of("b1", "t", 99, 4, 0, 1, SELL),
        Filled.of("b2", "t", 98, 1, 5, 0, SELL),
    ]


def test_market_protection_price_limits_the_sweep(standard):
    events = standard.market("t", BUY, 20, price=101)
    assert events[1:-1] == [
        Filled.of("a1", "t", 101, 5, 0, 15, BUY),
        Filled.of("a2", "t", 101, 7, 0, 8, BUY),
    ]
    assert standard.best_ask() == (103, 10)
    assert standard.order("t") is None


def test_market_with_protection_price_expires_as_a_market_order(standard):
    # Reason.MARKET marks a market remainder; a protection price does not make it an IOC limit.
    assert standard.market("t", BUY, 20, price=101)[-1] == Expired.of("t", 8, R.MARKET)


def test_market_with_protection_price_is_accepted_without_a_price(standard):
    # events.Accepted: "price is None for a market order".
    assert standard.market("t", BUY, 20, price=101)[0] == Accepted.of("t", BUY, None, 20)


def test_market_funds_cap_the_notional_before_qty_runs_out(standard):
    events = standard.market("t", BUY, 20, funds=1000)
    assert events[:-1] == [
        Accepted.of("t", BUY, None, 20),
        Filled.of("a1", "t", 101, 5, 0, 15, BUY),
        Filled.of("a2", "t", 101, 4, 3, 11, BUY),  # 9 lots x 101 = 909; a 10th would cost 1010
    ]
    # The remainder expires; the reason (MARKET or FUNDS) is not specified.
    expired = events[-1]
    assert type(expired) is Expired and expired.values()[:2] == ("t", 11)
    assert expired.reason in (R.MARKET, R.FUNDS)
    assert standard.best_ask() == (101, 3)


def test_market_qty_binds_before_funds(standard):
    assert standard.market("t", BUY, 3, funds=10_000) == [
        Accepted.of("t", BUY, None, 3),
        Filled.of("a1", "t", 101, 3, 2, 0, BUY),
    ]


def test_market_funds_alone_spend_at_most_the_funds(standard):
    events = standard.market("t", BUY, funds=1500)
    fills = [(e.maker_order_id, e.price, e.qty) for e in events if type(e) is Filled]
    # 12 lots at 101 cost 1212; 2 more at 103 cost 206; a third would pass 1500.
    assert fills == [("a1", 101, 5), ("a2", 101, 7), ("a3", 103, 2)]
    assert sum(p * q for _, p, q in fills) <= 1500
    assert type(events[0]) is Accepted and events[0].values()[:3] == ("t", BUY, None)
    assert type(events[-1]) is Expired
    assert standard.order("t") is None
    assert standard.best_ask() == (103, 8)


def test_market_funds_below_the_best_price_fill_nothing(standard):
    before = snapshot(standard, STANDARD_IDS)
    events = standard.market("t", BUY, 5, funds=100)
    assert events == [Accepted.of("t", BUY, None, 5), Expired.of("t", 5, events[-1].reason)]
    assert snapshot(standard, STANDARD_IDS) == before


def test_market_sell_funds_cap_the_proceeds(standard):
    events = standard.market("t", SELL, 10, funds=500)
    assert events[1:-1] == [
        Filled.of("b1", "t", 99, 4, 0, 6, SELL),   # 396
        Filled.of("b2", "t", 98, 1, 5, 5, SELL),   # 494; one more lot would pass 500
    ]
    assert type(events[-1]) is Expired and events[-1].values()[:2] == ("t", 5)


# ---- amend -------------------------------------------------------------------------


def test_amend_down_keeps_queue_position(standard):
    assert standard.amend("a1", qty=3) == [Amended.of("a1", SELL, 101, 3, True)]
    assert standard.best_ask() == (101, 10)
    assert standard.limit("t", BUY, 101, 4) == [
        Accepted.of("t", BUY, 101, 4),
        Filled.of("a1", "t", 101, 3, 0, 1, BUY),
        Filled.of("a2", "t", 101, 1, 6, 0, BUY),
    ]


def test_amend_down_naming_the_same_price_keeps_queue_position(standard):
    assert standard.amend("a1", qty=3, price=101) == [Amended.of("a1", SELL, 101, 3, True)]
    assert standard.limit("t", BUY, 101, 1)[1] == Filled.of("a1", "t", 101, 1, 2, 0, BUY)


def test_amend_to_the_same_qty_keeps_queue_position(standard):
    assert standard.amend("a1", qty=5) == [Amended.of("a1", SELL, 101, 5, True)]
    assert standard.amend("a1") == [Amended.of("a1", SELL, 101, 5, True)]
    assert standard.limit("t", BUY, 101, 1)[1] == Filled.of("a1", "t", 101, 1, 4, 0, BUY)


def test_amend_up_loses_queue_position(standard):
    assert standard.amend("a1", qty=8) == [Amended.of("a1", SELL, 101, 8, False)]
    assert standard.best_ask() == (101, 15)
    assert standard.limit("t", BUY, 101, 9) == [
        Accepted.of("t", BUY, 101, 9),
        Filled.of("a2", "t", 101, 7, 0, 2, BUY),
        Filled.of("a1", "t", 101, 2, 6, 0, BUY),
    ]


def test_amend_price_goes_to_back_of_the_new_level(standard):
    assert standard.amend("a1", price=103) == [Amended.of("a1", SELL, 103, 5, False)]
    assert standard.depth() == ([(99, 4, 1), (98, 6, 1)], [(101, 7, 1), (103, 15, 2)])
    assert standard.limit("t", BUY, 103, 10) == [
        Accepted.of("t", BUY, 103, 10),
        Filled.of("a2", "t", 101, 7, 0, 3, BUY),
        Filled.of("a3", "t", 103, 3, 7, 0, BUY),
    ]


def test_amend_price_away_and_back_loses_queue_position(standard):
    standard.amend("a1", price=102)
    assert standard.amend("a1", price=101) == [Amended.of("a1", SELL, 101, 5, False)]
    assert standard.limit("t", BUY, 101, 1)[1] == Filled.of("a2", "t", 101, 1, 6, 0, BUY)


def test_amend_price_and_qty_together(standard):
    assert standard.amend("b2", qty=2, price=100) == [Amended.of("b2", BUY, 100, 2, False)]
    assert standard.depth()[0] == [(100, 2, 1), (99, 4, 1)]


def test_amend_into_a_cross_trades_at_once_as_the_incoming_side(standard):
    # exchange-core: moving an order to a marketable price matches it.
    assert standard.amend("b1", price=101) == [
        Amended.of("b1", BUY, 101, 4, False),
        Filled.of("a1", "b1", 101, 4, 1, 0, BUY),
    ]
    assert standard.order("b1") is None
    assert standard.depth() == ([(98, 6, 1)], [(101, 8, 2), (103, 10, 1)])


def test_amend_into_a_cross_rests_the_remainder_at_the_new_price(standard):
    assert standard.amend("b2", qty=20, price=102) == [
        Amended.of("b2", BUY, 102, 20, False),
        Filled.of("a1", "b2", 101, 5, 0, 15, BUY),
        Filled.of("a2", "b2", 101, 7, 0, 8, BUY),
        Rested.of("b2", BUY, 102, 8),
    ]
    assert standard.order("b2") == (BUY, 102, 8, 8)
    assert standard.best_bid() == (102, 8)
    assert standard.best_ask() == (103, 10)


def test_amend_sell_into_a_cross_fills_at_the_bid_price(standard):
    assert standard.amend("a3", price=98) == [
        Amended.of("a3", SELL, 98, 10, False),
        Filled.of("b1", "a3", 99, 4, 0, 6, SELL),
        Filled.of("b2", "a3", 98, 6, 0, 0, SELL),
    ]
    assert standard.best_bid() is None


def test_amend_of_filled_order_is_rejected(standard):
    standard.limit("t", SELL, 99, 4)
    assert standard.amend("b1", qty=1) == [Rejected.of("b1", R.UNKNOWN_ORDER)]


def test_amend_into_a_cross_applies_self_trade_prevention(book):
    book.limit("own", SELL, 101, 5, owner="alice")
    book.limit("bid", BUY, 100, 3, owner="alice", stp="EXPIRE_TAKER")
    assert book.amend("bid", price=101) == [
        Amended.of("bid", BUY, 101, 3, False),
        Expired.of("bid", 3, R.STP),
    ]
    assert book.order("bid") is None
    assert book.order("own") == (SELL, 101, 5, 5)


# ---- a caller's own record and move ----------------------------------------------------


class Record(BookOrder):
    """A caller's order record, as the sequencer's Order is: the book keeps it."""

    __slots__ = ("note",)


def test_limit_keeps_the_callers_record_and_updates_it_in_place(book):
    rec = Record()
    rec.note = "mine"
    book.limit("b", BUY, 99, 5, record=rec)
    book.limit("t", SELL, 99, 2)
    assert (rec.order_id, rec.side, rec.price, rec.open, rec.note) == ("b", BUY, 99, 3, "mine")
    assert book.order("b") == (BUY, 99, 3, 3)


def test_a_record_is_kept_only_if_the_order_rests(book):
    book.limit("a", SELL, 101, 2)
    rec = Record()
    assert book.limit("t", BUY, 101, 2, tif="IOC", record=rec)[-1] == Filled.of(
        "a", "t", 101, 2, 0, 0, BUY)
    assert book.order("t") is None and not hasattr(rec, "level")


def test_move_moves_a_record_and_reports_nothing(standard):
    rec = Record()
    standard.limit("r", BUY, 97, 3, record=rec)
    assert standard.move(rec, 3, 100) is MOVED_REQUEUED
    assert (rec.price, rec.open) == (100, 3)
    assert standard.depth()[0][0] == (100, 3, 1)
    assert standard.move(rec, 1, 100) is MOVED_KEPT  # a decrease in place: it keeps its priority
    assert standard.order("r") == (BUY, 100, 1, 1)
    with pytest.raises(AttributeError):   # the shared results cannot be changed
        MOVED_KEPT.events = [Amended.of("r", BUY, 100, 1, True)]


def test_move_into_a_cross_returns_amends_events(standard):
    rec = Record()
    standard.limit("r", BUY, 97, 6, record=rec)
    assert standard.move(rec, 6, 101) == Moved(MoveOutcome.CROSSED, [
        Amended.of("r", BUY, 101, 6, False),
        Filled.of("a1", "r", 101, 5, 0, 1, BUY),
        Filled.of("a2", "r", 101, 1, 6, 0, BUY),
    ])
    assert standard.order("r") is None


def test_move_of_a_post_only_record_into_a_cross_is_rejected(standard):
    rec = Record()
    standard.limit("r", BUY, 97, 2, post_only=True, record=rec)
    assert standard.move(rec, 2, 101) == Moved(MoveOutcome.REFUSED,
                                               [Rejected.of("r", R.POST_ONLY_WOULD_TAKE)])
    assert standard.order("r") == (BUY, 97, 2, 2)


def test_submit_enters_a_checked_order_as_limit_does(standard):
    rec = Record()
    assert standard.submit("r", Side.BUY, 101, 6, TimeInForce.GTC, False, None, STP.NONE, 2,
                           rec) == [
        Accepted.of("r", Side.BUY, 101, 6),
        Filled.of("a1", "r", 101, 5, 0, 1, Side.BUY),
        Filled.of("a2", "r", 101, 1, 6, 0, Side.BUY),
    ]
    assert standard.submit("s", Side.SELL, 104, 4, TimeInForce.GTC, False, None, STP.NONE, 2,
                           rec) == [Accepted.of("s", Side.SELL, 104, 4),
                                    Rested.of("s", Side.SELL, 104, 4)]
    assert standard.order("s") == (Side.SELL, 104, 4, 2) and rec.order_id == "s"
    assert standard.submit("i", Side.BUY, 99, 1, TimeInForce.IOC, False, None,
                           STP.NONE, None) == [Accepted.of("i", Side.BUY, 99, 1),
                                               Expired.of("i", 1, R.IOC)]


# ---- iceberg -----------------------------------------------------------------------


def test_iceberg_shows_only_its_display_slice(book):
    assert book.limit("ice", SELL, 101, 10, display_qty=3) == [
        Accepted.of("ice", SELL, 101, 10), Rested.of("ice", SELL, 101, 10)]
    assert book.best_ask() == (101, 3)
    assert book.depth() == ([], [(101, 3, 1)])
    assert book.order("ice") == (SELL, 101, 10, 3)


def test_iceberg_refresh_goes_to_back_of_queue(book):
    book.limit("ice", SELL, 101, 10, display_qty=3)
    book.limit("plain", SELL, 101, 5)
    assert book.limit("t1", BUY, 101, 3) == [
        Accepted.of("t1", BUY, 101, 3),
        Filled.of("ice", "t1", 101, 3, 7, 0, BUY),
    ]
    assert book.best_ask() == (101, 8)
    assert book.limit("t2", BUY, 101, 6) == [
        Accepted.of("t2", BUY, 101, 6),
        Filled.of("plain", "t2", 101, 5, 0, 1, BUY),
        Filled.of("ice", "t2", 101, 1, 6, 0, BUY),
    ]
    assert book.order("ice") == (SELL, 101, 6, 2)


def test_iceberg_partly_filled_slice_keeps_its_place(book):
    book.limit("ice", SELL, 101, 10, display_qty=3)
    book.limit("plain", SELL, 101, 5)
    book.limit("t1", BUY, 101, 2)
    assert book.limit("t2", BUY, 101, 1) == [
        Accepted.of("t2", BUY, 101, 1),
        Filled.of("ice", "t2", 101, 1, 7, 0, BUY),
    ]


def test_incoming_order_walks_through_iceberg_refreshes(book):
    book.limit("ice", SELL, 101, 10, display_qty=3)
    assert book.limit("t", BUY, 101, 8) == [
        Accepted.of("t", BUY, 101, 8),
        Filled.of("ice", "t", 101, 3, 7, 5, BUY),
        Filled.of("ice", "t", 101, 3, 4, 2, BUY),
        Filled.of("ice", "t", 101, 2, 2, 0, BUY),
    ]
    assert book.order("ice") == (SELL, 101, 2, 1)
    assert book.best_ask() == (101, 1)


def test_iceberg_slices_interleave_with_orders_queued_behind_it(book):
    book.limit("ice", SELL, 101, 6, display_qty=2)
    book.limit("plain", SELL, 101, 3)
    assert book.limit("t", BUY, 101, 9) == [
        Accepted.of("t", BUY, 101, 9),
        Filled.of("ice", "t", 101, 2, 4, 7, BUY),
        Filled.of("plain", "t", 101, 3, 0, 4, BUY),
        Filled.of("ice", "t", 101, 2, 2, 2, BUY),
        Filled.of("ice", "t", 101, 2, 0, 0, BUY),
    ]
    assert book.depth() == ([], [])


def test_iceberg_last_slice_is_what_is_left(book):
    book.limit("ice", SELL, 101, 7, display_qty=3)
    book.limit("t", BUY, 101, 6)
    assert book.order("ice") == (SELL, 101, 1, 1)
    assert book.best_ask() == (101, 1)


def test_iceberg_as_taker_trades_its_full_qty_then_rests_a_slice(book):
    book.limit("a", SELL, 101, 4)
    assert book.limit("ice", BUY, 101, 10, display_qty=2) == [
        Accepted.of("ice", BUY, 101, 10),
        Filled.of("a", "ice", 101, 4, 0, 6, BUY),
        Rested.of("ice", BUY, 101, 6),
    ]
    assert book.best_bid() == (101, 2)
    assert book.order("ice") == (BUY, 101, 6, 2)


def test_display_qty_equal_to_qty_is_a_plain_order(book):
    book.limit("o", SELL, 101, 4, display_qty=4)
    assert book.order("o") == (SELL, 101, 4, 4)
    assert book.best_ask() == (101, 4)


def test_cancel_of_iceberg_reports_hidden_qty_too(book):
    book.limit("ice", SELL, 101, 10, display_qty=3)
    assert book.cancel("ice") == [Canceled.of("ice", 10, R.USER)]
    assert book.depth() == ([], [])


def test_amend_iceberg_below_its_slice_shrinks_what_is_shown(book):
    book.limit("ice", SELL, 101, 10, display_qty=3)
    assert book.amend("ice", qty=2) == [Amended.of("ice", SELL, 101, 2, True)]
    assert book.order("ice") == (SELL, 101, 2, 2)
    assert book.best_ask() == (101, 2)


def test_amend_iceberg_down_keeps_its_slice(book):
    book.limit("ice", SELL, 101, 10, display_qty=3)
    assert book.amend("ice", qty=5) == [Amended.of("ice", SELL, 101, 5, True)]
    assert book.order("ice") == (SELL, 101, 5, 3)


def test_depth_counts_only_visible_iceberg_qty(book):
    book.limit("ice", SELL, 101, 10, display_qty=3)
    book.limit("plain", SELL, 101, 5)
    assert book.depth() == ([], [(101, 8, 2)])


# ---- self-trade prevention -----------------------------------------------------------


@pytest.mark.parametrize("stp", [None, "NONE"])
def test_self_trade_is_allowed_when_stp_is_none(book, stp):
    book.limit("own", SELL, 101, 5, owner="alice")
    assert book.limit("t", BUY, 101, 2, owner="alice", stp=stp) == [
        Accepted.of("t", BUY, 101, 2),
        Filled.of("own", "t", 101, 2, 3, 0, BUY),
    ]


def test_stp_needs_an_owner(book):
    book.limit("anon", SELL, 101, 5)
    assert book.limit("t", BUY, 101, 2, stp="EXPIRE_TAKER") == [
        Accepted.of("t", BUY, 101, 2),
        Filled.of("anon", "t", 101, 2, 3, 0, BUY),
    ]


def test_stp_lets_different_owners_trade(book):
    book.limit("m", SELL, 101, 5, owner="bob")
    assert book.limit("t", BUY, 101, 2, owner="alice", stp="EXPIRE_BOTH") == [
        Accepted.of("t", BUY, 101, 2),
        Filled.of("m", "t", 101, 2, 3, 0, BUY),
    ]


def test_stp_expire_taker_expires_incoming_and_keeps_resting(book):
    book.limit("own", SELL, 101, 5, owner="alice")
    assert book.limit("t", BUY, 101, 3, owner="alice", stp="EXPIRE_TAKER") == [
        Accepted.of("t", BUY, 101, 3),
        Expired.of("t", 3, R.STP),
    ]
    assert book.order("own") == (SELL, 101, 5, 5)
    assert book.order("t") is None
    assert book.best_bid() is None


def test_stp_expire_taker_keeps_fills_made_before_meeting_own_order(standard):
    standard.limit("own", SELL, 101, 4, owner="alice")   # behind a1 and a2
    assert standard.limit("t", BUY, 103, 15, owner="alice", stp="EXPIRE_TAKER") == [
        Accepted.of("t", BUY, 103, 15),
        Filled.of("a1", "t", 101, 5, 0, 10, BUY),
        Filled.of("a2", "t", 101, 7, 0, 3, BUY),
        Expired.of("t", 3, R.STP),
    ]
    assert standard.order("own") == (SELL, 101, 4, 4)
    assert standard.order("a3") == (SELL, 103, 10, 10)


def test_stp_expire_maker_removes_resting_and_continues(book):
    book.limit("own", SELL, 101, 5, owner="alice")
    book.limit("other", SELL, 101, 7, owner="bob")
    assert book.limit("t", BUY, 101, 6, owner="alice", stp="EXPIRE_MAKER") == [
        Accepted.of("t", BUY, 101, 6),
        Expired.of("own", 5, R.STP),
        Filled.of("other", "t", 101, 6, 1, 0, BUY),
    ]
    assert book.order("own") is None
    assert book.depth() == ([], [(101, 1, 1)])


def test_stp_expire_maker_then_rests_the_remainder(book):
    book.limit("own1", SELL, 101, 5, owner="alice")
    book.limit("own2", SELL, 102, 5, owner="alice")
    assert book.limit("t", BUY, 102, 3, owner="alice", stp="EXPIRE_MAKER") == [
        Accepted.of("t", BUY, 102, 3),
        Expired.of("own1", 5, R.STP),
        Expired.of("own2", 5, R.STP),
        Rested.of("t", BUY, 102, 3),
    ]
    assert book.depth() == ([(102, 3, 1)], [])


def test_stp_expire_maker_expires_a_whole_iceberg(book):
    book.limit("ice", SELL, 101, 10, display_qty=2, owner="alice")
    assert book.market("t", BUY, 1, owner="alice", stp="EXPIRE_MAKER") == [
        Accepted.of("t", BUY, None, 1),
        Expired.of("ice", 10, R.STP),
        Expired.of("t", 1, R.MARKET),
    ]
    assert book.depth() == ([], [])


def test_stp_expire_both_expires_maker_and_taker(standard):
    standard.limit("own", SELL, 101, 4, owner="alice")
    assert standard.limit("t", BUY, 103, 20, owner="alice", stp="EXPIRE_BOTH") == [
        Accepted.of("t", BUY, 103, 20),
        Filled.of("a1", "t", 101, 5, 0, 15, BUY),
        Filled.of("a2", "t", 101, 7, 0, 8, BUY),
        Expired.of("own", 4, R.STP),
        Expired.of("t", 8, R.STP),
    ]
    assert standard.order("own") is None
    assert standard.best_ask() == (103, 10)
    assert standard.best_bid() == (99, 4)


def test_stp_mode_comes_from_the_taker_not_the_maker(book):
    book.limit("own", SELL, 101, 5, owner="alice", stp="EXPIRE_BOTH")
    assert book.limit("t", BUY, 101, 2, owner="alice") == [
        Accepted.of("t", BUY, 101, 2),
        Filled.of("own", "t", 101, 2, 3, 0, BUY),
    ]


def test_stp_applies_to_market_orders(book):
    book.limit("own", SELL, 101, 5, owner="alice")
    assert book.market("t", BUY, 5, owner="alice", stp="EXPIRE_TAKER") == [
        Accepted.of("t", BUY, None, 5),
        Expired.of("t", 5, R.STP),
    ]
    assert book.order("own") == (SELL, 101, 5, 5)


# ---- fillable ----------------------------------------------------------------------


def test_fillable_reports_what_would_fill_without_changing_anything(standard):
    before = snapshot(standard, STANDARD_IDS)
    assert standard.fillable(BUY, 15, 101) == 12
    assert standard.fillable(BUY, 15, 103) == 15
    assert standard.fillable(BUY, 50) == 22
    assert standard.fillable(SELL, 3, 100) == 0
    assert snapshot(standard, STANDARD_IDS) == before


def test_fillable_follows_self_trade_prevention(standard):
    standard.limit("own", SELL, 101, 4, owner="alice")
    assert standard.fillable(BUY, 20, 103, owner="alice", stp="EXPIRE_TAKER") == 12
    assert standard.fillable(BUY, 30, 103, owner="alice", stp="EXPIRE_MAKER") == 22
    assert standard.fillable(BUY, 30, 103, owner="alice") == 26


# ---- many price levels ---------------------------------------------------------------


def test_many_price_levels_keep_best_prices_and_depth(book):
    for i in range(200):
        book.limit(("b", i), BUY, 1000 - i, 1)
        book.limit(("a", i), SELL, 1001 + i, 1)
    assert book.best_bid() == (1000, 1)
    assert book.best_ask() == (1001, 1)
    assert book.depth(2) == ([(1000, 1, 1), (999, 1, 1)], [(1001, 1, 1), (1002, 1, 1)])
    assert len(book.depth(1000)[0]) == 200
    events = book.market("t", SELL, 150)
    assert [e.price for e in events if type(e) is Filled] == list(range(1000, 850, -1))
    assert book.best_bid() == (850, 1)


def test_levels_emptied_and_refilled_many_times_stay_consistent(book):
    for i in range(300):
        price = 500 + (i * 37) % 150
        book.limit(i, SELL, price, 1)
        if i % 3:
            book.cancel(i - 1)
    prices = sorted({500 + (i * 37) % 150 for i in range(300) if i % 3 == 2})  # never canceled
    assert book.best_ask()[0] == prices[0]
    assert [p for p, _, _ in book.depth(1000)[1]] == prices
