"""The state codec: a dumped state loads into a sequencer identical in every respect.

Random venues come from the seeded model streams (``tests.engine.test_sequencer_model``), with
the commands those streams leave out mixed in: risk defaults (with volatility
halts) and limits, kill switches by account and by key, withdrawals requested
and resolved, instrument changes, sources on orders and large deposits (money
past 64 bits). Each state goes through plain data as a storage format would
carry it (JSON: tuples become lists), loads, passes ``check()``, dumps to the
same data, and then gives the same events as the original for the same next
commands, depth changes included.
"""

import json
import random

import pytest
from hypothesis import given, settings, strategies as st

from exchange.engine import (ChangeInstrument, Deposit, PlaceOrder, RequestWithdrawal,
                             ResolveWithdrawal, Sequencer, SetKillSwitch, SetRiskDefaults,
                             SetRiskLimits, state)

from tests.engine.test_sequencer_model import ACCOUNTS, Stream, setup_commands

KEYS = ("k1", "k2")


class VenueStream(Stream):
    """The model's stream, with risk, kill switches, withdrawals, instrument changes and
    order sources mixed in."""

    def __init__(self, rng):
        super().__init__(rng)
        self.withdrawals = []

    def next(self):
        r = self.rng
        roll = r.random()
        ts, account = self.ts, r.choice(ACCOUNTS)
        if roll < 0.01:
            return SetRiskDefaults(ts, max_open_orders=r.choice((0, 0, 40)),
                                   max_order_qty=r.choice((0, 0, 25)), halt_s=r.choice((0, 5)))
        if roll < 0.02:
            return SetRiskLimits(ts, account, max_daily_notional=r.choice((None, None, 10**8)),
                                 max_position=r.choice((None, None, 10**6)),
                                 max_open_orders=r.choice((None, None, 30, 0)))
        if roll < 0.025:
            return SetKillSwitch(ts, account, r.random() < 0.3,
                                 api_key=r.choice((None, *KEYS)))
        if roll < 0.045:
            wid = f"w{len(self.withdrawals)}"
            self.withdrawals.append(wid)
            return RequestWithdrawal(ts, account, r.choice(("USD", "ABC")), r.randint(1, 500),
                                     wid)
        if roll < 0.055 and self.withdrawals:
            return ResolveWithdrawal(ts, r.choice(self.withdrawals), r.random() < 0.5)
        if roll < 0.06:
            return ChangeInstrument(ts, r.choice(("ABC", "XYZ")),
                                    maker_fee_ppm=r.choice((None, 0, 3000)),
                                    taker_fee_ppm=r.choice((None, 1000, 6000)),
                                    price_band_bps=r.choice((None, 500, 3000)),
                                    tick_units=r.choice((None, None, None, 1, 1, 2)),
                                    cancel_off_grid=r.random() < 0.5)
        if roll < 0.07:
            return Deposit(ts, account, "USD", r.choice((10**6, 10**20 + 7)))
        if roll < 0.25:   # an order that rests away from the market: depth to rebuild
            side = r.choice(("buy", "sell"))
            qty = r.randint(1, 6)
            return PlaceOrder(ts, account, r.choice(("ABC", "XYZ")), side, "LIMIT", qty=qty,
                              price=r.randint(88, 96) if side == "buy" else r.randint(104, 112),
                              display_qty=r.randint(1, qty - 1) if qty > 1 and r.random() < 0.2
                              else None, client_order_id=f"r{ts}" if r.random() < 0.3 else None,
                              source=r.choice((None, *KEYS)))
        cmd = super().next()
        if type(cmd) is PlaceOrder and r.random() < 0.3:
            cmd = PlaceOrder(**{**_fields(cmd), "source": r.choice(KEYS)})
        return cmd


def _fields(cmd):
    return {name: getattr(cmd, name) for name in cmd.__dataclass_fields__}


def venue(seed, steps):
    """A sequencer after ``steps`` random commands, and the stream that made them."""
    rng = random.Random(seed)
    seq = Sequencer(day_end_s=rng.choice((0, 3600 * 22)))
    for cmd in setup_commands():
        seq.apply(cmd)
    stream = VenueStream(rng)
    for i in range(steps):
        stream.saw(seq.apply(stream.next()))
        if i % 7 == 0:
            seq.depth_changes()   # a batch cut: touched levels start again
    return seq, stream


def through_storage(data):
    """``data`` as a storage format gives it back: JSON text and parsed again."""
    return json.loads(json.dumps(data))


def assert_same_future(original, loaded, stream, steps):
    for i in range(steps):
        cmd = stream.next()
        events = original.apply(cmd)
        assert loaded.apply(cmd) == events, cmd
        stream.saw(events)
        if i % 5 == 0:
            assert loaded.depth_changes() == original.depth_changes()
    assert loaded.depth_changes() == original.depth_changes()
    loaded.check()
    assert state.dump(loaded) == state.dump(original)


