"""The core's public read API: market views and balances read without being created."""

from decimal import Decimal

import pytest

from exchange.engine import (Deposit, Instrument, InstrumentStatus, ListInstrument, MarketView,
                             PlaceOrder, Sequencer, SetInstrumentStatus)

INST = Instrument("AAPL", "AAPL", "USD", Decimal("0.01"), Decimal("1"), base_decimals=0,
                  quote_decimals=2, reference_price=10_000)


@pytest.fixture
def seq():
    s = Sequencer()
    s.apply(ListInstrument(1, INST))
    s.apply(Deposit(2, 1, "USD", 10**9))
    s.apply(Deposit(3, 2, "AAPL", 100))
    return s


def test_a_market_view_reads_the_live_symbol(seq):
    view = seq.market_views["AAPL"]
    assert type(view) is MarketView and list(seq.market_views) == ["AAPL"]
    assert (view.symbol, view.inst, view.status) == ("AAPL", INST, InstrumentStatus.TRADING)
    assert (view.last_price, view.reference_price, view.best_bid(), view.best_ask()) == (
        None, 10_000, None, None)
    seq.apply(PlaceOrder(4, 1, "AAPL", "buy", "LIMIT", qty=3, price=9_900))
    seq.apply(PlaceOrder(5, 2, "AAPL", "sell", "LIMIT", qty=5, price=9_900))
    assert view.last_price == view.reference_price == 9_900
    assert (view.best_bid(), view.best_ask()) == (None, (9_900, 2))
    assert view.depth(5) == ([], [(9_900, 2, 1)]) and view.order_count() == 1
    seq.apply(SetInstrumentStatus(6, "AAPL", "HALT"))
    assert view.status == InstrumentStatus.HALT
    assert "MSFT" not in seq.market_views and seq.market_views.get("MSFT") is None


def test_a_market_view_offers_nothing_to_change(seq):
    view = seq.market_views["AAPL"]
    with pytest.raises(AttributeError):
        view.status = InstrumentStatus.HALT
    with pytest.raises(AttributeError):
        view.book   # noqa: B018
    with pytest.raises(TypeError):
        seq.market_views["MSFT"] = view


def test_amounts_reads_a_balance_without_creating_one(seq):
    balances = len(list(seq.ledger.balances()))
    assert seq.ledger.amounts(99, "USD") == (0, 0)
    assert seq.ledger.amounts(1, "AAPL") == (0, 0)
    assert len(list(seq.ledger.balances())) == balances
    assert seq.ledger.amounts(1, "USD") == (10**9, 0)
    assert sorted(seq.ledger.nonzero()) == [(1, "USD", 10**9, 0), (2, "AAPL", 100, 0)]


def test_order_updates_name_their_kind_with_exec_type(seq):
    from exchange.engine import AmendOrder, CancelOrder, ExecType, OrderUpdated
    events = seq.apply(PlaceOrder(4, 1, "AAPL", "buy", "LIMIT", qty=3, price=9_900))
    events += seq.apply(AmendOrder(5, 1, "AAPL", 1, price=9_901))
    events += seq.apply(PlaceOrder(6, 2, "AAPL", "sell", "LIMIT", qty=1, price=9_901))
    events += seq.apply(CancelOrder(7, 1, "AAPL", order_id=1))
    kinds = [ev.exec_type for ev in events if type(ev) is OrderUpdated]
    assert kinds == [ExecType.NEW, ExecType.AMENDED, ExecType.NEW, ExecType.TRADE, ExecType.TRADE,
                     ExecType.CANCELED]
    assert all(type(k) is ExecType for k in kinds)


def test_risk_state_reads_an_accounts_limits_switches_and_usage(seq):
    from exchange.engine import SetKillSwitch, SetRiskLimits
    seq.apply(SetRiskLimits(4, 1, max_open_orders=5))
    seq.apply(PlaceOrder(5, 1, "AAPL", "buy", "LIMIT", qty=3, price=9_900))
    seq.apply(PlaceOrder(6, 1, "AAPL", "buy", "LIMIT", qty=2, price=9_800))
    seq.apply(SetKillSwitch(7, 2, True, api_key="k2"))
    state = seq.risk_state(1, 8)
    assert state.limits.max_open_orders == 5 and state.own_limits[2] == 5
    assert (state.kill_switch, state.killed_api_keys, state.open_orders) == (False, (), 2)
    assert state.by_symbol == {"AAPL": (2, 5)} and state.daily_notional == 0
    assert seq.risk_state(2, 8).killed_api_keys == ("k2",)
    with pytest.raises(AttributeError):
        state.open_orders = 0
