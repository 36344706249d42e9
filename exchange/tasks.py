"""The server's background loops: run one every so often, stop one cleanly."""

import asyncio
import contextlib
import inspect
import logging

log = logging.getLogger(__name__)


async def repeat(interval_s: float, work, what: str) -> None:
    """Call ``work()`` (awaiting it if it is a coroutine) every ``interval_s``, forever; a
    failure is logged as ``what`` failing and the loop goes on."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            result = work()
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("%s failed", what)


async def stop(task: asyncio.Task | None) -> None:
    """Cancel ``task`` (None: nothing) and wait until it has ended."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
