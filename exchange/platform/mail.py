"""Outgoing mail over SMTP (aiosmtplib): account mail and opt-in notifications.

``Mailer.send`` never waits and never raises: it hands the message to a task
of its own, at most ``MAX_CONNECTIONS`` talking to the SMTP server at a time
and ``MAX_QUEUED`` waiting, so neither a handler nor the sequencer ever waits
on SMTP. A failure (server down, refused, timed out) is one WARNING line,
without the address or the message, and counts in
``exchange_mail_total{outcome="failed"}``; the request that caused the mail
has been answered already. With no ``smtp_host`` the mailer is off
(``enabled`` false): what needs mail answers 503 MAIL_DISABLED, the rest
sends nothing.
"""

import asyncio
import logging
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from ..settings import Settings

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 4
MAX_QUEUED = 1000
MAX_COOLDOWNS = 10_000     # (purpose, address) pairs remembered by ``allow``
DEFAULT_PORTS = {"tls": 465, "starttls": 587, "none": 25}


class Mailer:
    """Send mail with the [mail] settings (see the module docstring)."""

    def __init__(self, settings: Settings, metrics=None):
        self.enabled = bool(settings.smtp_host)
        self._s = settings
        self._port = settings.smtp_port or DEFAULT_PORTS[settings.smtp_security]
        self._metrics = metrics
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)
        self._tasks = set()
        self._last = {}   # (purpose, address) -> monotonic time of the last allowed mail
        host = settings.host if settings.host not in ("0.0.0.0", "::") else "127.0.0.1"
        self.public_url = (settings.public_url or f"http://{host}:{settings.port}").rstrip("/")

    def send(self, to: str, subject: str, text: str, purpose: str) -> bool:
        """Queue a plain-text mail to ``to``; return whether it was queued (False: mail off,
        or the queue is full, counted as dropped)."""
        if not self.enabled:
            return False
        if len(self._tasks) >= MAX_QUEUED:
            log.warning("mail (%s) dropped: %d mails already queued", purpose, MAX_QUEUED)
            self._count("dropped")
            return False
        msg = EmailMessage()
        msg["From"] = self._s.smtp_from
        msg["To"] = to
        msg["Subject"] = subject
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(domain=self._s.smtp_from.rpartition("@")[2] or None)
        msg["X-Exchange-Purpose"] = purpose
        msg.set_content(text)
        task = asyncio.get_running_loop().create_task(self._deliver(msg, purpose))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    def allow(self, purpose: str, address: str, every_s: float) -> bool:
        """Whether a ``purpose`` mail to ``address`` may go now: at most one per ``every_s``
        (in this process), so a route anyone may call cannot flood an inbox."""
        now = time.monotonic()
        key = (purpose, address)
        last = self._last.get(key)
        if last is not None and now - last < every_s:
            return False
        if len(self._last) >= MAX_COOLDOWNS:
            self._last = {k: t for k, t in self._last.items() if now - t < every_s}
            if len(self._last) >= MAX_COOLDOWNS:
                return False
        self._last[key] = now
        return True

    def run(self, coro, purpose: str) -> None:
        """Run ``coro`` (which looks things up, then calls ``send``) as a task of its own
        when mail is on; a failure in it is one WARNING line, counted as failed."""
        if not self.enabled:
            coro.close()
            return
        task = asyncio.get_running_loop().create_task(self._guard(coro, purpose))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guard(self, coro, purpose: str) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.warning("mail (%s) not prepared: %s: %s", purpose, type(e).__name__,
                        str(e).splitlines()[0][:200] if str(e) else "")
            self._count("failed")

    async def _deliver(self, msg: EmailMessage, purpose: str) -> None:
        s = self._s
        try:
            async with self._slots:
                await aiosmtplib.send(
                    msg, hostname=s.smtp_host, port=self._port,
                    username=s.smtp_user or None, password=s.smtp_password or None,
                    use_tls=s.smtp_security == "tls", start_tls=s.smtp_security == "starttls",
                    cert_bundle=s.smtp_ca_file or None, timeout=s.smtp_timeout_s)
        except asyncio.CancelledError:
            raise
        except Exception as e:   # never the request's failure: one line, counted
            log.warning("mail (%s) not sent: %s: %s", purpose, type(e).__name__,
                        str(e).splitlines()[0][:200] if str(e) else "")
            self._count("failed")
            return
        self._count("sent")

    def _count(self, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.mail.labels(outcome).inc()

    async def drain(self, timeout_s: float = 5.0) -> None:
        """Wait (at most ``timeout_s``) for queued mail, then cancel what is left."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout_s)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
