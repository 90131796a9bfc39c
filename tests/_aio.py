"""Helpers of the asyncio tests: a guarded asyncio.run, and a release
from another thread."""

import asyncio
import threading
import time


def run(coro, timeout=60):
    """asyncio.run with a guard against a hang."""
    async def guarded():
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(guarded())


def release_later(guard, delay):
    """guard.__exit__ from a thread after *delay* seconds."""
    def body():
        time.sleep(delay)
        guard.__exit__(None, None, None)
    t = threading.Thread(target=body, daemon=True)
    t.start()
    return t
