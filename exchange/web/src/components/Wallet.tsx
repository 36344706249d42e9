import { useState } from "preact/hooks";
import { ApiError } from "../api";
import { dash, signClass } from "../format";
import { assets, faucet, portfolio } from "../store";
import { Tabs } from "./Tabs";

function Balances() {
  const pf = portfolio.value;
  return (
    <div class="scroll">
      <table aria-label="Balances">
        <thead><tr><th scope="col">Asset</th><th scope="col">Available</th><th scope="col">In orders</th><th scope="col">Total</th></tr></thead>
        <tbody>
          {(pf?.balances ?? []).map((b) => (
            <tr key={b.asset}><th scope="row">{b.asset}</th><td>{b.free}</td><td>{b.locked}</td><td>{dash(b.total)}</td></tr>
          ))}
        </tbody>
      </table>
      {pf?.totals.map((t) => (
        <p key={t.asset} class="totals">
          Net worth <b>{t.total} {t.asset}</b> (cash {t.cash}, positions {t.positions_value}); unrealised P&amp;L{" "}
          <b class={signClass(t.unrealised_pnl)}>{t.unrealised_pnl}</b>
        </p>
      ))}
    </div>
  );
}

function Positions() {
  const list = portfolio.value?.positions ?? [];
  return (
    <div class="scroll">
      <table aria-label="Positions">
        <thead><tr><th scope="col">Market</th><th scope="col">Qty</th><th scope="col">Avg cost</th><th scope="col">Last</th>
          <th scope="col">Value</th><th scope="col">Unrealised P&amp;L</th><th scope="col">Realised P&amp;L</th></tr></thead>
        <tbody>
          {list.map((p) => (
            <tr key={p.symbol}>
              <th scope="row">{p.symbol}</th><td>{p.quantity}</td><td>{dash(p.average_cost)}</td><td>{dash(p.last_price)}</td>
              <td>{dash(p.value)}</td><td class={signClass(p.unrealised_pnl)}>{dash(p.unrealised_pnl)}</td>
              <td class={signClass(p.realised_pnl)}>{p.realised_pnl}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!list.length && <p class="empty">No positions.</p>}
    </div>
  );
}

/** Test funds from the venue's faucet (sandbox venues run with [funding] faucet = true). */
function Faucet() {
  const list = assets();
  const [asset, setAsset] = useState(list.includes("USD") ? "USD" : list[0] ?? "");
  const [amount, setAmount] = useState("1000");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setError("");
    setBusy(true);
    try {
      await faucet(asset, amount.trim());
    } catch (err) {
      setError(err instanceof ApiError ? `${err.message} (${err.code})` : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="inline" onSubmit={submit} aria-label="Test funds">
      <label>Asset
        <select value={asset} onChange={(e) => setAsset((e.target as HTMLSelectElement).value)}>
          {list.map((a) => <option key={a} value={a}>{a}</option>)}
        </select>
      </label>
      <label>Amount<input inputMode="decimal" value={amount} onInput={(e) => setAmount((e.target as HTMLInputElement).value)} /></label>
      <button type="submit" disabled={busy}>Get test funds</button>
      <p class="error" role="alert">{error}</p>
    </form>
  );
}

export function Wallet() {
  return (
    <Tabs label="Wallet" tabs={[
      ["Balances", () => <Balances />],
      ["Portfolio", () => <Positions />],
      ["Funding", () => <Faucet />],
    ]} />
  );
}
