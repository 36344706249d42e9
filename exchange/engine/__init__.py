"""The pure core of the venue: order book, instruments, ledger, sequencer.

Nothing here does IO, reads a clock or config, or imports asyncio.
"""

from .book import OrderBook
from .commands import (AmendOrder, CancelAll, CancelOnDisconnect, CancelOrder, CancelReplace,
                       ChangeInstrument, Deposit, ExpireOrders, ListInstrument, PlaceOrder,
                       RequestWithdrawal, ResolveWithdrawal, SetInstrumentStatus, SetKillSwitch,
                       SetRiskDefaults, SetRiskLimits, Withdraw)
from .enums import STP, ExecType, InstrumentStatus, OrderStatus, OrderType, Side, TimeInForce
from .events import (Accepted, Amended, BalanceChanged, Canceled, CommandRejected, DepthUpdated,
                     Event, Expired, Filled, InstrumentChanged, InstrumentDefined,
                     OrderSpec, OrderUpdated, RISK_REASONS,
                     Reason, Rejected, Rested, Traded, WithdrawalUpdated)
from .instrument import Instrument, RuleViolation
from .ledger import FEE_ACCOUNT, Entry, Ledger
from .market import MarketView
from .orders import TRANSITIONS, IllegalTransition, Order
from .limits import Limits
from .sequencer import Sequencer

__all__ = [
    "OrderBook", "Sequencer", "Ledger", "Instrument", "RuleViolation", "Order", "TRANSITIONS",
    "IllegalTransition", "FEE_ACCOUNT", "Entry", "MarketView",
    "Side", "TimeInForce", "ExecType", "STP", "OrderType", "OrderStatus", "InstrumentStatus",
    "PlaceOrder", "CancelOrder", "CancelAll", "CancelOnDisconnect", "AmendOrder", "CancelReplace", "Deposit",
    "Withdraw", "RequestWithdrawal", "ResolveWithdrawal", "ListInstrument",
    "SetInstrumentStatus", "ChangeInstrument", "ExpireOrders", "SetRiskDefaults", "SetRiskLimits", "SetKillSwitch",
    "Limits", "RISK_REASONS",
    "Event", "Accepted", "Amended", "Canceled", "Expired", "Filled", "Reason", "Rejected",
    "Rested", "OrderSpec", "OrderUpdated", "Traded", "BalanceChanged", "CommandRejected", "InstrumentChanged",
    "InstrumentDefined",
    "WithdrawalUpdated", "DepthUpdated",
]
