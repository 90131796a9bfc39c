"""pyconc.ipc under faults (issue 12): nothing lost, nothing leaked, nothing wedged.

Each test here failed before its fix:
- recv_many lost the whole batch when one record would not unpickle;
- a fork child that only looked at an inherited Receiver took the
  receiving side, and its exit made every Sender see ReceiverGone;
- a producer killed in the middle of a send kept its slot for ever (64
  such kills and no producer could send any more);
- a consumer killed in the middle of a receive wedged the ring;
- a segment larger than /dev/shm could hold was created anyway (and its
  first writes beyond the free space died with SIGBUS);
- a segment whose creator was killed before anyone attached it stayed in
  /dev/shm until the resource tracker stopped.
"""

import contextlib
import multiprocessing as mp
import os
import pickle
import random
import signal
import sys
import threading
import time
import types

import pytest

import ipc_children as kids
from conftest import scaled
import ipc_support
from ipc_support import join_all, run
from pyconc import ipc
from pyconc.errors import Disconnected, Timeout

no_stale_segments = pytest.fixture(autouse=True)(ipc_support.no_stale_segments)
ctx = pytest.fixture(params=ipc_support.START_METHODS)(ipc_support.start_method)

pytestmark = [pytest.mark.faults, pytest.mark.timeout(300)]  # the kind of test (tests/README.md)


