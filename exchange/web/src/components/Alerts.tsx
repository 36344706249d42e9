import Big from "big.js";
import { useState } from "preact/hooks";
import { time } from "../format";
import { addAlert, alerts, dismiss, markets, notes, removeAlert, symbol } from "../store";

/** Price alerts, kept in this browser and checked against every trade and ticker. */
export function Alerts() {
  const [sym, setSym] = useState(symbol.value);
  const [above, setAbove] = useState(true);
  const [price, setPrice] = useState("");
  const [error, setError] = useState("");

  function submit(e: Event) {
    e.preventDefault();
    try {
      if (!Big(price.trim()).gt(0)) throw new Error();
    } catch {
      setError("Enter a positive price.");
      return;
    }
    setError("");
    addAlert(sym, above, price.trim());
    setPrice("");
  }

  return (
    <>
      <h2>Price alerts</h2>
      <form class="inline" onSubmit={submit} aria-label="New price alert">
        <label>Alert market
          <select value={sym} onChange={(e) => setSym((e.target as HTMLSelectElement).value)}>
            {markets.value.map((m) => <option key={m.symbol} value={m.symbol}>{m.symbol}</option>)}
          </select>
        </label>
        <label>When the price is
          <select value={above ? "above" : "below"} onChange={(e) => setAbove((e.target as HTMLSelectElement).value === "above")}>
            <option value="above">at or above</option>
            <option value="below">at or below</option>
          </select>
        </label>
        <label>Alert price<input inputMode="decimal" value={price} onInput={(e) => setPrice((e.target as HTMLInputElement).value)} /></label>
        <button type="submit">Add alert</button>
        <p class="error" role="alert">{error}</p>
      </form>
      <ul class="alerts" aria-label="Active alerts">
        {alerts.value.map((a) => (
          <li key={a.id}>{a.symbol} {a.above ? "≥" : "≤"} {a.price}{" "}
            <button type="button" onClick={() => removeAlert(a.id)} aria-label={`Remove alert ${a.symbol} ${a.price}`}>Remove</button>
          </li>
        ))}
      </ul>
    </>
  );
}

export function Notifications() {
  const canAsk = "Notification" in window && Notification.permission === "default";
  return (
    <>
      <h2>Notifications</h2>
      {canAsk && <button type="button" onClick={() => void Notification.requestPermission()}>Enable desktop notifications</button>}
      <ul class="notes" aria-label="Notifications" aria-live="polite">
        {notes.value.map((n) => (
          <li key={n.id} class={n.kind}>
            <time>{time(n.time)}</time> {n.text}{" "}
            <button type="button" class="link" onClick={() => dismiss(n.id)} aria-label="Dismiss">×</button>
          </li>
        ))}
      </ul>
    </>
  );
}
