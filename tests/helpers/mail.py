"""A real local SMTP server (aiosmtpd) for the mail tests, and reading what it received."""

import asyncio
import contextlib
import email
import email.policy
import re
import socket
import threading

from aiosmtpd.controller import Controller

TOKEN = re.compile(r'"token": "([A-Za-z0-9_-]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """An aiosmtpd handler keeping every message it was handed."""

    def __init__(self):
        self.messages = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 Message accepted"

    def to(self, address: str, subject: str | None = None) -> list:
        with self._lock:
            return [m for rcpt, m in self.messages
                    if address in rcpt and (subject is None or m["Subject"] == subject)]

    async def wait(self, address: str, subject: str, count: int = 1):
        """The first ``count`` mails to ``address`` with ``subject``, once they arrived."""
        for _ in range(400):
            found = self.to(address, subject)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.025)
        raise AssertionError(f"no {subject!r} mail to {address} arrived")


@contextlib.contextmanager
def smtp_server():
    """``(inbox, port)`` of an SMTP server on a free loopback port, stopped afterwards."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


def token_of(msg) -> str:
    """The token a mail gives for the API (``{"token": "..."}``)."""
    return TOKEN.search(msg.get_content()).group(1)


def link_of(msg, fragment: str) -> str:
    """The mailed link whose fragment starts with ``fragment`` (e.g. ``#reset-password``)."""
    match = re.search(r"\S+/" + re.escape(fragment) + r"\?token=[A-Za-z0-9_-]+", msg.get_content())
    assert match, f"no {fragment} link in the mail"
    return match.group(0)
