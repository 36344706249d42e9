// The page's state (Preact signals) and everything that changes it: the
// session, the public market-data socket, the private user-data socket (with
// REST polling while it is unavailable), order entry, funding and alerts.
import { batch, signal } from "@preact/signals";
import { ApiError, Platform, Signed, Tokens, TradingKey, pub } from "./api";
import { Draft, Market } from "./filters";
import { LiveSocket, SocketState, wsUrl } from "./ws";

export type Level = [string, string];
export interface Book { bids: Level[]; asks: Level[] }
export interface TapeTrade { id: number; price: string; qty: string; time: number; buyerMaker: boolean }
export interface Kline { time: number; open: number; high: number; low: number; close: number; volume: number }
export interface Me { account_id: number; email: string; totp_enabled: boolean }
export interface Order {
  order_id: number; client_order_id: string | null; symbol: string; side: string; type: string;
  time_in_force: string; status: string; working: boolean; price: string | null;
  quantity: string | null; quote_quantity: string | null; stop_price: string | null;
  executed_quantity: string; cumulative_quote: string; created_at: string; updated_at: string;
}
export interface Fill {
  trade_id: number; order_id: number; symbol: string; side: string; role: string; price: string;
  quantity: string; quote_quantity: string; fee: string; fee_asset: string; time: string;
}
export interface Balance { asset: string; free: string; locked: string; total?: string }
export interface Position {
  symbol: string; base: string; quote: string; quantity: string; last_price: string | null;
  value: string | null; cost: string; average_cost: string | null;
  unrealised_pnl: string | null; realised_pnl: string;
}
export interface Portfolio {
  balances: Balance[]; positions: Position[];
  totals: { asset: string; cash: string; positions_value: string; total: string; unrealised_pnl: string }[];
}
export interface Note { id: number; time: number; kind: "fill" | "order" | "alert" | "error" | "info"; text: string }
export interface Alert {
  alert_id: number; symbol: string; direction: "above" | "below"; price: string; repeating: boolean;
  active: boolean; triggered_count: number; last_triggered_at: string | null;
}
export interface ServerNote { notification_id: number; kind: string; title: string; created_at: string; read: boolean }
export type PrivateState = SocketState | "polling" | "off";

const POLL_MS = 5000;
const TAPE_LEN = 60;
const BOOK_LEVELS = 20;
const KLINE_INTERVAL = "1m";
const PRIVATE_WS = "/api/v1/ws";

// ---- state ------------------------------------------------------------------

export const markets = signal<Market[]>([]);
export const symbol = signal<string>("");
export const book = signal<Book>({ bids: [], asks: [] });
export const tape = signal<TapeTrade[]>([]);
export const lastPrice = signal<Record<string, string>>({});
export const publicState = signal<SocketState>("connecting");

export const me = signal<Me | null>(null);
export const booting = signal(true);
export const privateState = signal<PrivateState>("off");
export const openOrders = signal<Order[]>([]);
export const orderHistory = signal<Order[]>([]);
export const tradeHistory = signal<Fill[]>([]);
export const portfolio = signal<Portfolio | null>(null);
export const notes = signal<Note[]>([]);              // this page's own messages
export const serverNotes = signal<ServerNote[]>([]);   // the account's, from /api/v1/notifications
export const unread = signal(0);
export const alerts = signal<Alert[]>([]);
export const ticketPrice = signal<string>("");   // a clicked book level fills the ticket
export const resetToken = signal<string | null>(null);   // from a mailed #reset-password link
export const mailLinkResult = signal<{ ok: boolean; text: string } | null>(null);

export const platform = new Platform();
let signed: Signed | null = null;

/** Candle listeners: the chart sets these (it owns the series). */
export const klineSink: { reset: (k: Kline[]) => void; update: (k: Kline) => void } = {
  reset: () => {}, update: () => {},
};

export function market(): Market | undefined {
  return markets.value.find((m) => m.symbol === symbol.value);
}

// ---- notifications -----------------------------------------------------------

let noteId = 0;

export function notify(kind: Note["kind"], text: string): void {
  notes.value = [{ id: ++noteId, time: Date.now(), kind, text }, ...notes.value].slice(0, 50);
  if (kind !== "error" && "Notification" in window && Notification.permission === "granted" && document.hidden) {
    new Notification("exchange", { body: text });
  }
}

export function dismiss(id: number): void {
  notes.value = notes.value.filter((n) => n.id !== id);
}

// ---- public market data ------------------------------------------------------

let publicSocket: LiveSocket | null = null;

