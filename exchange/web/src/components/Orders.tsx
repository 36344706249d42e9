import Big from "big.js";
import { useState } from "preact/hooks";
import { ApiError } from "../api";
import { dash, dateTime, lower } from "../format";
import { Order, amendOrder, cancelOrder, openOrders, orderHistory, tradeHistory } from "../store";
import { Tabs } from "./Tabs";

function remaining(o: Order): string {
  if (o.quantity === null) return "";
  return Big(o.quantity).minus(o.executed_quantity).toFixed();
}

function OpenRow({ o, onError }: { o: Order; onError: (s: string) => void }) {
  const [editing, setEditing] = useState(false);
  const [price, setPrice] = useState(o.price ?? "");
  const [qty, setQty] = useState(remaining(o));
  const [busy, setBusy] = useState(false);
  const name = `order ${o.order_id}`;

  async function run(f: () => Promise<void>) {
    setBusy(true);
    onError("");
    try {
      await f();
      setEditing(false);
    } catch (e) {
      onError(e instanceof ApiError ? `${name}: ${e.message} (${e.code})` : String(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <tr>
      <td>{o.order_id}</td><td>{o.symbol}</td>
      <td class={o.side === "buy" ? "up" : "down"}>{o.side}</td>
      <td>{lower(o.type)}{o.working ? "" : " (waiting)"}</td>
      {editing ? (
        <td colSpan={2}>
          <form class="amend" onSubmit={(e) => { e.preventDefault(); void run(() => amendOrder(o, price, qty)); }}>
            {o.price !== null && <label>New price<input inputMode="decimal" value={price} onInput={(e) => setPrice((e.target as HTMLInputElement).value)} /></label>}
            <label>New quantity<input inputMode="decimal" value={qty} onInput={(e) => setQty((e.target as HTMLInputElement).value)} /></label>
            <button type="submit" disabled={busy}>Save</button>
            <button type="button" onClick={() => setEditing(false)}>Back</button>
          </form>
        </td>
      ) : (
        <><td>{dash(o.price)}{o.stop_price ? ` (stop ${o.stop_price})` : ""}</td><td>{dash(o.quantity)}</td></>
      )}
      <td>{o.executed_quantity}</td>
      <td>{lower(o.status)}</td>
      <td class="actions">
        {!editing && o.type !== "MARKET" && <button type="button" onClick={() => setEditing(true)} aria-label={`Amend ${name}`}>Amend</button>}
        <button type="button" disabled={busy} onClick={() => void run(() => cancelOrder(o))} aria-label={`Cancel ${name}`}>Cancel</button>
      </td>
    </tr>
  );
}

function OpenOrders() {
  const [error, setError] = useState("");
  const list = openOrders.value;
  return (
    <>
      <p class="error" role="alert">{error}</p>
      <div class="scroll">
        <table aria-label="Open orders">
          <thead><tr><th scope="col">Id</th><th scope="col">Market</th><th scope="col">Side</th><th scope="col">Type</th>
            <th scope="col">Price</th><th scope="col">Qty</th><th scope="col">Filled</th><th scope="col">Status</th><th scope="col"><span class="sr">Actions</span></th></tr></thead>
          <tbody>{list.map((o) => <OpenRow key={o.order_id} o={o} onError={setError} />)}</tbody>
        </table>
      </div>
      {!list.length && <p class="empty">No open orders.</p>}
    </>
  );
}

function OrderHistory() {
  return (
    <div class="scroll">
      <table aria-label="Order history">
        <thead><tr><th scope="col">Time</th><th scope="col">Id</th><th scope="col">Market</th><th scope="col">Side</th><th scope="col">Type</th>
          <th scope="col">Price</th><th scope="col">Qty</th><th scope="col">Filled</th><th scope="col">Status</th></tr></thead>
        <tbody>
          {orderHistory.value.map((o) => (
            <tr key={o.order_id}>
              <td>{dateTime(o.created_at)}</td><td>{o.order_id}</td><td>{o.symbol}</td>
              <td class={o.side === "buy" ? "up" : "down"}>{o.side}</td><td>{lower(o.type)}</td>
              <td>{dash(o.price)}</td><td>{dash(o.quantity)}</td><td>{o.executed_quantity}</td><td>{lower(o.status)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function TradeHistory() {
  return (
    <div class="scroll">
      <table aria-label="Trade history">
        <thead><tr><th scope="col">Time</th><th scope="col">Market</th><th scope="col">Side</th><th scope="col">Role</th>
          <th scope="col">Price</th><th scope="col">Qty</th><th scope="col">Value</th><th scope="col">Fee</th></tr></thead>
        <tbody>
          {tradeHistory.value.map((t) => (
            <tr key={`${t.trade_id}-${t.order_id}`}>
              <td>{dateTime(t.time)}</td><td>{t.symbol}</td>
              <td class={t.side === "buy" ? "up" : "down"}>{t.side}</td><td>{t.role}</td>
              <td>{t.price}</td><td>{t.quantity}</td><td>{t.quote_quantity}</td><td>{t.fee} {t.fee_asset}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!tradeHistory.value.length && <p class="empty">No trades yet.</p>}
    </div>
  );
}

export function Orders() {
  return (
    <Tabs label="Orders" tabs={[
      [`Open orders (${openOrders.value.length})`, () => <OpenOrders />],
      ["Order history", () => <OrderHistory />],
      ["Trade history", () => <TradeHistory />],
    ]} />
  );
}
