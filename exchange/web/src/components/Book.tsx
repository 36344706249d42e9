import Big from "big.js";
import { Level, book, market, tape, ticketPrice } from "../store";
import { time } from "../format";

function Side({ levels, side, max }: { levels: Level[]; side: "bid" | "ask"; max: Big }) {
  let cum = Big(0);
  const rows = levels.map(([p, q]) => {
    cum = cum.plus(q);
    const pct = max.gt(0) ? cum.div(max).times(100).toFixed(1) : "0";
    return { p, q, pct, total: cum.toFixed() };
  });
  if (side === "ask") rows.reverse();   // the best ask sits next to the spread
  return (
    <tbody class={side}>
      {rows.map((r) => (
        <tr key={r.p} style={{ "--depth": `${r.pct}%` }}>
          <td><button type="button" class="price" onClick={() => { ticketPrice.value = r.p; }}
                      aria-label={`${side === "bid" ? "Bid" : "Ask"} ${r.p}, quantity ${r.q}: use this price`}>{r.p}</button></td>
          <td>{r.q}</td>
          <td>{r.total}</td>
        </tr>
      ))}
    </tbody>
  );
}

/** The top 20 levels each side with cumulative depth bars; a price click fills the ticket. */
export function OrderBook() {
  const { bids, asks } = book.value;
  const sum = (ls: Level[]) => ls.reduce((a, [, q]) => a.plus(q), Big(0));
  const sb = sum(bids), sa = sum(asks);
  const max = sb.gt(sa) ? sb : sa;
  const spread = bids.length && asks.length ? Big(asks[0][0]).minus(bids[0][0]).toFixed() : "—";
  const m = market();
  return (
    <>
      <h2>Order book</h2>
      <table class="book" aria-label="Order book">
        <thead><tr><th scope="col">Price ({m?.quoteAsset})</th><th scope="col">Qty ({m?.baseAsset})</th><th scope="col">Total</th></tr></thead>
        <Side levels={asks} side="ask" max={max} />
        <tbody class="spread"><tr><td colSpan={3}>Spread {spread}</td></tr></tbody>
        <Side levels={bids} side="bid" max={max} />
      </table>
      {!bids.length && !asks.length && <p class="empty">The book is empty.</p>}
    </>
  );
}

/** The latest public trades, newest first. */
export function TradeTape() {
  return (
    <>
      <h2>Trades</h2>
      <table class="tape" aria-label="Trade tape">
        <thead><tr><th scope="col">Price</th><th scope="col">Qty</th><th scope="col">Time</th></tr></thead>
        <tbody>
          {tape.value.map((t) => (
            <tr key={t.id} class={t.buyerMaker ? "down" : "up"}>
              <td>{t.price}</td><td>{t.qty}</td><td>{time(t.time)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!tape.value.length && <p class="empty">No trades yet.</p>}
    </>
  );
}
