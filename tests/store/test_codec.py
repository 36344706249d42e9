"""The codec round-trips every command exactly and refuses what it never produces."""

import dataclasses
from decimal import Decimal

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.engine import commands as commands_module
from exchange.engine import (STP, ChangeInstrument, SetKillSwitch, SetRiskDefaults, SetRiskLimits, AmendOrder, CancelAll, CancelOnDisconnect, CancelOrder, CancelReplace, Deposit,
                             ExpireOrders, Instrument, InstrumentStatus, ListInstrument, OrderType,
                             PlaceOrder, RequestWithdrawal, ResolveWithdrawal, SetInstrumentStatus,
                             Side, TimeInForce, Withdraw)
from exchange.engine.commands import AdminRecord
from exchange.store import codec

RECORD = AdminRecord(42, "operator", "withdrawal.approve", "withdrawal:w-1",
                     {"note": "ok", "amount": "17", "nested": [1, None, True, {"k": "v"}]})

INSTRUMENT = Instrument("XYZ", "XYZ", "USDT", Decimal("0.0001"), Decimal("1E-8"),
                        base_decimals=8, quote_decimals=6, min_qty=3, max_qty=10**15,
                        min_notional=5_000, price_band_bps=500, reference_price=123_456,
                        maker_fee_ppm=100, taker_fee_ppm=750, status=InstrumentStatus.HALT,
                        allowed_stp=frozenset({STP.NONE, STP.EXPIRE_BOTH}),
                        default_stp=STP.EXPIRE_BOTH)
PLACE = PlaceOrder(5, 7, "XYZ", Side.SELL, OrderType.TAKE_PROFIT_LIMIT, qty=9, price=100,
                   stop_price=99, tif=TimeInForce.GTD, display_qty=2, client_order_id="abc-1",
                   stp=STP.EXPIRE_TAKER, expire_ts_ns=10**18)

EXAMPLES = [
    PLACE,
    PlaceOrder(1, 2, "XYZ", "BUY", "MARKET", quote_qty=10**25),
    PlaceOrder(1, 2, "XYZ", "sideways", "NOT_A_TYPE", qty=-5, tif="FOREVER", stp="WHATEVER",
               client_order_id="nul\x00and\ud800surrogate"),
    CancelOrder(1, 2, "XYZ", order_id=3),
    CancelOrder(1, 2, "XYZ", client_order_id="abc-1"),
    CancelAll(1, 2, "XYZ"),
    CancelOnDisconnect(1, 2), CancelOnDisconnect(1, 2, "0123456789abcdef"),
    AmendOrder(1, 2, "XYZ", 3, qty=4),
    AmendOrder(1, 2, "XYZ", 3, price=5),
    CancelReplace(1, 2, "XYZ", PLACE, cancel_order_id=4, mode="ALLOW_FAILURE"),
    CancelReplace(1, 2, "XYZ", PLACE, cancel_client_order_id="old"),
    Deposit(1, 2, "USDT", 10**40, ref="wire-9"),
    Withdraw(1, 2, "USDT", 17),
    RequestWithdrawal(1, 2, "USDT", 17, "w-1"),
    RequestWithdrawal(1, 2, "USDT", 17, "w-2", destination="IBAN DE00 1234"),
    ResolveWithdrawal(2, "w-1", True),
    ResolveWithdrawal(2, "w-1", False),
    ResolveWithdrawal(2, "w-1", True, note="sent", admin=RECORD),
    ResolveWithdrawal(2, "w-1", True, admin=RECORD._replace(actor=None, role="cli")),
    Deposit(1, 2, "USDT", 5, ref="x", admin=RECORD._replace(details={})),
    SetKillSwitch(1, 2, True, admin=RECORD),
    ListInstrument(1, INSTRUMENT),
    ListInstrument(1, Instrument("AB", "A", "B", Decimal("0.010"), Decimal("5"))),
    ListInstrument(1, Instrument("bad", "A", "A", "abc", None, base_decimals=1.5,
                                 min_notional=Decimal("2.5"), status="BOGUS",
                                 allowed_stp={"NONE", "WHAT", 7}, default_stp=None)),
    SetInstrumentStatus(1, "XYZ", "TRADING"),
    SetInstrumentStatus(1, "XYZ", "no such status"),
    ExpireOrders(-(2**70)),
    SetRiskDefaults(1, max_order_qty=10, max_daily_notional=10**20, halt_s=300),
    SetRiskDefaults(1, max_open_orders=-1),
    SetRiskLimits(1, 2, max_order_notional=5000, max_position=None),
    SetRiskLimits(1, 2),
    SetKillSwitch(1, 2, True),
    SetKillSwitch(1, 2, False),
    ChangeInstrument(1, "XYZ", tick_units=5, step_units=2, min_qty=1, max_qty=2**70,
                     min_notional=3, price_band_bps=4, reference_price=6, maker_fee_ppm=7,
                     taker_fee_ppm=8, cancel_off_grid=True),
    ChangeInstrument(1, "XYZ", maker_fee_ppm=-1),
]


