"""pyconc.ipc pipelines under the fork, forkserver and spawn start methods
(issue 13).

The rule (pyconc/ipc.py, "Fork children"): a multiprocessing child started
with fork keeps a handle for exactly the Senders that spawn would send it,
those reachable from its Process object (target, args, kwargs, attributes),
plus those marked with set_inheritable(True); every other Sender it
inherits is dormant there (holds no handle; sending raises HandleClosed
saying what to do).  A child of a bare os.fork() keeps every Sender.

Every wait has a timeout and every child is joined with one (join_all kills
and fails a stuck child), so a regression fails instead of hanging.
"""

import multiprocessing as mp
import os
import sys

import pytest

import ipc_fork_children as kids
from ipc_support import join_all, no_stale_segments as _no_stale_segments
from pyconc import ipc
from pyconc.errors import HandleClosed

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX shared memory")

METHODS = [m for m in ("fork", "forkserver", "spawn") if m in mp.get_all_start_methods()]
no_stale_segments = pytest.fixture(autouse=True)(_no_stale_segments)


@pytest.fixture(params=METHODS)
def ctx(request):
    return mp.get_context(request.param)


def needs_fork():
    if "fork" not in mp.get_all_start_methods():  # pragma: no cover - macOS/Windows
        pytest.skip("needs the fork start method")
    return mp.get_context("fork")


@pytest.mark.parametrize("close_receivers", [False, True])
def test_three_stage_pipeline_as_the_docs_write_it(ctx, close_receivers):
    """The natural program: the parent makes both channels, starts the
    stages passing each its handles, closes its own copies and feeds the
    first stage.  Under fork the middle stage inherits a Sender of its own
    input (and the last one a Sender of each), which used to keep them
    open for ever: a hang."""
    tx_ab, rx_ab = ipc.channel()
    tx_bc, rx_bc = ipc.channel()
    out = ctx.Queue()
    b = ctx.Process(target=kids.double, args=(rx_ab, tx_bc), daemon=True)
    c = ctx.Process(target=kids.total, args=(rx_bc, out), daemon=True)
    b.start()
    c.start()
    try:
        tx_bc.close()  # the middle stage holds its own
        if close_receivers:  # the pipe idiom: close the ends given away
            rx_ab.close()
            rx_bc.close()
        n = 200
        for i in range(n):
            tx_ab.send(i, timeout=30)
        tx_ab.close()
        assert out.get(timeout=60) == 2 * sum(range(n))
    finally:
        assert join_all([b, c], timeout=60) == [0, 0]
    rx_ab.close()
    rx_bc.close()


def test_a_sender_inherited_but_not_passed_is_dormant():
    fork = needs_fork()
    tx, rx = ipc.channel()
    kids.GLOBAL["tx"] = tx
    out = fork.Queue()
    try:
        p = fork.Process(target=kids.dormant_report, args=(out,), daemon=True)
        p.start()
        closed, error = out.get(timeout=60)
        assert join_all([p]) == [0]
    finally:
        del kids.GLOBAL["tx"]
    assert closed is True
    assert error is not None and "set_inheritable(True)" in error and "pass it" in error
    # The parent's handle is the only one: closing it disconnects.
    tx.close()
    with pytest.raises(ipc.Disconnected):
        rx.recv(timeout=10)
    rx.close()


def test_set_inheritable_keeps_a_global_sender_in_fork_children():
    fork = needs_fork()
    tx, rx = ipc.channel()
    assert tx.get_inheritable() is False
    tx.set_inheritable(True)
    assert tx.get_inheritable() is True
    kids.GLOBAL["tx"] = tx
    try:
        procs = [fork.Process(target=kids.send_from_global, args=(50,), daemon=True)
                 for _ in range(3)]
        for p in procs:
            p.start()
    finally:
        del kids.GLOBAL["tx"]
    tx.close()
    got = sorted(rx.recv(timeout=60) for _ in range(150))
    assert got == sorted(list(range(50)) * 3)
    with pytest.raises(ipc.Disconnected):
        rx.recv(timeout=30)
    assert join_all(procs) == [0, 0, 0]
    rx.close()


