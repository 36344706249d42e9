// An order's prices and quantities checked against the instrument's exchangeInfo
// filters before it is sent (exact decimal arithmetic with big.js). The server
// checks again; its refusal is shown when it still says no.
import Big from "big.js";

export interface Filter {
  filterType: string;
  [k: string]: string | number | boolean;
}

export interface Market {
  symbol: string;
  status: string;
  baseAsset: string;
  quoteAsset: string;
  filters: Filter[];
}

export interface Draft {
  side: "BUY" | "SELL";
  type: "LIMIT" | "MARKET" | "STOP_LOSS_LIMIT";
  quantity: string;
  price: string;
  stopPrice: string;
}

const DECIMAL = /^(0|[1-9][0-9]*)(\.[0-9]+)?$/;

function filter(m: Market, type: string): Filter | undefined {
  return m.filters.find((f) => f.filterType === type);
}

/** The decimal places of the grid `step` ("0.01" -> 2, "1" -> 0). */
export function places(step: string): number {
  const s = Big(step).toFixed();
  const dot = s.indexOf(".");
  return dot < 0 ? 0 : s.length - dot - 1;
}

export function tickSize(m: Market): string {
  return String(filter(m, "PRICE_FILTER")?.tickSize ?? "0.01");
}

export function stepSize(m: Market): string {
  return String(filter(m, "LOT_SIZE")?.stepSize ?? "1");
}

function checkPrice(m: Market, label: string, text: string): string | null {
  if (!DECIMAL.test(text)) return `${label}: enter a positive decimal number.`;
  const price = Big(text);
  const f = filter(m, "PRICE_FILTER");
  if (!f) return null;
  const tick = Big(String(f.tickSize));
  if (price.lt(Big(String(f.minPrice)))) return `${label} must be at least ${f.minPrice}.`;
  if (price.gt(Big(String(f.maxPrice)))) return `${label} must be at most ${f.maxPrice}.`;
  if (!tick.eq(0) && !price.mod(tick).eq(0)) return `${label} must be a multiple of the tick size ${f.tickSize}.`;
  return null;
}

function checkQty(m: Market, text: string, market: boolean): string | null {
  if (!DECIMAL.test(text)) return "Quantity: enter a positive decimal number.";
  const qty = Big(text);
  const f = filter(m, market ? "MARKET_LOT_SIZE" : "LOT_SIZE") ?? filter(m, "LOT_SIZE");
  if (!f) return null;
  const step = Big(String(f.stepSize));
  if (qty.lt(Big(String(f.minQty)))) return `Quantity must be at least ${f.minQty}.`;
  if (qty.gt(Big(String(f.maxQty)))) return `Quantity must be at most ${f.maxQty}.`;
  if (!step.eq(0) && !qty.mod(step).eq(0)) return `Quantity must be a multiple of the step size ${f.stepSize}.`;
  return null;
}

/** PERCENT_PRICE_BY_SIDE: the limit price within the side's multipliers of the reference
 * (the venue's is its last trade price); with no reference known here, the server decides. */
function checkBand(m: Market, side: Draft["side"], text: string, reference?: string): string | null {
  const f = filter(m, "PERCENT_PRICE_BY_SIDE");
  if (!f || !reference || !DECIMAL.test(reference)) return null;
  const ref = Big(reference);
  const [up, down] = side === "BUY"
    ? [f.bidMultiplierUp, f.bidMultiplierDown] : [f.askMultiplierUp, f.askMultiplierDown];
  const high = ref.times(Big(String(up)));
  const low = ref.times(Big(String(down)));
  const price = Big(text);
  if (price.gte(low) && price.lte(high)) return null;
  // The nearest prices on the tick grid the band allows.
  const tick = Big(tickSize(m));
  const dp = places(tickSize(m));
  const [lo, hi] = tick.eq(0) ? [low, high]
    : [low.div(tick).round(0, Big.roundUp).times(tick), high.div(tick).round(0, Big.roundDown).times(tick)];
  return `Price must be between ${lo.toFixed(dp)} and ${hi.toFixed(dp)} for a ${side.toLowerCase()} `
    + `order (the price band around the last price ${reference}).`;
}

/** The first reason the draft breaks a filter, or null if it passes them all. `reference`
 * is the market's last trade price, if the page has one (for the price band). */
export function validate(m: Market, d: Draft, reference?: string): string | null {
  if (m.status !== "TRADING") return `${m.symbol} is not trading (${m.status}).`;
  const market = d.type === "MARKET";
  const qtyError = checkQty(m, d.quantity.trim(), market);
  if (qtyError) return qtyError;
  if (d.type === "STOP_LOSS_LIMIT") {
    const e = checkPrice(m, "Stop price", d.stopPrice.trim());
    if (e) return e;
  }
  if (!market) {
    const e = checkPrice(m, "Price", d.price.trim()) ?? checkBand(m, d.side, d.price.trim(), reference);
    if (e) return e;
    const n = filter(m, "NOTIONAL") ?? filter(m, "MIN_NOTIONAL");
    if (n) {
      const notional = Big(d.price.trim()).times(Big(d.quantity.trim()));
      if (notional.lt(Big(String(n.minNotional)))) {
        return `The order's value (${notional.toFixed()} ${m.quoteAsset}) is below the minimum ${n.minNotional}.`;
      }
      if (n.maxNotional !== undefined && notional.gt(Big(String(n.maxNotional)))) {
        return `The order's value is above the maximum ${n.maxNotional}.`;
      }
    }
  }
  return null;
}
