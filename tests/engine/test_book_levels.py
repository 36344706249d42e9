"""The book keeps every order reachable however many price levels come and go."""

import random
import sys

from exchange.engine import Filled, OrderBook, Side


def test_orders_stay_in_the_book_when_level_compaction_runs():
    # Compaction drops empty levels once they pile up; the level being created
    # at that moment must survive it (it once did not, at the 65th level).
    book = OrderBook()
    for i in range(69):
        book.limit(i, "sell", 1_000 + i, 1)
        book.check()
    assert len(list(book.orders())) == 69


def test_many_levels_created_and_emptied_keep_depth_exact():
    rng = random.Random(7)
    book = OrderBook()
    live = {}
    for oid in range(5_000):
        if live and rng.random() < 0.45:
            victim = rng.choice(list(live))
            del live[victim]
            book.cancel(victim)
        else:
            side = rng.choice(("buy", "sell"))
            price = rng.randrange(1, 500) if side == "buy" else rng.randrange(500, 1_000)
            qty = rng.randint(1, 9)
            book.limit(oid, side, price, qty)
            live[oid] = (side, price, qty)
        if oid % 250 == 0:
            book.check()
    book.check()
    expected = {}
    for side, price, qty in live.values():
        level = expected.setdefault((side, price), [0, 0])
        level[0] += qty
        level[1] += 1
    bids, asks = book.depth(10_000)
    assert bids == sorted(((p, q, n) for (s, p), (q, n) in expected.items() if s == "buy"),
                          reverse=True)
    assert asks == sorted((p, q, n) for (s, p), (q, n) in expected.items() if s == "sell")


def test_matching_after_a_cancel_flood_compacts_the_level_and_keeps_priority():
    # 10,000 orders at one price, all but the last three canceled: the level's dict
    # keeps the holes until matching visits it, which rebuilds it once.
    book = OrderBook()
    for oid in range(10_000):
        book.limit(oid, "sell", 100, 1)
    for oid in range(9_997):
        book.cancel(oid)
    level = book._asks.levels[100]
    bloated = sys.getsizeof(level.orders)
    events = book.limit("taker", "buy", 100, 2)
    assert [(e.maker_order_id, e.qty) for e in events if type(e) is Filled] == [(9_997, 1),
                                                                                 (9_998, 1)]
    assert sys.getsizeof(book._asks.levels[100].orders) < bloated // 100
    assert list(book.orders()) == [(9_999, Side.SELL, 100, 1, 1)]
    book.check()
