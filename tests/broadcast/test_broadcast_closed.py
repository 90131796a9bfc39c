"""broadcast Sender.wait_closed() / wait_closed_async() (issue 14): tokio's
Sender::closed (named as asyncio's StreamWriter.wait_closed), a wait until
every receiver is gone, for threads and
coroutines.  Counts scale with PYCONC_STRESS."""

import asyncio
import threading
import time

import pytest

import pyconc
from conftest import scaled
from pyconc import Timeout


def test_closed_returns_once_the_last_receiver_leaves():
    tx, rx = pyconc.broadcast(4)
    rx2 = tx.subscribe()
    threading.Timer(0.02, rx.close).start()
    threading.Timer(0.05, lambda: rx2.__exit__(None, None, None)).start()
    tx.wait_closed(timeout=10)
    assert tx.receiver_count() == 0
    tx.wait_closed()  # none left: at once
    with pytest.raises(pyconc.SendError):
        tx.send(1)


def test_closed_timeout_and_bad_timeout():
    tx, rx = pyconc.broadcast(4)
    with pytest.raises(Timeout, match="closed"):
        tx.wait_closed(timeout=0.02)
    with pytest.raises(Timeout):
        tx.wait_closed(0)
    with pytest.raises((TypeError, ValueError)):
        tx.wait_closed(timeout="x")
    with pytest.raises(ValueError):
        tx.wait_closed_async(timeout=-1)
    del rx
    tx.wait_closed(timeout=0)  # the dropped receiver left


def test_closed_with_no_receiver_yet_and_after_resubscribe():
    tx = pyconc.broadcast_sender(4)
    tx.wait_closed(timeout=0)
    rx = tx.subscribe()
    with pytest.raises(Timeout):
        tx.wait_closed(timeout=0.01)
    rx.close()
    tx.wait_closed(timeout=1)


def test_wait_closed_async_without_a_thread():
    async def main():
        tx, rx = pyconc.broadcast(4)
        others = [tx.subscribe() for _ in range(3)]
        loop = asyncio.get_running_loop()
        for k, r in enumerate([rx] + others):
            loop.call_later(0.01 * (k + 1), r.close)
        waits = [asyncio.create_task(tx.wait_closed_async(timeout=10)) for _ in range(100)]
        await asyncio.gather(*waits)
        with pytest.raises(Timeout):
            tx2, rx2 = pyconc.broadcast(4)
            await tx2.wait_closed_async(timeout=0.01)
        t = asyncio.create_task(tx2.wait_closed_async())
        await asyncio.sleep(0.01)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        rx2.close()
        await asyncio.wait_for(tx2.wait_closed_async(), 5)

    asyncio.run(main())


@pytest.mark.stress
def test_closed_stress_receivers_leaving_from_threads():
    for _ in range(scaled(30)):
        tx, rx = pyconc.broadcast(8)
        rxs = [rx] + [tx.subscribe() for _ in range(7)]
        waiters = []

        def wait():
            tx.wait_closed(timeout=30)
            waiters.append(1)

        ws = [threading.Thread(target=wait) for _ in range(3)]
        for w in ws:
            w.start()
        ls = [threading.Thread(target=r.close) for r in rxs]
        for t in ls:
            t.start()
        for t in ls + ws:
            t.join(30)
        assert len(waiters) == 3 and tx.receiver_count() == 0


@pytest.mark.faults
def test_ctrl_c_interrupts_wait_closed(tmp_path):
    import subprocess
    import sys
    code = r"""
import signal, threading, pyconc
tx, rx = pyconc.broadcast(4)
threading.Timer(0.1, signal.raise_signal, (signal.SIGINT,)).start()
try:
    tx.wait_closed()
except KeyboardInterrupt:
    print("interrupted")
"""
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=60, cwd=tmp_path)
    assert r.stdout.strip() == "interrupted", r.stderr
    assert time.monotonic() - t0 < 30