function streamsOf(sym: string): string[] {
  const s = sym.toLowerCase();
  return [`${s}@trade`, `${s}@depth${BOOK_LEVELS}@100ms`, `${s}@kline_${KLINE_INTERVAL}`, "!miniTicker@arr"];
}

function klineOf(row: any[]): Kline {
  return { time: Math.floor(row[0] / 1000), open: +row[1], high: +row[2], low: +row[3], close: +row[4], volume: +row[5] };
}

/** REST snapshots of the selected market (after a symbol change or a reconnect). */
async function snapshot(sym: string): Promise<void> {
  const [depth, trades, klines] = await Promise.all([
    pub<{ bids: Level[]; asks: Level[] }>("depth", { symbol: sym, limit: BOOK_LEVELS }),
    pub<any[]>("trades", { symbol: sym, limit: TAPE_LEN }),
    pub<any[][]>("klines", { symbol: sym, interval: KLINE_INTERVAL, limit: 500 }),
  ]);
  if (symbol.value !== sym) return;
  batch(() => {
    book.value = { bids: depth.bids, asks: depth.asks };
    tape.value = trades.reverse().map((t) => ({
      id: t.id, price: t.price, qty: t.qty, time: t.time, buyerMaker: t.isBuyerMaker,
    }));
    if (trades.length) lastPrice.value = { ...lastPrice.value, [sym]: trades[0].price };
  });
  klineSink.reset(klines.map(klineOf));
}

function onPublic(msg: any): void {
  if (!msg || typeof msg.stream !== "string") return;
  const { stream, data } = msg;
  const sym = symbol.value;
  if (stream === "!miniTicker@arr") {
    const next = { ...lastPrice.value };
    for (const t of data) next[t.s] = t.c;
    lastPrice.value = next;
    return;
  }
  const [prefix, kind] = [stream.slice(0, stream.indexOf("@")), stream.slice(stream.indexOf("@") + 1)];
  if (prefix.toUpperCase() !== sym) return;   // a late message of the previous market
  if (kind === "trade") {
    const t: TapeTrade = { id: data.t, price: data.p, qty: data.q, time: data.T, buyerMaker: data.m };
    batch(() => {
      tape.value = [t, ...tape.value.filter((x) => x.id !== t.id)].slice(0, TAPE_LEN);
      lastPrice.value = { ...lastPrice.value, [sym]: t.price };
    });
  } else if (kind.startsWith("depth")) {
    book.value = { bids: data.bids, asks: data.asks };
  } else if (kind.startsWith("kline_")) {
    const k = data.k;
    klineSink.update({ time: Math.floor(k.t / 1000), open: +k.o, high: +k.h, low: +k.l, close: +k.c, volume: +k.v });
  }
}

export function startPublic(): void {
  publicSocket = new LiveSocket({
    url: () => wsUrl(`/stream?streams=${streamsOf(symbol.value).join("/")}`),
    onMessage: onPublic,
    onState: (s) => { publicState.value = s; },
    onOpen: () => { snapshot(symbol.value).catch(() => {}); },
  });
}

export async function selectSymbol(sym: string): Promise<void> {
  const old = symbol.value;
  if (sym === old) return;
  batch(() => {
    symbol.value = sym;
    book.value = { bids: [], asks: [] };
    tape.value = [];
    ticketPrice.value = "";
  });
  localStorage.setItem("exchange.symbol", sym);
  if (location.hash.slice(1) !== sym) history.replaceState(null, "", `#${sym}`);
  if (publicSocket?.open) {
    if (old) publicSocket.send({ method: "UNSUBSCRIBE", params: streamsOf(old).slice(0, 3), id: 1 });
    publicSocket.send({ method: "SUBSCRIBE", params: streamsOf(sym).slice(0, 3), id: 2 });
  }
  await snapshot(sym).catch((e) => notify("error", `Market data: ${e.message}`));
}

export async function loadMarkets(): Promise<void> {
  const info = await pub<{ symbols: Market[] }>("exchangeInfo");
  markets.value = info.symbols;
  const wanted = location.hash.slice(1) || localStorage.getItem("exchange.symbol") || "";
  const first = info.symbols.find((m) => m.symbol === wanted) ?? info.symbols[0];
  if (first) symbol.value = first.symbol;
}

// ---- price alerts and notifications (kept by the server) ------------------------

export async function addAlert(sym: string, direction: "above" | "below", price: string, repeating: boolean): Promise<void> {
  await platform.call("POST", "alerts", { symbol: sym, direction, price, repeating });
  await loadAlerts();
}

export async function removeAlert(id: number): Promise<void> {
  await platform.call("DELETE", `alerts/${id}`);
  await loadAlerts();
}

