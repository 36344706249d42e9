"""Log lines as text or as JSON objects (``log_format`` in config.toml's [server]).

A JSON line holds ``ts`` (UTC, ISO 8601, milliseconds), ``level``, ``logger``
and ``msg``, then whatever the call passed in ``extra``: a record about a
command carries its ``seq`` (``log.info(..., extra={"seq": seq})``), and
``exc`` holds the traceback when there is one. Text lines end with
``seq=N`` when a record has a seq.

No credential belongs in a log line, and none is put there: handlers log
route patterns, not paths; aiohttp's protocol logger is ``ProtocolLog``,
which turns a client's fault (a malformed request, an oversized header, a
disconnect) into one DEBUG line naming the error's kind, never its text or
the request's bytes. As a second line of defence both formatters
``redact`` what looks like a secret (bearer tokens, JWTs, long hex keys,
``Authorization``/``X-MBX-APIKEY`` header values, ``signature=``,
``listenKey=`` and ``token=`` values) from every formatted line, tracebacks
included.
"""

import contextlib
import datetime
import json
import logging
import re
import sys

from aiohttp import http_exceptions

_SECRET = re.compile(
    r"(?i)((?:authorization|x-mbx-apikey|cookie)\s*[:=]\s*)[^\r\n,'\"}]+"
    r"|((?:signature|listenkey|token|secret|password|api_key|apikey)[\"']?\s*[:=]\s*[\"']?)"
    r"[^&\s,'\"}]+"
    r"|bearer\s+[A-Za-z0-9._~+/=-]+"
    r"|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"
    r"|(?<![0-9A-Za-z])[0-9A-Za-z]{40,}(?![0-9A-Za-z])")


def _redacted(match: re.Match) -> str:
    prefix = match.group(1) or match.group(2)
    return (prefix or "") + "[redacted]"


def redact(text: str) -> str:
    """``text`` with everything shaped like a credential replaced by ``[redacted]``."""
    return _SECRET.sub(_redacted, text)


# A client's fault, not the server's: no traceback, no text (it may quote the request).
CLIENT_FAULTS = (http_exceptions.HttpProcessingError, ConnectionError, TimeoutError)


class ProtocolLog:
    """The logger aiohttp's request handler is given (``handler_args["logger"]``).

    aiohttp calls ``exception`` for a request it could not parse and for a
    client that went away; those become one DEBUG line with the error's class
    name. Any other exception is a server error: ERROR with its traceback.
    """

    def __init__(self, logger: logging.Logger | None = None):
        self.logger = logger or logging.getLogger("aiohttp.server")

    def _fault(self, exc_info):
        exc = exc_info if isinstance(exc_info, BaseException) else sys.exc_info()[1]
        return exc if isinstance(exc, CLIENT_FAULTS) else None

    def exception(self, msg, *args, exc_info=True, **kwargs) -> None:
        exc = self._fault(exc_info)
        if exc is not None:
            self.logger.debug(msg + " (%s)", *args, type(exc).__name__)
        else:
            self.logger.error(msg, *args, exc_info=exc_info, **kwargs)

    def debug(self, msg, *args, exc_info=None, **kwargs) -> None:
        exc = self._fault(exc_info) if exc_info else None
        if exc is not None or exc_info:
            kind = type(exc).__name__ if exc is not None else "error"
            self.logger.debug(msg + " (%s)", *args, kind)
        else:
            self.logger.debug(msg, *args, **kwargs)

    def __getattr__(self, name):   # info, warning, error, isEnabledFor, ...
        return getattr(self.logger, name)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Attributes every LogRecord has: anything else on a record came in ``extra``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.datetime.fromtimestamp(record.created, datetime.UTC)
        out = {"ts": ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
               "level": record.levelname, "logger": record.name, "msg": record.getMessage()}
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out.setdefault(key, value)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return redact(json.dumps(out, ensure_ascii=False, default=repr))


class TextFormatter(logging.Formatter):
    """The plain format, with ``seq=N`` appended when the record concerns a command."""

    def __init__(self):
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = redact(super().format(record))
        seq = getattr(record, "seq", None)
        return text if seq is None else f"{text} seq={seq}"


def formatter(log_format: str) -> logging.Formatter:
    """Return the formatter for ``log_format`` ("text" or "json"); ValueError otherwise."""
    if log_format == "json":
        return JsonFormatter()
    if log_format == "text":
        return TextFormatter()
    raise ValueError(f"log_format must be 'text' or 'json', got {log_format!r}")


def configure(level: str = "INFO", log_format: str = "text", stream=None) -> None:
    """Send the root logger's records at ``level`` and above to ``stream`` (stderr)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(log_format))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class Demote(logging.Filter):
    """Lower a logger's INFO records to DEBUG (shown only when DEBUG is enabled).

    For chatty libraries (pgserver logs every initdb and pg_ctl run, with their
    whole output, at INFO): their lines stay available with ``log_level = DEBUG``
    without drowning the start-up's own lines.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger().isEnabledFor(logging.DEBUG)
        return True


@contextlib.contextmanager
def demoted(name: str):
    """Within the block, logger ``name``'s INFO records are DEBUG records."""
    logger, demote = logging.getLogger(name), Demote()
    logger.addFilter(demote)
    try:
        yield
    finally:
        logger.removeFilter(demote)
