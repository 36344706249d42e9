"""The book keeps every order reachable however many price levels come and go."""

import random

from exchange.engine import OrderBook


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