@settings(max_examples=40, derandomize=True, deadline=None, database=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_a_dumped_state_loads_into_a_sequencer_with_the_same_state_and_future(seed):
    seq, stream = venue(seed, 300)
    data = state.dump(seq)
    loaded = state.load(through_storage(data))
    loaded.check()
    assert state.dump(loaded) == data
    for symbol, market in seq.markets.items():   # book priority, spelled out
        assert list(loaded.markets[symbol].book.orders()) == list(market.book.orders())
    assert loaded.due_ns == seq.due_ns
    assert_same_future(seq, loaded, stream, 200)


def test_a_long_history_round_trips_at_every_stage_and_covers_what_the_state_holds():
    seq, stream = venue(2024, 0)
    seen = {"open orders": 0, "waiting stops": 0, "icebergs": 0, "sources": 0, "big money": 0,
            "withdrawals": 0, "risk limits": 0, "kill switches": 0, "daily notional": 0,
            "expiries": 0, "last prices": 0}
    for _ in range(12):
        for _ in range(250):
            stream.saw(seq.apply(stream.next()))
        data = state.dump(seq)
        loaded = state.load(through_storage(data))
        loaded.check()
        assert state.dump(loaded) == data
        assert_same_future(seq, loaded, stream, 50)   # and both go on alike
        orders = list(seq.orders.values())
        for what, n in (("open orders", len(orders)),
                        ("waiting stops", sum(not o.working for o in orders)),
                        ("icebergs", sum(bool(o.working and o.display_qty) for o in orders)),
                        ("sources", sum(o.source is not None for o in orders)),
                        ("big money", sum(b.free > 2**64 for b in seq.ledger.balances())),
                        ("withdrawals", len(seq.withdrawals)),
                        ("risk limits", len(seq.risk_limits)),
                        ("kill switches", len(seq.killed) + len(seq.killed_keys)),
                        ("daily notional", len(seq.daily)), ("expiries", len(seq._expiries)),
                        ("last prices", sum(m.last_price is not None
                                            for m in seq.markets.values()))):
            seen[what] = max(seen[what], n)
    # the states were not trivial: each part the format describes was there
    assert seen["open orders"] > 10, seen
    assert all(seen.values()), seen


def test_an_empty_sequencer_round_trips():
    data = state.dump(Sequencer(day_end_s=3600))
    loaded = state.load(through_storage(data))
    assert state.dump(loaded) == data and loaded.seq == 0 and loaded._day_end_ns == 3600 * 10**9


def test_an_older_format_is_upgraded_through_each_step(monkeypatch):
    data = state.dump(venue(7, 100)[0])
    older = {k: v for k, v in data.items() if k != "assets"} | {"format": state.FORMAT - 1}

    def from_previous(old):   # the kind of step a format change adds: fill in what is new
        assets = {}
        for m in old["markets"]:
            inst = m["instrument"]
            assets.setdefault(inst["base"], inst["base_decimals"])
            assets.setdefault(inst["quote"], inst["quote_decimals"])
        return old | {"format": old["format"] + 1, "assets": [list(a) for a in assets.items()]}

    monkeypatch.setitem(state.UPGRADES, state.FORMAT - 1, from_previous)
    assert state.dump(state.load(through_storage(older))) == data


def test_a_state_this_code_cannot_load_is_refused_with_a_reason():
    data = state.dump(venue(8, 50)[0])
    with pytest.raises(state.StateError, match="newer than this code"):
        state.load(data | {"format": state.FORMAT + 1})
    with pytest.raises(state.StateError, match="no upgrade"):
        state.load(data | {"format": 0})
    with pytest.raises(state.StateError, match="no format version"):
        state.load({k: v for k, v in data.items() if k != "format"})
    with pytest.raises(state.StateError, match="malformed state: KeyError"):
        state.load({k: v for k, v in data.items() if k != "orders"})


def test_check_refuses_a_loaded_state_whose_parts_disagree():
    """``load`` trusts its input; ``check()`` after it is what finds a state that cannot be."""
    seq, _ = venue(2024, 250)
    data = state.dump(seq)
    assert data["orders"]["order_id"], "the venue has open orders"
    wrong = through_storage(data)
    wrong["orders"]["hold"][0] += 1                       # a hold no balance holds
    with pytest.raises(AssertionError):
        state.load(wrong).check()
    wrong = through_storage(data)
    wrong["balances"]["free"][0] += 5                     # money from nowhere
    with pytest.raises(AssertionError, match="not conserved"):
        state.load(wrong).check()
    wrong = through_storage(data)
    levels = next(side for m in wrong["markets"] for side in m["book"] if side)
    levels[0][1] -= 1                                     # a resting order left out of its book
    with pytest.raises(state.StateError, match="the books do not hold exactly"):
        state.load(wrong)