async function loadAlerts(): Promise<void> {
  const r = await platform.call<{ alerts: Alert[] }>("GET", "alerts");
  alerts.value = r.alerts;
}

function showServerNotes(list: ServerNote[], total: number): void {
  const byId = new Map(serverNotes.value.map((n) => [n.notification_id, n]));
  const fresh = list.filter((n) => !byId.has(n.notification_id));
  for (const n of list) byId.set(n.notification_id, n);
  batch(() => {
    serverNotes.value = [...byId.values()].sort((a, b) => b.notification_id - a.notification_id).slice(0, 50);
    unread.value = total;
  });
  if ("Notification" in window && Notification.permission === "granted" && document.hidden) {
    for (const n of fresh) new Notification("exchange", { body: n.title });
  }
  if (fresh.some((n) => n.kind === "PRICE_ALERT")) void loadAlerts().catch(() => {});
}

async function loadNotes(): Promise<void> {
  const r = await platform.call<{ notifications: ServerNote[]; unread_count: number }>("GET", "notifications", undefined, { limit: 30 });
  showServerNotes(r.notifications, r.unread_count);
}

export async function markAllRead(): Promise<void> {
  await platform.call("POST", "notifications/read", { all: true });
  batch(() => {
    serverNotes.value = serverNotes.value.map((n) => ({ ...n, read: true }));
    unread.value = 0;
  });
}

// ---- the session -------------------------------------------------------------

const SESSION_KEY = "exchange.session";

function keyStorage(accountId: number): string {
  return `exchange.tradingKey.${accountId}`;
}

let tokenTimer: number | undefined;

/** Refresh the access token a minute before it expires (the private socket closes then). */
function scheduleRefresh(t: Tokens | null): void {
  clearTimeout(tokenTimer);
  if (t) tokenTimer = window.setTimeout(() => void platform.refresh().catch(() => {}),
    Math.max(5, t.expires_in - 60) * 1000);
}

platform.onTokens = (t: Tokens | null) => {
  scheduleRefresh(t);
  if (t) localStorage.setItem(SESSION_KEY, JSON.stringify(t));
  else {
    localStorage.removeItem(SESSION_KEY);
    if (me.value) endSession("Your session has ended; log in again.");
  }
  if (t) privateSocket?.reconnect();   // the socket authenticates with the new token
};

/** Reuse this browser's API key for the account if it is still active, else create one. */
async function tradingKey(accountId: number): Promise<TradingKey> {
  const stored = localStorage.getItem(keyStorage(accountId));
  if (stored) {
    const key = JSON.parse(stored) as TradingKey;
    const { api_keys } = await platform.call<{ api_keys: { api_key: string }[] }>("GET", "api-keys");
    if (api_keys.some((k) => k.api_key === key.api_key)) return key;
  }
  const created = await platform.call<TradingKey>("POST", "api-keys", { name: "web page", permissions: ["read", "trade"] });
  const key = { api_key: created.api_key, secret: created.secret };
  localStorage.setItem(keyStorage(accountId), JSON.stringify(key));
  return key;
}

async function beginSession(tokens: Tokens, resumed = false): Promise<void> {
  platform.tokens = tokens;
  localStorage.setItem(SESSION_KEY, JSON.stringify(tokens));
  if (resumed) await platform.refresh();   // the stored access token may have expired
  scheduleRefresh(platform.tokens);
  const profile = await platform.call<Me>("GET", "me");
  signed = new Signed(await tradingKey(profile.account_id));
  await signed.syncClock().catch(() => {});
  me.value = profile;
  startPrivate();
  await refreshPrivate();
}

function endSession(message?: string): void {
  clearTimeout(tokenTimer);
  stopPrivate();
  platform.tokens = null;
  signed = null;
  localStorage.removeItem(SESSION_KEY);
  batch(() => {
    me.value = null;
    openOrders.value = [];
    orderHistory.value = [];
    tradeHistory.value = [];
    portfolio.value = null;
    alerts.value = [];
    serverNotes.value = [];
    unread.value = 0;
  });
  if (message) notify("info", message);
}

export async function resume(): Promise<void> {
  const stored = localStorage.getItem(SESSION_KEY);
  if (!stored) return;
  try {
    await beginSession(JSON.parse(stored), true);
  } catch {
    endSession();
  }
}

export async function login(email: string, password: string, totp?: string): Promise<void> {
  const body: Record<string, string> = { email, password };
  if (totp) body.totp = totp;
  const tokens = await platform.call<Tokens>("POST", "auth/login", body);
  await beginSession(tokens);
}

