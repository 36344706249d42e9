"""GET /api/v3/exchangeInfo: each instrument's rules as Binance symbols and filters."""

from decimal import Decimal

from exchange.engine import STP, Instrument

from ..keys import LIMITER

ORDER_TYPES = ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT",
               "TAKE_PROFIT_LIMIT"]
MAX_PRICE_TICKS = 10**12   # PRICE_FILTER's maxPrice, in ticks (the edge enforces it)
# Binance's statuses: CANCEL_ONLY has no twin there; BREAK is its "not trading now".
STATUS = {"TRADING": "TRADING", "HALT": "HALT", "CANCEL_ONLY": "BREAK", "DELISTED": "BREAK"}
STP_ORDER = [STP.NONE, STP.EXPIRE_TAKER, STP.EXPIRE_MAKER, STP.EXPIRE_BOTH]


def _multiplier(bps: int) -> str:
    return f"{Decimal(bps).scaleb(-4):.4f}"


def filters(inst: Instrument) -> list[dict]:
    """Binance filters for the instrument's rules."""
    step, tick = inst.qty_str(inst.step_units), inst.price_str(inst.tick_units)
    lot = {"minQty": inst.qty_str(inst.min_qty), "maxQty": inst.qty_str(inst.max_qty),
           "stepSize": step}
    out = [
        {"filterType": "PRICE_FILTER", "minPrice": tick,
         "maxPrice": inst.price_str(MAX_PRICE_TICKS), "tickSize": tick},
        {"filterType": "LOT_SIZE", **lot},
        {"filterType": "MARKET_LOT_SIZE", **lot},
        {"filterType": "NOTIONAL", "minNotional": inst.quote_str(inst.min_notional),
         "applyMinToMarket": True, "maxNotional": inst.quote_str(10**30),
         "applyMaxToMarket": False, "avgPriceMins": 0},
    ]
    if inst.price_band_bps:
        up, down = _multiplier(10_000 + inst.price_band_bps), _multiplier(10_000 - inst.price_band_bps)
        out.append({"filterType": "PERCENT_PRICE_BY_SIDE", "bidMultiplierUp": up,
                    "bidMultiplierDown": down, "askMultiplierUp": up, "askMultiplierDown": down,
                    "avgPriceMins": 0})
    return out


def symbol_json(mkt) -> dict:
    inst = mkt.inst
    return {
        "symbol": inst.symbol,
        "status": STATUS.get(str(mkt.status), "HALT"),
        "baseAsset": inst.base,
        "baseAssetPrecision": inst.base_decimals,
        "quoteAsset": inst.quote,
        "quotePrecision": inst.quote_decimals,
        "quoteAssetPrecision": inst.quote_decimals,
        "baseCommissionPrecision": inst.base_decimals,
        "quoteCommissionPrecision": inst.quote_decimals,
        "orderTypes": ORDER_TYPES,
        "icebergAllowed": True,
        "ocoAllowed": False,
        "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": True,
        "amendAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": filters(inst),
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": str(inst.default_stp),
        "allowedSelfTradePreventionModes": [str(m) for m in STP_ORDER if m in inst.allowed_stp],
    }


def exchange_info(markets, app, server_time_ms: int) -> dict:
    return {
        "timezone": "UTC",
        "serverTime": server_time_ms,
        "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE",
                        "intervalNum": 1, "limit": app[LIMITER].limit}],
        "exchangeFilters": [],
        "symbols": [symbol_json(m) for m in markets],
    }
