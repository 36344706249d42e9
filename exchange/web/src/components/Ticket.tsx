import Big from "big.js";
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "../api";
import { Draft, stepSize, tickSize, validate } from "../filters";
import { lastPrice, market, placeOrder, portfolio, ticketPrice } from "../store";

const TYPES: [Draft["type"], string][] = [["LIMIT", "Limit"], ["MARKET", "Market"], ["STOP_LOSS_LIMIT", "Stop-limit"]];

/** Limit, market and stop-limit orders, checked against the instrument's filters before sending. */
export function Ticket() {
  const m = market();
  const [side, setSide] = useState<Draft["side"]>("BUY");
  const [type, setType] = useState<Draft["type"]>("LIMIT");
  const [price, setPrice] = useState("");
  const [stopPrice, setStopPrice] = useState("");
  const [quantity, setQuantity] = useState("");
  const [tif, setTif] = useState("GTC");
  const [error, setError] = useState("");
  const [result, setResult] = useState("");
  const [busy, setBusy] = useState(false);

  const clicked = ticketPrice.value;
  useEffect(() => { if (clicked) setPrice(clicked); }, [clicked]);
  useEffect(() => { setError(""); setResult(""); }, [m?.symbol]);
  if (!m) return <p>No market.</p>;

  const draft: Draft = { side, type, quantity, price, stopPrice };
  const asset = side === "BUY" ? m.quoteAsset : m.baseAsset;
  const bal = portfolio.value?.balances.find((b) => b.asset === asset);
  let total = "";
  try {
    if (type !== "MARKET" && price && quantity) total = Big(price).times(quantity).toFixed();
  } catch { total = ""; }

  async function submit(e: Event) {
    e.preventDefault();
    setResult("");
    const problem = validate(m!, draft, lastPrice.value[m!.symbol]);
    if (problem) { setError(problem); return; }
    setError("");
    setBusy(true);
    try {
      const r = await placeOrder(m!, draft, tif);
      setResult(`Order ${r.orderId}: ${r.status.toLowerCase().replace(/_/g, " ")}, filled ${r.executedQty} of ${r.origQty}.`);
    } catch (err) {
      setError(err instanceof ApiError ? `Refused by the server: ${err.message} (${err.code})` : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class={`ticket ${side.toLowerCase()}`} onSubmit={submit} aria-label="Order ticket" noValidate>
      <h2>Trade {m.symbol}</h2>
      <fieldset class="sides">
        <legend>Side</legend>
        {(["BUY", "SELL"] as const).map((s) => (
          <label key={s} class={`side ${s.toLowerCase()}`}>
            <input type="radio" name="side" value={s} checked={side === s} onChange={() => setSide(s)} />
            {s === "BUY" ? "Buy" : "Sell"}
          </label>
        ))}
      </fieldset>
      <label>Order type
        <select value={type} onChange={(e) => setType((e.target as HTMLSelectElement).value as Draft["type"])}>
          {TYPES.map(([v, l]) => <option key={v} value={v}>{l}</option>)}
        </select>
      </label>
      {type === "STOP_LOSS_LIMIT" && (
        <label>Stop price ({m.quoteAsset})
          <input inputMode="decimal" value={stopPrice} placeholder={`tick ${tickSize(m)}`}
                 onInput={(e) => setStopPrice((e.target as HTMLInputElement).value)} />
        </label>
      )}
      {type !== "MARKET" && (
        <label>Limit price ({m.quoteAsset})
          <input inputMode="decimal" value={price} placeholder={`tick ${tickSize(m)}`}
                 onInput={(e) => setPrice((e.target as HTMLInputElement).value)} />
        </label>
      )}
      <label>Quantity ({m.baseAsset})
        <input inputMode="decimal" value={quantity} placeholder={`step ${stepSize(m)}`}
               onInput={(e) => setQuantity((e.target as HTMLInputElement).value)} />
      </label>
      {type !== "MARKET" && (
        <label>Time in force
          <select value={tif} onChange={(e) => setTif((e.target as HTMLSelectElement).value)}>
            <option value="GTC">Good till canceled</option>
            <option value="IOC">Immediate or cancel</option>
            <option value="FOK">Fill or kill</option>
          </select>
        </label>
      )}
      <p class="hint">
        {total && <>Total {total} {m.quoteAsset}. </>}
        Available {bal ? bal.free : "—"} {asset}.
      </p>
      <p class="error" role="alert">{error}</p>
      <p class="result" role="status">{result}</p>
      <button type="submit" class={`primary ${side.toLowerCase()}`} disabled={busy}>
        {side === "BUY" ? "Buy" : "Sell"} {m.symbol}
      </button>
    </form>
  );
}
