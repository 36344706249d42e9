import { AccountMenu } from "./Account";
import { Alerts, Notifications } from "./Alerts";
import { Auth } from "./Auth";
import { MailLinkResult, ResetPassword } from "./MailLink";
import { Chart } from "./Chart";
import { OrderBook, TradeTape } from "./Book";
import { Orders } from "./Orders";
import { Ticket } from "./Ticket";
import { Wallet } from "./Wallet";
import { booting, lastPrice, markets, me, privateState, publicState, resetToken, selectSymbol, symbol } from "../store";

const PUBLIC_LABEL = { open: "live", connecting: "connecting…", closed: "reconnecting…" };
const PRIVATE_LABEL = { open: "live", connecting: "connecting…", closed: "reconnecting…", polling: "refreshing every 5 s", off: "—" };

function Header() {
  const sym = symbol.value;
  return (
    <header class="top">
      <a class="skip" href="#ticket">Skip to the order ticket</a>
      <h1>exchange</h1>
      <label class="market-select">
        <span>Market</span>
        <select value={sym} onChange={(e) => void selectSymbol((e.target as HTMLSelectElement).value)}>
          {markets.value.map((m) => (
            <option key={m.symbol} value={m.symbol}>{m.symbol} / {m.quoteAsset}</option>
          ))}
        </select>
      </label>
      <span class="last" aria-live="off" data-testid="last-price">{lastPrice.value[sym] ?? "—"}</span>
      <span class="status" role="status">
        <span class={`dot ${publicState.value}`} aria-hidden="true" />Market data: {PUBLIC_LABEL[publicState.value]}
        {me.value && <>
          <span class={`dot ${privateState.value}`} aria-hidden="true" />Account: {PRIVATE_LABEL[privateState.value]}
        </>}
      </span>
      <nav class="jump" aria-label="Sections">
        <a href="#chart">Chart</a><a href="#book">Book</a><a href="#ticket">Trade</a>
        <a href="#orders">Orders</a><a href="#wallet">Wallet</a><a href="#alerts">Alerts</a>
      </nav>
      {me.value && <AccountMenu />}
    </header>
  );
}

export function App() {
  if (booting.value) return <p class="loading" role="status">Loading…</p>;
  const user = me.value;
  const reset = resetToken.value;
  return (
    <>
      <Header />
      <main class={user ? "grid" : "grid guest"}>
        <section id="chart" class="panel chart-panel" aria-label="Chart"><Chart /></section>
        <section id="book" class="panel book-panel" aria-label="Order book"><OrderBook /></section>
        <section class="panel tape-panel" aria-label="Trades"><TradeTape /></section>
        <section id="ticket" class="panel ticket-panel" aria-label={user ? "Order ticket" : "Log in or sign up"}>
          <MailLinkResult />
          {reset !== null ? <ResetPassword token={reset} /> : user ? <Ticket /> : <><Auth /><Notifications /></>}
        </section>
        {user && <>
          <section id="orders" class="panel orders-panel" aria-label="Orders"><Orders /></section>
          <section id="wallet" class="panel wallet-panel" aria-label="Wallet"><Wallet /></section>
          <section id="alerts" class="panel alerts-panel" aria-label="Alerts and notifications">
            <Alerts />
            <Notifications />
          </section>
        </>}
      </main>
    </>
  );
}
