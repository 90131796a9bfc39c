"""Every program in examples/ runs and does what it says."""

import asyncio
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import pyconc

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(name, *args):
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def load(name):
    spec = importlib.util.spec_from_file_location(name[:-3], EXAMPLES / name)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_fork_join(tmp_path):
    files = []
    for i in range(5):
        p = tmp_path / f"f{i}.txt"
        p.write_text("one two\nthree\n" * (i + 1))
        files.append(str(p))
    out = run("fork_join.py", *files, str(tmp_path / "missing.txt"))
    assert "total: 30 lines, 45 words" in out
    assert "missing.txt: error:" in out


@pytest.mark.skipif(not hasattr(pyconc, "channel"), reason="needs pyconc.channel (issue 3)")
def test_channel_producers():
    out = run("channel_producers.py")
    assert "received 15 messages from 3 producers" in out
    received = load("channel_producers.py").main(4, 50)
    for k in range(4):
        assert [v for v in received if v.startswith(f"p{k}:")] == [f"p{k}:{i}" for i in range(50)]


def test_mutex_counter():
    assert "Result: 10000" in run("mutex_counter.py")


def test_poisoned_mutex():
    out = run("poisoned_mutex.py")
    assert "worker panicked: transfer limit exceeded" in out
    assert "poisoned: True" in out
    assert "repaired: {'alice': 100, 'bob': 0}, poisoned: False" in out


def test_rwlock_config():
    out = run("rwlock_config.py")
    assert "final config: {'version': 5, 'greeting': 'hello v5'}" in out


def test_bounded_buffer():
    assert "consumed 10000 items, sum 49995000" in run("bounded_buffer.py")


def test_cancellable_worker():
    out = run("cancellable_worker.py")
    assert "worker stopped after" in out


def test_scoped_threads():
    out = run("scoped_threads.py")
    assert "sums: 1275 + 3775 = 5050" in out and "max: 100" in out


def test_chat_demo_as_a_program():
    out = run("chat_server.py", "demo")
    assert "bob got [rust] alice: hello, rustaceans" in out
    assert "carol got [python] carol: hello, pythonistas" in out
    assert "carol got [rust]" not in out


def test_chat_end_to_end_over_loopback():
    chat = load("chat_server.py")

    async def scenario():
        server = await chat.serve("127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            clients = [await chat.ChatClient.connect("127.0.0.1", port, f"c{i}")
                       for i in range(4)]
            for c in clients:
                assert await c.join("all") == {"event": "joined", "group": "all"}
            assert await clients[0].join("pair") == {"event": "joined", "group": "pair"}
            assert await clients[1].join("pair") == {"event": "joined", "group": "pair"}
            for i, c in enumerate(clients):
                for k in range(10):
                    await c.say("all", f"{i}-{k}")
            await clients[1].say("pair", "psst")
            # everybody sees all 40 "all" messages, each sender's in order
            for c in clients:
                msgs = [await c.recv() for _ in range(40)]
                assert all(m["event"] == "message" and m["group"] == "all" for m in msgs)
                for i in range(4):
                    assert [m["text"] for m in msgs if m["from"] == f"c{i}"] == \
                        [f"{i}-{k}" for k in range(10)]
            for c in clients[:2]:
                assert (await c.recv())["text"] == "psst"
            # bad requests are answered, not fatal
            await clients[2].request(op="say", group="pair", text="not a member")
            assert (await clients[2].recv())["event"] == "error"
            clients[3].writer.write(b"not json\n")
            assert (await clients[3].recv())["event"] == "error"
            # leaving stops the messages of that group
            await clients[0].request(op="leave", group="pair")
            assert await clients[0].recv() == {"event": "left", "group": "pair"}
            await clients[1].say("pair", "after")
            assert (await clients[1].recv())["text"] == "after"
            await clients[0].say("all", "last")
            assert (await clients[0].recv())["text"] == "last"
            for c in clients:
                await c.close()
            server.close()

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_chat_slow_client_is_told_it_lagged():
    chat = load("chat_server.py")

    async def scenario():
        server = await chat.serve("127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            fast = await chat.ChatClient.connect("127.0.0.1", port, "fast")
            slow = await chat.ChatClient.connect("127.0.0.1", port, "slow")
            await fast.join("g")
            await slow.join("g")
            n = chat.GROUP_CAPACITY * 3
            # Send directly on the group's channel, faster than the loop
            # can forward to the clients.
            tx = server.chat.groups["g"]
            for i in range(n):
                tx.send({"event": "message", "group": "g", "from": "x", "text": str(i)})
            seen, missed = [], 0
            while len(seen) + missed < n:
                m = await slow.recv()
                if m["event"] == "lagged":
                    missed += m["missed"]
                else:
                    seen.append(int(m["text"]))
            assert missed > 0 and seen == sorted(seen) and seen[-1] == n - 1
            for c in (fast, slow):
                await c.close()
            server.close()

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_block_on():
    assert "answer: 42, total: 4950" in run("block_on.py")


def test_worker_pool():
    out = run("worker_pool.py")
    assert "18 jobs done, 2 failed" in out
    assert "job 6 (" in out and "unlucky" in out
    results = load("worker_pool.py").main(3, 50)
    assert [r[1] for r in results] == list(range(50))  # every job exactly once
    assert all(r[2] == r[1] ** 2 for r in results if r[3] is None)
