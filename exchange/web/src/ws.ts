// A WebSocket that reconnects by itself, with a capped exponential back-off.

export type SocketState = "connecting" | "open" | "closed";

export interface SocketOptions {
  url: () => string;                      // read at every (re)connect
  onMessage: (data: any) => void;
  onState?: (state: SocketState) => void;
  onOpen?: (ws: WebSocket) => void;
  onGiveUp?: () => void;                  // never opened after `maxFailures` tries in a row
  maxFailures?: number;
}

export function wsUrl(path: string): string {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}${path}`;
}

export class LiveSocket {
  private ws: WebSocket | null = null;
  private timer: number | undefined;
  private failures = 0;
  private stopped = false;

  constructor(private opts: SocketOptions) {
    this.connect();
  }

  get open(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  send(msg: unknown): void {
    if (this.open) this.ws!.send(JSON.stringify(msg));
  }

  /** Drop the connection and open a new one now (e.g. with a new token). */
  reconnect(): void {
    this.failures = 0;
    this.ws?.close();
  }

  close(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.ws?.close();
    this.opts.onState?.("closed");
  }

  private connect(): void {
    if (this.stopped) return;
    this.opts.onState?.("connecting");
    let opened = false;
    const ws = new WebSocket(this.opts.url());
    this.ws = ws;
    ws.onopen = () => {
      opened = true;
      this.failures = 0;
      this.opts.onState?.("open");
      this.opts.onOpen?.(ws);
    };
    ws.onmessage = (ev) => {
      let data: unknown;
      try {
        data = JSON.parse(ev.data);
      } catch {
        return;
      }
      this.opts.onMessage(data);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      this.opts.onState?.("closed");
      if (!opened) this.failures += 1;
      if (this.opts.maxFailures && this.failures >= this.opts.maxFailures) {
        this.opts.onGiveUp?.();
        this.failures = 0;
      }
      const delay = Math.min(30_000, 500 * 2 ** Math.min(this.failures, 6));
      this.timer = window.setTimeout(() => this.connect(), delay);
    };
  }
}
