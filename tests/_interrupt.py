"""Ctrl-C helpers: SIGINT sent to the main thread while it is blocked."""

import signal
import threading
import time

import pytest

#: How soon after the signal KeyboardInterrupt must arrive.
PROMPT = 0.1


def assert_interrupts(blocking_call, delay=0.2):
    """Run *blocking_call* in the main thread; another thread sends SIGINT
    to it after *delay*; KeyboardInterrupt must arrive within PROMPT."""
    assert threading.current_thread() is threading.main_thread()
    sent = []

    def fire():
        time.sleep(delay)
        sent.append(time.monotonic())
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    t = threading.Thread(target=fire)
    t.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            blocking_call()
        got = time.monotonic()
    finally:
        t.join()
    assert sent, "the call returned before the signal was sent"
    assert got - sent[0] < PROMPT, f"KeyboardInterrupt took {got - sent[0]:.3f} s"