def _command_classes():
    return {obj.__name__ for obj in vars(commands_module).values()
            if isinstance(obj, type) and dataclasses.is_dataclass(obj)
            and obj.__module__ == commands_module.__name__}


def test_codec_knows_every_command_class():
    assert codec.COMMAND_TYPES == _command_classes()


def test_examples_cover_every_command_class():
    assert {type(c).__name__ for c in EXAMPLES} == codec.COMMAND_TYPES


@pytest.mark.parametrize("cmd", EXAMPLES, ids=lambda c: type(c).__name__)
def test_round_trip_is_exact(cmd):
    data = codec.encode(cmd)
    assert data["type"] == type(cmd).__name__
    assert orjson.loads(orjson.dumps(data)) == data  # JSON-able as it is
    back = codec.loads(codec.dumps(cmd))
    assert back == cmd
    assert codec.encode(back) == data


def test_enums_come_back_as_members_and_unknown_strings_unchanged():
    back = codec.decode(codec.encode(PLACE))
    assert type(back.side) is Side and type(back.type) is OrderType
    assert type(back.tif) is TimeInForce and type(back.stp) is STP
    odd = codec.decode(codec.encode(EXAMPLES[2]))
    assert (odd.side, odd.type, odd.tif, odd.stp) == ("sideways", "NOT_A_TYPE", "FOREVER",
                                                      "WHATEVER")


def test_instrument_keeps_decimals_sets_and_enums():
    data = codec.encode(ListInstrument(1, INSTRUMENT))["instrument"]
    assert data["tick_size"] == "0.0001" and data["step_size"] == "1E-8"
    assert data["allowed_stp"] == ["EXPIRE_BOTH", "NONE"]
    inst = codec.decode(codec.encode(ListInstrument(1, INSTRUMENT))).instrument
    assert inst == INSTRUMENT
    assert type(inst.tick_size) is Decimal and str(inst.tick_size) == "0.0001"
    assert inst.allowed_stp == frozenset({STP.NONE, STP.EXPIRE_BOTH})
    assert type(inst.status) is InstrumentStatus and type(inst.default_stp) is STP
    assert inst.base_per_lot == INSTRUMENT.base_per_lot  # derived fields rebuilt


def test_placeorder_type_field_is_stored_apart_from_the_tag():
    data = codec.encode(PLACE)
    assert data["type"] == "PlaceOrder" and data["order_type"] == "TAKE_PROFIT_LIMIT"


def test_journal_rows_written_before_the_opaque_fields_decode_with_their_defaults():
    # rows of journals written before destination, note and admin existed
    assert codec.decode({"type": "RequestWithdrawal", "ts_ns": 1, "account": 2, "asset": "X",
                         "amount": 3, "withdrawal_id": "w"}) == \
        RequestWithdrawal(1, 2, "X", 3, "w", destination=None)
    assert codec.decode({"type": "ResolveWithdrawal", "ts_ns": 1, "withdrawal_id": "w",
                         "approve": True}) == ResolveWithdrawal(1, "w", True, None, None)
    assert codec.decode({"type": "SetKillSwitch", "ts_ns": 1, "account": 2,
                         "active": False}).admin is None


def test_an_admin_record_is_stored_as_a_plain_dict_and_comes_back_as_a_record():
    data = codec.encode(ResolveWithdrawal(2, "w-1", True, "sent", RECORD))
    assert data["admin"] == {"actor": 42, "role": "operator", "action": "withdrawal.approve",
                             "target": "withdrawal:w-1", "details": RECORD.details}
    back = codec.decode(orjson.loads(orjson.dumps(data))).admin
    assert type(back) is AdminRecord and back == RECORD


@pytest.mark.parametrize("record", [
    AdminRecord(1.5, "operator", "a", "t", {}), AdminRecord(1, "operator", "a", "t", {"x": 1.5}),
    AdminRecord(1, "operator", "a", "t", {"x": 2**64}), AdminRecord(1, "op", "a", "t", []),
    AdminRecord(1, "operator", "a", "t\x00", {}), AdminRecord(1, "operator", "a", "t", {2: 1}),
], ids=repr)
def test_an_admin_record_jsonb_would_not_keep_exactly_is_refused(record):
    with pytest.raises(ValueError):
        codec.encode(SetKillSwitch(1, 2, True, admin=record))