export async function register(email: string, password: string): Promise<void> {
  await platform.call("POST", "auth/register", { email, password });
  await login(email, password);
}

export async function logout(): Promise<void> {
  const accountId = me.value?.account_id;
  const key = accountId ? localStorage.getItem(keyStorage(accountId)) : null;
  try {
    if (key) await platform.call("DELETE", `api-keys/${JSON.parse(key).api_key}`);
    await platform.call("POST", "auth/logout", {});
  } catch { /* the session may already be gone */ }
  if (accountId) localStorage.removeItem(keyStorage(accountId));
  endSession("Logged out.");
}

export async function enrollTotp(): Promise<{ secret: string; otpauth_uri: string }> {
  return platform.call("POST", "auth/totp/enroll", {});
}

export async function confirmTotp(code: string): Promise<void> {
  await platform.call("POST", "auth/totp/confirm", { totp: code });
  if (me.value) me.value = { ...me.value, totp_enabled: true };
}

// ---- private data: the user-data socket, else polling --------------------------

let privateSocket: LiveSocket | null = null;
let pollTimer: number | undefined;
let refreshTimer: number | undefined;
let refreshing = false;
let again = false;

/** Reload open orders, history and the portfolio (coalesced: one run at a time). */
export async function refreshPrivate(): Promise<void> {
  if (!me.value || !platform.tokens) return;
  if (refreshing) { again = true; return; }
  refreshing = true;
  try {
    const [, open, orders, fills, pf] = await Promise.all([
      loadNotes().then(loadAlerts),
      platform.call<{ orders: Order[] }>("GET", "orders", undefined, { status: "NEW,PARTIALLY_FILLED", limit: 500 }),
      platform.call<{ orders: Order[] }>("GET", "orders", undefined, { limit: 100 }),
      platform.call<{ trades: Fill[] }>("GET", "trades", undefined, { limit: 100 }),
      platform.call<Portfolio>("GET", "portfolio"),
    ]);
    if (!me.value) return;
    batch(() => {
      openOrders.value = open.orders;
      orderHistory.value = orders.orders;
      tradeHistory.value = fills.trades;
      portfolio.value = pf;
    });
  } catch (e) {
    if (e instanceof ApiError && e.status !== 401) notify("error", `Refreshing your data: ${e.message}`);
  } finally {
    refreshing = false;
    if (again) { again = false; void refreshPrivate(); }
  }
}

let notesTimer: number | undefined;

/** Refresh shortly (coalescing bursts); notifications once more after the server's 1 s window. */
function refreshSoon(): void {
  clearTimeout(refreshTimer);
  refreshTimer = window.setTimeout(() => void refreshPrivate(), 150);
  clearTimeout(notesTimer);
  notesTimer = window.setTimeout(() => void loadNotes().catch(() => {}), 1500);
}

function poll(on: boolean): void {
  clearInterval(pollTimer);
  pollTimer = on ? window.setInterval(() => void refreshPrivate(), POLL_MS) : undefined;
}

function onPrivate(msg: any): void {
  const ev = msg && msg.stream && msg.data ? msg.data : msg;
  if (!ev || typeof ev.e !== "string") return;
  if (ev.e === "notification") {
    showServerNotes([ev as ServerNote], unread.value + 1);
    return;
  }
  if (ev.e === "outboundAccountPosition" && portfolio.value && Array.isArray(ev.B)) {
    const changed = new Map<string, any>(ev.B.map((b: any) => [b.a, b]));
    portfolio.value = {
      ...portfolio.value,
      balances: portfolio.value.balances.map((b) => {
        const c = changed.get(b.asset);
        return c ? { ...b, free: c.f, locked: c.l } : b;
      }),
    };
  }
  refreshSoon();
}

let notesPoll: number | undefined;
const NOTES_POLL_MS = 10_000;   // notifications the socket does not carry (alerts, risk) still arrive

function startPrivate(): void {
  stopPrivate();
  privateState.value = "connecting";
  notesPoll = window.setInterval(() => void loadNotes().catch(() => {}), NOTES_POLL_MS);
  poll(true);   // until the socket is open
  privateSocket = new LiveSocket({
    url: () => wsUrl(`${PRIVATE_WS}?token=${encodeURIComponent(platform.tokens?.access_token ?? "")}`),
    onMessage: onPrivate,
    maxFailures: 3,
    onState: (s) => {
      if (s === "open") {
        privateState.value = "open";
        poll(false);
        refreshSoon();
      } else if (privateState.value === "open" || privateState.value === "connecting") {
        privateState.value = s === "closed" ? "polling" : s;
        poll(true);
      }
    },
    onGiveUp: () => { privateState.value = "polling"; poll(true); },
  });
}

