// Display helpers: amounts stay decimal strings from the server; only the chart uses numbers.
import Big from "big.js";

export function time(ms: number | string): string {
  const d = typeof ms === "number" ? new Date(ms) : new Date(ms);
  return d.toLocaleTimeString([], { hour12: false });
}

export function dateTime(iso: string): string {
  const d = new Date(iso);
  return `${d.toLocaleDateString()} ${d.toLocaleTimeString([], { hour12: false })}`;
}

export function dash(v: string | null | undefined): string {
  return v === null || v === undefined ? "—" : v;
}

export function signClass(v: string | null | undefined): string {
  if (!v) return "";
  const b = Big(v);
  return b.gt(0) ? "up" : b.lt(0) ? "down" : "";
}

export function lower(s: string): string {
  return s.toLowerCase().replace(/_/g, " ");
}