@pytest.mark.parametrize("raw", [
    "x", [1], {"actor": 1}, {"actor": 1, "role": "r", "action": "a", "target": "t"},
    {"actor": 1, "role": "r", "action": "a", "target": "t", "details": {}, "extra": 1},
    {"actor": "1", "role": "r", "action": "a", "target": "t", "details": {}},
    {"actor": 1, "role": "r", "action": "a", "target": "t", "details": [1]},
], ids=repr)
def test_decode_refuses_an_admin_field_encode_never_produces(raw):
    with pytest.raises(ValueError):
        codec.decode({"type": "SetKillSwitch", "ts_ns": 1, "account": 2, "active": True,
                      "admin": raw})


def test_missing_optional_fields_take_their_defaults():
    assert codec.decode({"type": "CancelAll", "ts_ns": 1, "account": 2, "symbol": "X"}) == \
        CancelAll(1, 2, "X")
    assert codec.decode({"type": "Withdraw", "ts_ns": 1, "account": 2, "asset": "X",
                         "amount": 3}) == Withdraw(1, 2, "X", 3)


@pytest.mark.parametrize("data", [
    {"type": "Teleport", "ts_ns": 1},
    {"type": "Instrument", "symbol": "X"},  # not a command by itself
    {"ts_ns": 1},
    {"type": "CancelAll", "ts_ns": 1, "account": 2, "symbol": "X", "extra": 1},
    {"type": "CancelAll", "ts_ns": 1, "account": 2},
    {"type": "CancelAll", "ts_ns": 1.5, "account": 2, "symbol": "X"},
    {"type": "CancelAll", "ts_ns": [1], "account": 2, "symbol": "X"},
    {"type": "CancelAll", "ts_ns": {"$int": "x"}, "account": 2, "symbol": "X"},
    {"type": "CancelAll", "ts_ns": {"$nope": "1"}, "account": 2, "symbol": "X"},
    {"type": "CancelAll", "ts_ns": "1", "account": 2, "symbol": "X"},
    {"type": "CancelReplace", "ts_ns": 1, "account": 2, "symbol": "X",
     "new": {"type": "CancelAll", "ts_ns": 1, "account": 2, "symbol": "X"}},
    {"type": "ListInstrument", "ts_ns": 1, "instrument": {"type": "Instrument", "symbol": "X"}},
    {"type": "CancelAll", "ts_ns": {"$decimal": "x"}, "account": 2, "symbol": "X"},
    {"type": "ListInstrument", "ts_ns": 1,
     "instrument": {"type": "Instrument", "symbol": "X", "base": "A", "quote": "B",
                    "tick_size": "1", "step_size": "1", "colour": "red"}},
    [1, 2],
    "PlaceOrder",
], ids=repr)
def test_decode_refuses_what_encode_never_produces(data):
    with pytest.raises(ValueError):
        codec.decode(data)


def test_loads_refuses_non_json():
    with pytest.raises(ValueError):
        codec.loads(b"{nope")


def test_encode_refuses_non_commands():
    with pytest.raises(ValueError):
        codec.encode(INSTRUMENT)
    with pytest.raises(ValueError):
        codec.encode(object())


_ints = st.one_of(st.integers(-(2**63), 2**63 - 1), st.integers(), st.integers(0, 10**6))
_opt_ints = st.none() | _ints
_texts = st.text(max_size=40)


def _enum_or_text(enum):
    return st.sampled_from(list(enum)) | st.sampled_from([m.value for m in enum]) | _texts


place_orders = st.builds(
    PlaceOrder, ts_ns=_ints, account=_ints, symbol=_texts, side=_enum_or_text(Side),
    type=_enum_or_text(OrderType), qty=_opt_ints, price=_opt_ints, quote_qty=_opt_ints,
    stop_price=_opt_ints, tif=_enum_or_text(TimeInForce), display_qty=_opt_ints,
    client_order_id=st.none() | _texts, stp=st.none() | _enum_or_text(STP),
    expire_ts_ns=_opt_ints)


@settings(max_examples=300, deadline=None)
@given(place_orders)
def test_place_order_round_trip_property(cmd):
    assert codec.loads(codec.dumps(cmd)) == cmd
    replaced = CancelReplace(cmd.ts_ns, cmd.account, cmd.symbol, cmd, cancel_order_id=1)
    assert codec.loads(codec.dumps(replaced)) == replaced
