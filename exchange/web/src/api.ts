// REST calls: the platform API (/api/v1, JSON with a bearer token) and the
// Binance dialect (/api/v3: public GETs, and order entry signed with the
// page's own API key, HMAC-SHA256 over the query string).
import { hmac } from "@noble/hashes/hmac";
import { sha256 } from "@noble/hashes/sha2";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils";

/** A refusal from either API: the HTTP status, the machine code and the server's message. */
export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string) {
    super(message);
  }
}

export interface Tokens {
  account_id: number;
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

export interface TradingKey {
  api_key: string;
  secret: string;
}

type Query = Record<string, string | number | undefined>;

function qs(params: Query): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== "") parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.join("&");
}

async function parse(resp: Response): Promise<unknown> {
  const text = await resp.text();
  let body: any = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      throw new ApiError(resp.status, "BAD_RESPONSE", `The server answered ${resp.status} with no JSON.`);
    }
  }
  if (!resp.ok) {
    // /api/v1 refusals are {code, message}; /api/v3 ones are Binance's {code, msg}.
    const code = body && body.code !== undefined ? String(body.code) : `HTTP_${resp.status}`;
    const message = (body && (body.message ?? body.msg)) || resp.statusText || "Request refused.";
    throw new ApiError(resp.status, code, message);
  }
  return body;
}

async function request(method: string, url: string, init: RequestInit = {}): Promise<unknown> {
  let resp: Response;
  try {
    resp = await fetch(url, { method, ...init });
  } catch {
    throw new ApiError(0, "NETWORK", "The server cannot be reached.");
  }
  return parse(resp);
}

/** Public market data from /api/v3. */
export function pub<T>(path: string, params: Query = {}): Promise<T> {
  const q = qs(params);
  return request("GET", `/api/v3/${path}${q ? "?" + q : ""}`) as Promise<T>;
}

/** A platform-API client holding the session's tokens; refreshes an expired access token once. */
export class Platform {
  tokens: Tokens | null = null;
  onTokens: (t: Tokens | null) => void = () => {};
  private refreshing: Promise<void> | null = null;

  async call<T>(method: string, path: string, body?: unknown, params: Query = {}): Promise<T> {
    const attempt = () => {
      const headers: Record<string, string> = {};
      if (this.tokens) headers["Authorization"] = `Bearer ${this.tokens.access_token}`;
      let data: string | undefined;
      if (body !== undefined) {
        headers["Content-Type"] = "application/json";
        data = JSON.stringify(body);
      }
      const q = qs(params);
      return request(method, `/api/v1/${path}${q ? "?" + q : ""}`, { headers, body: data });
    };
    try {
      return (await attempt()) as T;
    } catch (e) {
      if (e instanceof ApiError && e.code === "TOKEN_EXPIRED" && this.tokens) {
        await this.refresh();
        return (await attempt()) as T;
      }
      if (e instanceof ApiError && e.status === 401 && this.tokens && !path.startsWith("auth/")) {
        this.tokens = null;   // revoked (logged out elsewhere, password changed): the session is over
        this.onTokens(null);
      }
      throw e;
    }
  }

  /** Trade the refresh token for a new pair (one refresh at a time). */
  refresh(): Promise<void> {
    if (!this.refreshing) {
      const current = this.tokens;
      this.refreshing = (async () => {
        if (!current) throw new ApiError(401, "UNAUTHENTICATED", "Not logged in.");
        try {
          const t = await request("POST", "/api/v1/auth/refresh", {
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ refresh_token: current.refresh_token }),
          }) as Tokens;
          this.tokens = t;
          this.onTokens(t);
        } catch (e) {
          if (e instanceof ApiError && e.status === 401) {
            this.tokens = null;
            this.onTokens(null);
          }
          throw e;
        }
      })().finally(() => { this.refreshing = null; });
    }
    return this.refreshing;
  }
}

/** Signed /api/v3 requests with the page's API key; the clock is aligned to the server's. */
export class Signed {
  private offsetMs = 0;

  constructor(public key: TradingKey) {}

  async syncClock(): Promise<void> {
    const before = Date.now();
    const { serverTime } = await pub<{ serverTime: number }>("time");
    this.offsetMs = serverTime - Math.round((before + Date.now()) / 2);
  }

  async call<T>(method: string, path: string, params: Query): Promise<T> {
    const payload = qs({ ...params, timestamp: Date.now() + this.offsetMs, recvWindow: 10000 });
    const signature = bytesToHex(hmac(sha256, utf8ToBytes(this.key.secret), utf8ToBytes(payload)));
    const body = `${payload}&signature=${signature}`;
    const headers = { "X-MBX-APIKEY": this.key.api_key };
    if (method === "GET") return request(method, `/api/v3/${path}?${body}`, { headers }) as Promise<T>;
    return request(method, `/api/v3/${path}`, {
      headers: { ...headers, "Content-Type": "application/x-www-form-urlencoded" },
      body,
    }) as Promise<T>;
  }
}
