"""Passwords: argon2id hashes (argon2-cffi), computed off the event loop, a few at a time."""

import asyncio
import os

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError


class Passwords:
    """Hash and verify passwords with argon2id.

    Each hash costs ``memory_kib`` of memory and tens of milliseconds of CPU,
    so hashing runs in worker threads (argon2 releases the GIL) and at most
    one per CPU at a time: a burst of logins queues instead of exhausting memory.
    """

    def __init__(self, time_cost: int = 3, memory_kib: int = 65536):
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib,
                                      parallelism=1, type=Type.ID)
        self._slots = asyncio.Semaphore(os.cpu_count() or 1)
        self._dummy = None  # verified against for unknown emails: the same time either way
        self.verifications = 0  # passwords checked so far (unknown emails' included)

    async def _run(self, fn, *args):
        async with self._slots:
            return await asyncio.to_thread(fn, *args)

    async def hash(self, password: str) -> str:
        """Return the argon2id PHC string of ``password``."""
        return await self._run(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches ``password_hash`` (None: an unknown user, always False)."""
        self.verifications += 1
        if password_hash is None:
            if self._dummy is None:
                self._dummy = await self.hash("not a password of anyone")
            password_hash, password = self._dummy, password + "\x01"
        try:
            return await self._run(self._hasher.verify, password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with other parameters than the current ones."""
        return self._hasher.check_needs_rehash(password_hash)
