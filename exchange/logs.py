"""Log lines as text or as JSON objects (``log_format`` in config.toml's [server]).

A JSON line holds ``ts`` (UTC, ISO 8601, milliseconds), ``level``, ``logger``
and ``msg``, then whatever the call passed in ``extra``: a record about a
command carries its ``seq`` (``log.info(..., extra={"seq": seq})``), and
``exc`` holds the traceback when there is one. Text lines end with
``seq=N`` when a record has a seq.
"""

import contextlib
import datetime
import json
import logging

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
        return json.dumps(out, ensure_ascii=False, default=repr)


class TextFormatter(logging.Formatter):
    """The plain format, with ``seq=N`` appended when the record concerns a command."""

    def __init__(self):
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
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
