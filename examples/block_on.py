"""block_on: run a coroutine to completion on the calling thread, with a
Parker as its waker, and no event loop (after Stjepan Glavina's "Build
your own block_on()", 2020, the executor every Rust async runtime starts
from).

    python examples/block_on.py

The coroutine awaits Signals that other threads fire.  block_on gives each
awaited Signal a waker that unparks the executor's thread, then parks.  A
Signal fired between the coroutine's yield and the park is the classic lost
wake-up; the Parker keeps its token, so the park returns at once.
"""

import threading
import time

import pyconc


class Signal:
    """The smallest awaitable: a value that some thread sets once."""

    def __init__(self):
        self._lock = threading.Lock()
        self._done = False
        self._value = None
        self._wakers = []

    def set(self, value):
        with self._lock:
            self._done, self._value = True, value
            wakers, self._wakers = self._wakers, []
        for wake in wakers:
            wake()

    def add_waker(self, wake):
        with self._lock:
            if not self._done:
                self._wakers.append(wake)
                return
        wake()  # already set: wake at once

    def __await__(self):
        while not self._done:
            yield self  # to the executor, which registers a waker and parks
        return self._value


def block_on(coro):
    """Drive *coro* until it returns; park whenever it waits."""
    parker = pyconc.Parker()
    unparker = parker.unparker()
    while True:
        try:
            awaited = coro.send(None)
        except StopIteration as stop:
            return stop.value
        awaited.add_waker(unparker.unpark)
        parker.park()


def fire_later(delay, value):
    s = Signal()
    threading.Thread(target=lambda: (time.sleep(delay), s.set(value)), daemon=True).start()
    return s


async def main():
    a = await fire_later(0.02, 20)
    b = await fire_later(0.0, 22)  # fired before block_on parks, most likely
    total = 0
    for k in range(100):  # many quick wake-ups: none may be lost
        total += await fire_later(0, k)
    return a + b, total


if __name__ == "__main__":
    answer, total = block_on(main())
    print(f"answer: {answer}, total: {total}")