function stopPrivate(): void {
  poll(false);
  clearInterval(notesPoll);
  privateSocket?.close();
  privateSocket = null;
  privateState.value = "off";
}

// ---- order entry and funding ----------------------------------------------------

function requireKey(): Signed {
  if (!signed) throw new ApiError(401, "UNAUTHENTICATED", "Log in to trade.");
  return signed;
}

export async function placeOrder(m: Market, d: Draft, tif: string): Promise<any> {
  const params: Record<string, string> = {
    symbol: m.symbol, side: d.side, type: d.type, quantity: d.quantity.trim(), newOrderRespType: "FULL",
  };
  if (d.type !== "MARKET") {
    params.price = d.price.trim();
    params.timeInForce = tif;
  }
  if (d.type === "STOP_LOSS_LIMIT") params.stopPrice = d.stopPrice.trim();
  try {
    const r = await requireKey().call<any>("POST", "order", params);
    notify("order", `Order ${r.orderId} ${r.status.toLowerCase().replace("_", " ")}: ${d.side} ${r.executedQty}/${r.origQty} ${m.symbol}`);
    return r;
  } finally {
    refreshSoon();
  }
}

export async function cancelOrder(o: Order): Promise<void> {
  try {
    await requireKey().call("DELETE", "order", { symbol: o.symbol, orderId: o.order_id });
    notify("order", `Order ${o.order_id} canceled.`);
  } finally {
    refreshSoon();
  }
}

/** Amend = cancel and replace (price and/or remaining quantity), stopping if the cancel fails. */
export async function amendOrder(o: Order, price: string, quantity: string): Promise<void> {
  const params: Record<string, string | number> = {
    symbol: o.symbol, side: o.side.toUpperCase(), type: o.type, quantity, cancelOrderId: o.order_id,
    cancelReplaceMode: "STOP_ON_FAILURE",
  };
  if (o.price !== null) { params.price = price; params.timeInForce = o.time_in_force; }
  if (o.stop_price !== null) params.stopPrice = o.stop_price;
  try {
    const r = await requireKey().call<any>("POST", "order/cancelReplace", params);
    notify("order", `Order ${o.order_id} amended: now order ${r.newOrderResponse?.orderId}.`);
  } finally {
    refreshSoon();
  }
}

export async function faucet(asset: string, amount: string): Promise<void> {
  try {
    await platform.call("POST", "funding/faucet", { asset, amount });
    notify("info", `Credited ${amount} ${asset}.`);
  } finally {
    refreshSoon();
  }
}

export function assets(): string[] {
  const s = new Set<string>();
  for (const m of markets.value) { s.add(m.quoteAsset); s.add(m.baseAsset); }
  return [...s].sort();
}

// ---- the links the server mails ----------------------------------------------
// <public_url>/#reset-password?token=T and <public_url>/#verify-email?token=T. The
// fragment is cleared as soon as it is read (the token stays only in memory).

const MAIL_LINK = /^#(reset-password|verify-email)\?(.*)$/;

export function readMailLink(): void {
  const m = MAIL_LINK.exec(location.hash);
  if (!m) return;
  const token = new URLSearchParams(m[2]).get("token") ?? "";
  history.replaceState(null, "", location.pathname + location.search);
  mailLinkResult.value = null;
  if (m[1] === "reset-password") {
    resetToken.value = token;
  } else {
    resetToken.value = null;
    void verifyEmail(token);
  }
}

function refusal(e: unknown): string {
  return e instanceof ApiError ? `${e.message} (${e.code})` : String(e);
}

async function verifyEmail(token: string): Promise<void> {
  try {
    await platform.call("POST", "auth/verify-email", { token });
    mailLinkResult.value = { ok: true, text: "Email verified." };
  } catch (e) {
    mailLinkResult.value = { ok: false, text: `Email not verified: ${refusal(e)}` };
  }
}

/** Set a new password with the mailed token; the server ends every session of the account. */
export async function confirmReset(token: string, password: string): Promise<void> {
  await platform.call("POST", "auth/password-reset/confirm", { token, new_password: password });
  resetToken.value = null;
  if (me.value) endSession();
  mailLinkResult.value = { ok: true, text: "Your password is changed. Log in with the new one." };
}

export async function boot(): Promise<void> {
  readMailLink();
  window.addEventListener("hashchange", readMailLink);
  try {
    await loadMarkets();
    startPublic();
    await resume();
  } catch (e) {
    notify("error", `Starting: ${(e as Error).message}`);
  } finally {
    booting.value = false;
  }
}