def test_a_sender_in_an_argument_object_is_passed(ctx):
    """Reachable through an object's attributes, as pickling reaches it."""
    tx, rx = ipc.channel()
    p = ctx.Process(target=kids.send_from_attribute, args=(kids.Holder(tx), 20), daemon=True)
    p.start()
    tx.close()
    assert sorted(rx) == list(range(20))  # ends: the child's handle went
    assert join_all([p]) == [0]
    rx.close()


def test_a_pool_initializer_gets_its_sender(ctx):
    tx, rx = ipc.channel()
    # close() and join(), not the with block's terminate(): under spawn a
    # worker the pool starts during terminate() may be killed before it
    # unpickles its Sender, whose handle then counts for this process (the
    # documented price of handles in transit, Sender's docstring).
    pool = ctx.Pool(2, initializer=kids.pool_init, initargs=(tx,))
    try:
        assert sorted(pool.map(kids.pool_task, range(10))) == list(range(10))
    finally:
        pool.close()
        pool.join()
    tx.close()
    assert sorted(rx) == list(range(10))
    rx.close()


def test_a_bare_os_fork_keeps_every_sender_a_multiprocessing_child_does_not():
    fork = needs_fork()
    tx, rx = ipc.channel()
    kids.GLOBAL["tx"] = tx
    try:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            code = 1
            try:
                # A bare os.fork(): every Sender is inherited, and live.
                assert not tx.closed
                tx.send("bare fork")
                tx.close()
                code = 0
            finally:
                os._exit(code)
        os.close(w)
        _, status = os.waitpid(pid, 0)
        os.close(r)
        assert os.waitstatus_to_exitcode(status) == 0
        assert rx.recv(timeout=10) == "bare fork"
        out = fork.Queue()
        p = fork.Process(target=kids.dormant_report, args=(out,), daemon=True)
        p.start()
        assert out.get(timeout=60)[0] is True
        assert join_all([p]) == [0]
    finally:
        del kids.GLOBAL["tx"]
    tx.close()
    with pytest.raises(ipc.Disconnected):
        rx.recv(timeout=10)
    rx.close()


def test_dormant_handle_refuses_everything_but_close():
    tx, rx = ipc.channel()
    tx._make_dormant()  # what a fork child does to a Sender it was not passed
    assert tx.closed
    for call in (lambda: tx.send(1), lambda: tx.try_send(1), lambda: tx.send_bytes(b"x"),
                 lambda: tx.try_send_bytes(b"x"), tx.clone, tx.__reduce__):
        with pytest.raises(HandleClosed, match="inherited through fork"):
            call()
    assert tx.max_record_bytes > 0
    tx.close()
    tx.close()
    rx.close()


def test_a_receiver_passed_to_a_fork_child_survives_the_parents_close():
    """Closing the parent's copy of a Receiver lent to a running fork child
    leaves the receiving side for the child (it takes it on its first
    receive), as closing a pickled Receiver does under spawn."""
    fork = needs_fork()
    tx, rx = ipc.channel()
    out = fork.Queue()
    p = fork.Process(target=kids.receive_all, args=(rx, out), daemon=True)
    p.start()
    rx.close()
    for i in range(10):
        tx.send(i, timeout=30)
    tx.close()
    assert out.get(timeout=60) == list(range(10))
    assert join_all([p]) == [0]


def test_the_walk_finds_handles_as_pickling_would_and_gives_up_past_its_limit():
    import functools

    from pyconc.ipc import _handles_reachable

    tx, rx = ipc.channel()
    other, orx = ipc.channel()
    holder = kids.Holder(tx)
    found = _handles_reachable(({"k": [functools.partial(print, holder)]}, frozenset([rx])))
    assert found == {id(tx), id(rx)}
    assert id(other) not in found
    # Too much to look at: None, the child then keeps every Sender.
    assert _handles_reachable([list(range(100)), tx], limit=50) is None
    for h in (tx, rx, other, orx):
        h.close()
