"""Fan-out of stream messages to WebSocket subscribers: serialise once, write once.

Publishers hand the hub a message as JSON bytes for a named stream
(``publish``). The hub gathers what is published and flushes at most every
``flush_s`` seconds: for each stream it builds the WebSocket frames of its
messages once (a server frame is never masked, so the same bytes go to every
subscriber), in the raw form (``/ws``) and, when someone needs it, in the
combined form (``{"stream": ..., "data": ...}``, ``/stream``), and writes each
subscriber's frames to its transport in one call. A subscriber whose unsent
bytes pass ``max_buffer`` is dropped with close code 1008 instead of being
allowed to hold memory or delay the others. ``publish_to`` writes one stream
message at once to some of its subscribers only (a catch-up for newcomers).

Each subscriber gets the messages of each of its streams in publish order.
"""

import asyncio
import logging
import struct

log = logging.getLogger(__name__)

SLOW_CLOSE_CODE = 1008          # policy violation: the client does not keep up
NORMAL_CLOSE_CODE = 1000
CLOSE_GRACE_S = 5.0             # a dropped client's socket is aborted after this


def frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """One unmasked, final WebSocket frame (RFC 6455 §5.2) carrying ``payload``."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + payload


def frames(wrap, stream: str, messages: list) -> bytes:
    """``messages`` of ``stream`` as frames for a subscriber whose ``wrap`` is None (raw),
    "combined" (``{"stream": ..., "data": ...}``) or a function of each message."""
    if wrap is None:
        return b"".join([frame(m) for m in messages])
    if wrap == "combined":
        head = b'{"stream":"' + stream.encode() + b'","data":'
        return b"".join([frame(head + m + b"}") for m in messages])
    return b"".join([frame(wrap(m)) for m in messages])


def close_frame(code: int, reason: str) -> bytes:
    return frame(struct.pack("!H", code) + reason.encode()[:120], 0x8)


class Subscriber:
    """One WebSocket connection's delivery state.

    ``wrap`` is None for raw frames, ``"combined"`` for ``/stream``'s
    envelope, or a callable turning a message into this connection's own
    bytes (the WebSocket API's ``{"subscriptionId": n, "event": ...}``).
    """

    __slots__ = ("transport", "streams", "wrap", "dropped")

    def __init__(self, transport, wrap=None):
        self.transport = transport
        self.streams = set()
        self.wrap = wrap
        self.dropped = False


class Hub:
    def __init__(self, *, flush_s: float = 0.02, max_buffer: int = 4 << 20, metrics=None):
        self.flush_s = flush_s
        self.max_buffer = max_buffer
        self.metrics = metrics          # exchange.metrics.Metrics or None
        self.by_stream = {}             # stream -> set of Subscriber
        self.pending = {}               # stream -> [message bytes]
        self.delivered = 0              # messages written to transports
        self.dropped = 0                # subscribers dropped for being slow
        self._handle = None
        self._last_flush = 0.0

    # ---- subscriptions ---------------------------------------------------------

    def connect(self, transport, wrap=None) -> Subscriber:
        sub = Subscriber(transport, wrap)
        if self.metrics is not None:
            self.metrics.ws_clients.inc()
        return sub

    def subscribe(self, sub: Subscriber, stream: str) -> None:
        sub.streams.add(stream)
        self.by_stream.setdefault(stream, set()).add(sub)

    def unsubscribe(self, sub: Subscriber, stream: str) -> None:
        sub.streams.discard(stream)
        subs = self.by_stream.get(stream)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self.by_stream[stream]
                self.pending.pop(stream, None)

    def disconnect(self, sub: Subscriber) -> None:
        """Forget a subscriber (idempotent)."""
        for stream in list(sub.streams):
            self.unsubscribe(sub, stream)
        if sub.transport is not None:
            sub.transport = None
            if self.metrics is not None:
                self.metrics.ws_clients.dec()

    def wanted(self, stream: str) -> bool:
        """Whether anyone listens to ``stream`` (publishers skip the work otherwise)."""
        return stream in self.by_stream

    # ---- publishing --------------------------------------------------------------

    def publish(self, stream: str, message: bytes) -> None:
        """Queue ``message`` (JSON bytes) for the subscribers of ``stream``."""
        if stream not in self.by_stream:
            return
        queue = self.pending.get(stream)
        if queue is None:
            self.pending[stream] = [message]
        else:
            queue.append(message)
        if self._handle is None:
            loop = asyncio.get_running_loop()
            delay = self._last_flush + self.flush_s - loop.time()
            self._handle = (loop.call_later(delay, self.flush) if delay > 0
                            else loop.call_soon(self.flush))

    def flush_now(self) -> None:
        """Write what is pending now, whatever the flush interval.

        The public feed calls this once it has queued everything of one commit:
        a commit is already a batch (tens of messages per stream), and a flush
        left to the timer would wait behind whatever the loop runs next (the
        batcher's next batch, the requests the commit released). The interval
        still paces what is published between commits (the timed streams)."""
        if self.pending:
            if self._handle is not None:
                self._handle.cancel()
            self.flush()

    def send(self, sub: Subscriber, message: bytes) -> None:
        """Write one message to one subscriber now (replies, initial snapshots)."""
        if sub.transport is not None and not sub.dropped:
            data = message if sub.wrap is None or sub.wrap == "combined" else sub.wrap(message)
            self._write(sub, [frame(data)])

    def publish_to(self, subs, stream: str, message: bytes) -> None:
        """Write ``message`` of ``stream`` now to those of ``subs`` that listen to it (a
        catch-up for newcomers), each in its own framing as ``flush`` writes it (raw or
        combined envelope). Whatever of ``stream`` is still pending goes out first, so
        publish order holds."""
        if stream in self.pending:
            self.flush_now()
        members = self.by_stream.get(stream)
        if members is None:
            return
        for sub in members.intersection(subs):   # a copy: a failed write unsubscribes
            self._write(sub, [frames(sub.wrap, stream, [message])])
            self.delivered += 1

    def flush(self) -> None:
        """Write everything pending: each stream's frames built once, one write per subscriber."""
        self._handle = None
        self._last_flush = asyncio.get_running_loop().time()
        pending, self.pending = self.pending, {}
        parts = {}   # subscriber -> [frames bytes]
        for stream, messages in pending.items():
            subs = self.by_stream.get(stream)
            if not subs:
                continue
            raw = combined = None   # each built once, for every subscriber that wants it
            for sub in subs:
                wrap = sub.wrap
                if wrap is None:
                    if raw is None:
                        raw = frames(None, stream, messages)
                    chunk = raw
                elif wrap == "combined":
                    if combined is None:
                        combined = frames(wrap, stream, messages)
                    chunk = combined
                else:
                    chunk = frames(wrap, stream, messages)
                out = parts.get(sub)
                if out is None:
                    parts[sub] = [chunk]
                else:
                    out.append(chunk)
            self.delivered += len(messages) * len(subs)
        for sub, chunks in parts.items():
            self._write(sub, chunks)

    def _write(self, sub: Subscriber, chunks: list) -> None:
        transport = sub.transport
        if transport is None or transport.is_closing():
            self.disconnect(sub)
            return
        transport.writelines(chunks)
        if transport.get_write_buffer_size() > self.max_buffer:
            self.drop(sub, "slow consumer")

    def drop(self, sub: Subscriber, reason: str, code: int = SLOW_CLOSE_CODE) -> None:
        """Close a subscriber's connection with ``code``; its buffered data is let go."""
        self.dropped += 1
        if self.metrics is not None:
            self.metrics.ws_drops.inc()
        if self.end(sub, reason, code):
            log.info("dropped WebSocket subscriber: %s", reason)

    def end(self, sub: Subscriber, reason: str, code: int = NORMAL_CLOSE_CODE) -> bool:
        """Close a subscriber's connection with ``code`` now (a drop, or the end of what it
        was let in for: an expired listen key); return whether it was still open."""
        transport = sub.transport
        sub.dropped = True
        self.disconnect(sub)
        if transport is None or transport.is_closing():
            return False
        transport.write(close_frame(code, reason))
        transport.close()  # flushes what it can; aborted below if the client never reads
        asyncio.get_running_loop().call_later(CLOSE_GRACE_S, transport.abort)
        return True

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