def dead_pid():
    """The id of a process that has exited and been reaped."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


@contextlib.contextmanager
def slots_taken(tx, leave_free):
    """Give all but *leave_free* producer slots to live ids (threads parked
    here: Linux answers kill(tid, 0) for a thread's id), so that producer
    processes must reuse the slots of dead ones."""
    stop = threading.Event()
    ids, slots = [], []
    lock = threading.Lock()
    # The parent's own Sender holds one slot already.
    count = ipc.MAX_SENDER_PROCESSES - 1 - leave_free

    def park():
        with lock:
            ids.append(threading.get_native_id())
        stop.wait(300)

    threads = [threading.Thread(target=park, daemon=True) for _ in range(count)]
    for t in threads:
        t.start()
    try:
        while len(ids) < count:
            time.sleep(0.01)
        for tid in ids:
            slots.append((tx._c.register(tid), tid))
            assert slots[-1][0] >= 0
        yield
    finally:
        for slot, tid in slots:  # (their handles, so that the channel can disconnect)
            assert tx._c.handles_add(slot, tid, -1)
        stop.set()
        for t in threads:
            t.join()


# ------------------------------------------------------ recv_many losses


class RaisesOnUnpickle:
    def __init__(self, tag):
        self.tag = tag

    def __getstate__(self):
        return {"tag": self.tag}

    def __setstate__(self, state):
        raise RuntimeError(f"cannot restore {state['tag']}")


def unimportable(tag):
    """The pickle of an object whose class the receiver cannot import."""
    mod = types.ModuleType("pyconc_test_gone_module")
    exec("class Thing:\n    def __init__(self, t):\n        self.t = t\n", mod.__dict__)
    mod.Thing.__module__ = mod.__name__
    sys.modules[mod.__name__] = mod
    try:
        return pickle.dumps(mod.Thing(tag), pickle.HIGHEST_PROTOCOL)
    finally:
        del sys.modules[mod.__name__]


BAD = ["unimportable class", "raising __setstate__", "send_bytes record"]


def send_bad(tx, kind):
    if kind == "unimportable class":
        data = unimportable("bad")
        tx.send_bytes(data)
        return data, (ModuleNotFoundError, AttributeError)
    if kind == "raising __setstate__":
        tx.send(RaisesOnUnpickle("bad"))
        return pickle.dumps(RaisesOnUnpickle("bad"), pickle.HIGHEST_PROTOCOL), RuntimeError
    data = b"\x00not a pickle at all"
    tx.send_bytes(data)
    return data, pickle.UnpicklingError


@pytest.mark.parametrize("kind", BAD)
def test_recv_many_loses_nothing_when_a_record_does_not_unpickle(kind):
    tx, rx = ipc.channel()
    tx.send(1)
    tx.send(2)
    data, exc_type = send_bad(tx, kind)
    tx.send(3)
    tx.send(4)
    # The records before the bad one are delivered...
    assert rx.recv_many(10) == [1, 2]
    assert len(rx) == 3
    # ...the bad one raises its error with its bytes handed back...
    with pytest.raises(exc_type) as info:
        rx.recv_many(10)
    assert info.value.data == data
    # ...and the ones after it come next, in order.
    assert rx.recv_many(10) == [3, 4]
    with pytest.raises(Timeout):
        rx.recv_many(10, timeout=0)
    tx.close()
    rx.close()


@pytest.mark.parametrize("kind", BAD)
def test_a_bad_first_record_of_a_batch_raises_and_keeps_the_rest(kind):
    tx, rx = ipc.channel()
    data, exc_type = send_bad(tx, kind)
    for i in range(300):  # more than one C batch (256)
        tx.send(i)
    with pytest.raises(exc_type) as info:
        rx.recv_many(1000)
    assert info.value.data == data
    got = []
    while len(got) < 300:
        got.extend(rx.recv_many(1000, timeout=5))
    assert got == list(range(300))
    tx.close()
    rx.close()


def test_held_back_records_reach_every_kind_of_receive():
    tx, rx = ipc.channel()
    send_bad(tx, "send_bytes record")
    for i in range(4):
        tx.send(i)
    with pytest.raises(pickle.UnpicklingError):
        rx.recv_many()
    # Held back: the receive calls of every kind take them first, in order.
    assert rx.try_recv() == 0
    assert pickle.loads(rx.recv_bytes()) == 1
    assert rx.recv_many(1) == [2]
    assert [pickle.loads(b) for b in rx.recv_bytes_many()] == [3]
    tx.close()
    with pytest.raises(Disconnected):
        rx.recv()
    rx.close()


def test_a_single_recv_hands_back_the_bytes_it_could_not_unpickle():
    tx, rx = ipc.channel()
    tx.send_bytes(b"\x00junk")
    tx.send("next")
    with pytest.raises(pickle.UnpicklingError) as info:
        rx.recv()
    assert info.value.data == b"\x00junk"
    assert rx.recv() == "next"
    tx.close()
    rx.close()


# ------------------------------------------------- fork: looking is not claiming


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_fork_child_that_only_looks_at_a_receiver_takes_nothing():
    fork = mp.get_context("fork")
    tx, rx = ipc.channel()
    tx.send("before")
    out = fork.Queue()
    child = run(fork, kids.look_at_receiver, rx, out)
    length, name, skipped, text, closed = out.get(timeout=60)
    assert join_all([child]) == [0]
    assert (length, name, skipped, closed) == (1, rx.name, 0, False)
    assert "Receiver" in text
    # The child has exited: the receiving side is still ours.
    tx.send("after", timeout=5)
    assert rx.recv(timeout=5) == "before"
    assert rx.recv(timeout=5) == "after"
    tx.close()
    rx.close()


# ------------------------------------------- producers killed in a send


@pytest.mark.test_hooks
def test_a_producer_killed_in_a_send_gives_its_slot_back(ctx):
    tx, rx = ipc.channel()
    kills = 4
    with slots_taken(tx, leave_free=1):
        # Each victim takes the one slot left (the last victim's, reused),
        # claims a record and dies before committing it.
        for _ in range(kills):
            ready = ctx.Event()
            victim = run(ctx, kids.abandon_then_die, tx, ready)
            assert ready.wait(60), "a new producer could not get a slot"
            join_all([victim])
            assert victim.exitcode == -signal.SIGKILL
        # One more producer, in the slot of the last victim: its records
        # arrive, the orphans are skipped at once (they lie below its slot's
        # `since`), and nothing waits for a dead process.
        ready = ctx.Event()
        good = run(ctx, kids.send_n_then_close, tx, 7, 50, ready)
        tx.close()
        got = [rx.recv(timeout=60) for _ in range(50)]
        assert join_all([good]) == [0]
    assert got == [(7, i) for i in range(50)]
    with pytest.raises(Disconnected):
        rx.recv(timeout=60)
    assert rx.skipped == kills
    rx.close()


def test_128_producer_processes_over_the_life_of_a_channel(ctx):
    # 128 producer processes (32 under spawn, which starts them slowly), at
    # most 6 at a time, through 6 free slots: every slot is reused many
    # times, also after SIGKILLs in the middle of sends (one producer in
    # four is killed at a random moment).  Every record of every producer
    # that was not killed arrives, each producer's in order and intact;
    # the killed ones' records arrive intact and in order up to the kill;
    # nothing hangs.
    total = (128 if ctx.get_start_method() == "fork" else 32) * scaled(1)
    wave, n, size = 6, 20, 300
    rng = random.Random(12)
    tx, rx = ipc.channel(1 << 18)
    killed = 0
    nxt = {}

    def take(batch):
        for b in batch:
            ident, i = b[8], int.from_bytes(b[:8], "little")
            assert len(b) == size and b[9:] == bytes([ident]) * (size - 9)
            assert nxt.get(ident, 0) == i, f"producer {ident}: {i} after {nxt.get(ident)}"
            nxt[ident] = i + 1

    def drain(timeout):
        try:
            take(rx.recv_bytes_many(256, timeout=timeout))
            return True
        except Timeout:
            return False

    with slots_taken(tx, leave_free=wave):
        started_total = 0
        while started_total < total:
            procs, good, victims = [], [], []
            for k in range(min(wave, total - started_total)):
                started_total += 1
                ident = k + 1
                if started_total % 4 == 0:
                    started = ctx.Semaphore(0)
                    p = run(ctx, kids.send_big_forever, tx, ident, size, started)
                    victims.append((p, started, time.monotonic() + rng.random() * 0.05))
                else:
                    p = run(ctx, kids.produce_bytes, tx, ident, n, size)
                    good.append(ident)
                procs.append(p)
            deadline = time.monotonic() + 120
            pending = list(victims)
            while pending or any(p.is_alive() for p in procs if p not in [v[0] for v in victims]):
                assert time.monotonic() < deadline, "producers made no progress"
                drain(0.01)
                for v in list(pending):
                    p, started, when = v
                    if time.monotonic() >= when and started.acquire(timeout=0):
                        os.kill(p.pid, signal.SIGKILL)
                        killed += 1
                        pending.remove(v)
            join_all(procs)
            for p, _, _ in victims:
                assert p.exitcode == -signal.SIGKILL
            while drain(0.2):  # the rest, and the victims' orphans skipped
                pass
            assert all(nxt.get(ident) == n for ident in good), nxt
            nxt.clear()
        tx.close()
        assert not drain(0.2)
    with pytest.raises(Disconnected):
        while True:
            take(rx.recv_bytes_many(256, timeout=30))
    assert killed == total // 4
    rx.close()


def _next_bytes(rx):
    try:
        return rx.recv_bytes(timeout=30)
    except Disconnected:
        return None


# ------------------------------------------- consumers killed in a receive


@pytest.mark.test_hooks
@pytest.mark.parametrize("first", [False, True])
def test_a_consumer_that_died_in_a_receive_is_taken_over(first):
    # Deterministic: the ring as a consumer leaves it when it is killed
    # after freeing one record and (all but the first cell of | all of)
    # the next, before publishing its head.
    tx, rx = ipc.channel()
    for k in range(3):
        tx.send_bytes(bytes([65 + k]) * 200)
    rx._c.debug_die_in_recv(dead_pid(), 1, first)
    got = rx.recv_bytes_many(10, timeout=5)
    assert got == ([b"C" * 200] if first else [b"B" * 200, b"C" * 200])
    # And the producers are not stuck behind the cells it freed.
    for i in range(20_000):
        tx.send(i, timeout=5)
        assert rx.recv(timeout=5) == i
    tx.close()
    rx.close()


def test_consumers_killed_at_random_points_never_wedge_the_ring(ctx):
    # Two producer processes keep the ring full of 4 KiB records, so that
    # a consumer process is most of the time inside a receive (copying a
    # batch out of the ring) when it is SIGKILLed, at a random moment.
    # Then another consumer takes the receiving side over, and is killed
    # in turn, several times a round; at the end the parent takes over:
    # the records must keep coming, each producer's in order and intact,
    # and the producers must not stay blocked on a ring that looks full.
    rounds = scaled(3 if ctx.get_start_method() == "fork" else 2)
    kills_per_round = 5
    size = 4096
    rng = random.Random(7)
    for _ in range(rounds):
        tx, rx = ipc.channel(1 << 19)  # 8192 cells: about 120 records
        name = tx.name
        started = ctx.Semaphore(0)
        producers = [run(ctx, kids.send_forever, tx, k, started, size) for k in (1, 2)]
        tx.close()
        for _ in producers:
            assert started.acquire(timeout=60)
        for k in range(kills_per_round):
            consumer_started = ctx.Event()
            victim = run(ctx, kids.consume_forever, rx, consumer_started)
            assert consumer_started.wait(60), "a consumer could not start receiving"
            time.sleep(rng.random() * 0.02)
            os.kill(victim.pid, signal.SIGKILL)
            join_all([victim])
            if ctx.get_start_method() == "spawn":
                rx.close()
                rx = ipc.Receiver.attach(name)  # (the pickled one moved)
        rx2 = ipc.Receiver.attach(name)
        last = {1: -1, 2: -1}
        after = {1: 0, 2: 0}
        deadline = time.monotonic() + 60
        while min(after.values()) < 200:
            assert time.monotonic() < deadline, f"wedged after a consumer died: {after}"
            for b in rx2.recv_bytes_many(256, timeout=10):
                ident, i = b[8], int.from_bytes(b[:8], "little")
                assert len(b) == size and b[9:] == bytes([ident]) * (size - 9)
                assert i > last[ident], f"producer {ident}: {i} after {last[ident]}"
                last[ident] = i
                after[ident] += 1
        for p in producers:
            os.kill(p.pid, signal.SIGKILL)
        join_all(producers)
        with pytest.raises(Disconnected):
            while True:  # what is left; the producers' orphans are skipped
                rx2.recv_bytes_many(256, timeout=30)
        rx2.close()
        rx.close()


# ------------------------------------------------------ /dev/shm space


@pytest.mark.skipif(not hasattr(os, "posix_fallocate") or not os.path.isdir("/dev/shm"),
                    reason="needs posix_fallocate and /dev/shm")
def test_a_segment_larger_than_dev_shm_is_a_clear_error_not_sigbus(ctx):
    st = os.statvfs("/dev/shm")
    too_big = st.f_blocks * st.f_frsize + (1 << 20)  # more than it can ever hold
    out = ctx.Queue()
    p = run(ctx, kids.make_huge_segment, too_big, out)
    result = out.get(timeout=60)
    assert join_all([p]) == [0]
    kind, err, message = result
    assert kind == "OSError" and err == 28, result  # ENOSPC
    assert "not enough shared memory" in message


@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="needs /dev/shm")
def test_a_channel_larger_than_the_free_space_raises():
    free = os.statvfs("/dev/shm").f_bavail * os.statvfs("/dev/shm").f_frsize
    if free >= 4 << 30:
        pytest.skip("/dev/shm has more room than the largest channel")
    with pytest.raises(OSError, match="not enough shared memory"):
        ipc.channel(capacity_bytes=free + (1 << 20))


# ------------------------------------------------------ /dev/shm leaks


def test_segments_of_a_killed_creator_are_swept(ctx):
    here, there = ctx.Pipe()
    p = run(ctx, kids.create_and_die, there)
    names = here.recv()
    os.kill(p.pid, signal.SIGKILL)
    join_all([p])
    assert all(os.path.exists("/dev/shm/" + n) for n in names)
    removed = ipc.sweep_segments()
    assert set(names) <= set(removed)
    assert not any(os.path.exists("/dev/shm/" + n) for n in names)


def test_sweeping_leaves_segments_in_use_alone():
    tx, rx = ipc.channel()
    cell = ipc.SharedAtomicInt(3)
    ipc.sweep_segments()
    tx.send("still here")
    assert rx.recv() == "still here"
    assert ipc.SharedAtomicInt.attach(cell.name).load() == 3
    tx.close()
    rx.close()
    cell.close()


class InterruptsOnce:
    fired = False

    def __setstate__(self, state):
        self.__dict__.update(state)
        if not InterruptsOnce.fired:
            InterruptsOnce.fired = True
            raise KeyboardInterrupt  # as a signal handler would, mid-unpickle


def test_a_ctrl_c_while_recv_many_unpickles_loses_nothing():
    tx, rx = ipc.channel()
    bomb = InterruptsOnce()
    bomb.tag = "x"
    tx.send(1)
    tx.send(bomb)
    tx.send(2)
    with pytest.raises(KeyboardInterrupt):
        rx.recv_many(10)
    first, again, last = rx.recv_many(10)
    assert (first, again.tag, last) == (1, "x", 2)
    tx.close()
    rx.close()
