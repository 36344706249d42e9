import { useState } from "preact/hooks";
import { ApiError } from "../api";
import { time } from "../format";
import { addAlert, alerts, dismiss, markAllRead, markets, me, notes, removeAlert, serverNotes, symbol, unread } from "../store";

function message(e: unknown): string {
  return e instanceof ApiError ? `${e.message} (${e.code})` : String(e);
}

/** Price alerts, kept and checked by the server against every trade; a hit is a notification. */
export function Alerts() {
  const [sym, setSym] = useState(symbol.value);
  const [direction, setDirection] = useState<"above" | "below">("above");
  const [price, setPrice] = useState("");
  const [repeating, setRepeating] = useState(false);
  const [error, setError] = useState("");

  async function submit(e: Event) {
    e.preventDefault();
    setError("");
    try {
      await addAlert(sym, direction, price.trim(), repeating);
      setPrice("");
    } catch (err) {
      setError(message(err));
    }
  }

  const active = alerts.value.filter((a) => a.active);
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
          <select value={direction} onChange={(e) => setDirection((e.target as HTMLSelectElement).value as "above" | "below")}>
            <option value="above">at or above</option>
            <option value="below">at or below</option>
          </select>
        </label>
        <label>Alert price<input inputMode="decimal" value={price} onInput={(e) => setPrice((e.target as HTMLInputElement).value)} /></label>
        <label class="check"><input type="checkbox" checked={repeating} onChange={(e) => setRepeating((e.target as HTMLInputElement).checked)} />Repeat</label>
        <button type="submit">Add alert</button>
        <p class="error" role="alert">{error}</p>
      </form>
      <ul class="alerts" aria-label="Active alerts">
        {active.map((a) => (
          <li key={a.alert_id}>{a.symbol} {a.direction === "above" ? "≥" : "≤"} {a.price}{a.repeating ? " (repeating)" : ""}{" "}
            <button type="button" onClick={() => void removeAlert(a.alert_id).catch((e) => setError(message(e)))}
                    aria-label={`Remove alert ${a.symbol} ${a.direction} ${a.price}`}>Remove</button>
          </li>
        ))}
      </ul>
      {!active.length && <p class="empty">No active alerts.</p>}
    </>
  );
}

/** The account's notifications (orders, alerts, risk) and this page's own messages. */
export function Notifications() {
  const canAsk = "Notification" in window && Notification.permission === "default";
  return (
    <>
      <h2>Notifications{unread.value > 0 && <> <span class="badge">{unread.value} unread</span></>}</h2>
      <div class="inline">
        {canAsk && <button type="button" onClick={() => void Notification.requestPermission()}>Enable desktop notifications</button>}
        {me.value && unread.value > 0 && <button type="button" onClick={() => void markAllRead()}>Mark all read</button>}
      </div>
      <ul class="notes" aria-label="Notifications" aria-live="polite">
        {[
          ...notes.value.map((n) => ({ at: n.time, el: (
            <li key={`p${n.id}`} class={n.kind}>
              <time>{time(n.time)}</time> {n.text}{" "}
              <button type="button" class="link" onClick={() => dismiss(n.id)} aria-label="Dismiss">×</button>
            </li>) })),
          ...serverNotes.value.map((n) => ({ at: Date.parse(n.created_at), el: (
            <li key={`s${n.notification_id}`} class={`${n.kind.toLowerCase()}${n.read ? " read" : ""}`}>
              <time>{time(Date.parse(n.created_at))}</time> {n.title}
            </li>) })),
        ].sort((a, b) => b.at - a.at).map((x) => x.el)}
      </ul>
    </>
  );
}
