"""pyconc.WaitGroup (crossbeam's WaitGroup).

Tests named "port of ..." follow the test of that name in crossbeam-utils'
tests/wait_group.rs, rewritten for this API.
"""

import copy
import gc
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pyconc
from pyconc import Timeout, WaitGroup
from _interrupt import assert_interrupts
from conftest import scaled

THREADS = 10


def test_wait():
    """Port of wait: the main thread waits for every clone to be dropped,
    and each thread's work is visible after."""
    wg = WaitGroup()
    done = [False] * THREADS

    def work(i, member):
        time.sleep(0.001)
        done[i] = True
        member.done()

    for i in range(THREADS):
        pyconc.spawn(work, i, wg.clone())
    wg.wait(timeout=30)
    assert all(done)


def test_wait_and_drop():
    """Port of wait_and_drop: members dropped (not done() explicitly) count,
    and a member whose thread is still running keeps wait() waiting."""
    wg = WaitGroup()
    gate = threading.Event()

    def work(member):
        gate.wait()
        del member  # crossbeam's drop(wg)

    for _ in range(THREADS):
        pyconc.spawn(work, wg.clone())
    with pytest.raises(Timeout, match="members left"):
        wg.wait(timeout=0.05)
    gate.set()
    wg.wait(timeout=30)


def test_with_block_ends_a_member():
    wg = WaitGroup()

    def work(member):
        with member:
            time.sleep(0.001)

    hs = [pyconc.spawn(work, wg.clone()) for _ in range(4)]
    wg.wait(timeout=30)
    for h in hs:
        h.join()


def test_done_once_and_clone_rules():
    wg = WaitGroup()
    m = wg.clone()
    m.done()
    with pytest.raises(RuntimeError, match="already done"):
        m.done()
    with pytest.raises(RuntimeError, match="is done"):
        m.clone()
    with m:  # leaving the block of a done member is silent
        pass
    wg.wait(timeout=1)
    wg.wait(timeout=1)  # again: still zero
    assert "(done)" in repr(wg) and "0 of the group" in repr(wg)


def test_thread_dying_with_a_member_ends_it():
    wg = WaitGroup()

    def dies(member):  # noqa: ARG001 (held in the frame)
        raise ValueError("boom")

    h = pyconc.spawn(dies, wg.clone())
    with pytest.raises(ValueError, match="boom"):
        h.join()
    del h
    gc.collect()
    wg.wait(timeout=5)


def test_arguments_and_copy():
    wg = WaitGroup()
    with pytest.raises(TypeError):
        WaitGroup(1)
    with pytest.raises(ValueError):
        wg.wait(timeout=-1)
    with pytest.raises(TypeError):
        wg.wait("1")
    for c in (copy.copy, copy.deepcopy):
        with pytest.raises(TypeError):
            c(wg)
    wg.wait(timeout=threading.TIMEOUT_MAX)


def test_ctrl_c_interrupts_wait():
    wg = WaitGroup()
    m = wg.clone()
    assert_interrupts(wg.wait)
    assert_interrupts(lambda: wg.wait(timeout=30))
    m.done()
    wg.wait(timeout=1)


def test_stress_rounds():
    """Many rounds of many members: every round's writes are visible after
    its wait, nothing hangs."""
    rounds, k = scaled(200), 6
    for r in range(rounds):
        wg = WaitGroup()
        out = [None] * k

        def work(i, member):
            out[i] = r
            if i % 2:
                inner = member.clone()  # a member may clone itself for a helper
                threading.Thread(target=lambda: inner.done()).start()
            member.done()

        for i in range(k):
            threading.Thread(target=work, args=(i, wg.clone())).start()
        wg.wait(timeout=30)
        assert out == [r] * k


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["clone", "done", "drop"]), max_size=25))
def test_model_count(ops):
    """Against a count of live members: wait(timeout=0) passes exactly when
    every member but the waiter is gone."""
    wg = WaitGroup()
    members = []
    for op in ops:
        if op == "clone":
            members.append(wg.clone())
        elif members and op == "done":
            members.pop().done()
        elif members:
            members.pop()  # dropped
    if members:
        with pytest.raises(Timeout):
            wg.wait(timeout=0)
        for m in members:
            m.done()
    wg.wait(timeout=0)
