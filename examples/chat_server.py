"""An asyncio chat server with named groups; each group is a broadcast
channel (tokio's classic chat example, in Python).

Protocol: one JSON object per line, both ways.
  client -> server  {"op": "join", "group": G}   {"op": "say", "group": G, "text": T}
                    {"op": "leave", "group": G}  {"op": "quit"}
  server -> client  {"event": "hello", "name": N}
                    {"event": "joined"|"left", "group": G}
                    {"event": "message", "group": G, "from": N, "text": T}
                    {"event": "lagged", "group": G, "missed": K}
                    {"event": "error", "error": E}

Every member of a group has its own receiver on the group's channel; a
slow client loses the oldest messages (and is told how many) instead of
slowing the group down.

A client's outgoing stream is shared by its forwarders (one task per
group) and its request loop, and a line is written and drained under a
lock held across the ``await writer.drain()``: a ``pyconc.Mutex`` that owns
the writer, taken with ``async with out.lock_async() as w:`` (tokio's
``Arc<Mutex<WriteHalf>>``).  A thread lock must not be held across an
await; ``lock_async`` waits without blocking the event loop, and threads
may take the same Mutex with ``lock()``.

    python examples/chat_server.py serve [PORT]     run a server
    python examples/chat_server.py demo             server + three clients on
                                                    loopback, then exit
"""

import asyncio
import json
import sys

import pyconc

GROUP_CAPACITY = 64


class ChatServer:
    def __init__(self):
        self.groups = {}  # name -> broadcast sender (kept while the server runs)
        self.next_id = 0

    def channel(self, group):
        if group not in self.groups:
            self.groups[group] = pyconc.broadcast(GROUP_CAPACITY)[0]  # rx dropped
        return self.groups[group]

    async def handle(self, reader, writer):
        self.next_id += 1
        name = f"user{self.next_id}"
        # The writer, owned by a Mutex.  poison=False: a forwarder cancelled
        # (leave, quit) while it waits in drain() leaves the stream whole
        # (write() queued the entire line), so the others may go on.
        out = pyconc.Mutex(writer, poison=False)
        forwarders = {}  # group -> task

        async def send(obj):
            async with out.lock_async() as w:
                w.value.write((json.dumps(obj) + "\n").encode())
                await w.value.drain()  # held across the await

        async def forward(group, rx):
            with rx:  # unsubscribed when the task ends (leave, quit)
                while True:
                    try:
                        msg = await rx.recv_async()
                    except pyconc.Lagged as e:
                        await send({"event": "lagged", "group": group, "missed": e.missed})
                        continue
                    except pyconc.Closed:
                        return
                    await send(msg)

        await send({"event": "hello", "name": name})
        try:
            while line := await reader.readline():
                try:
                    req = json.loads(line)
                    op, group = req["op"], req.get("group")
                except (ValueError, KeyError, TypeError):
                    await send({"event": "error", "error": "bad request"})
                    continue
                if op == "name" and isinstance(req.get("name"), str):
                    name = req["name"]
                    await send({"event": "hello", "name": name})
                elif op == "join" and isinstance(group, str) and group not in forwarders:
                    rx = self.channel(group).subscribe()
                    forwarders[group] = asyncio.ensure_future(forward(group, rx))
                    await send({"event": "joined", "group": group})
                elif op == "leave" and group in forwarders:
                    forwarders.pop(group).cancel()
                    await send({"event": "left", "group": group})
                elif op == "say" and group in forwarders:
                    self.groups[group].send(
                        {"event": "message", "group": group, "from": name,
                         "text": str(req.get("text", ""))})
                elif op == "quit":
                    break
                else:
                    await send({"event": "error", "error": f"cannot {op} here"})
        finally:
            for task in forwarders.values():
                task.cancel()
            writer.close()


async def serve(host="127.0.0.1", port=0):
    """Start a server; returns the asyncio Server (port 0: any free port)."""
    chat = ChatServer()
    server = await asyncio.start_server(chat.handle, host, port)
    server.chat = chat  # for tests and tools: the groups live here
    return server


class ChatClient:
    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, host, port, name=None):
        client = cls(*await asyncio.open_connection(host, port))
        await client.recv()  # hello
        if name:
            await client.request(op="name", name=name)
            await client.recv()
        return client

    async def request(self, **req):
        self.writer.write((json.dumps(req) + "\n").encode())
        await self.writer.drain()

    async def recv(self, timeout=5.0):
        line = await asyncio.wait_for(self.reader.readline(), timeout)
        if not line:
            raise ConnectionError("server closed the connection")
        return json.loads(line)

    async def join(self, group):
        await self.request(op="join", group=group)
        return await self.recv()

    async def say(self, group, text):
        await self.request(op="say", group=group, text=text)

    async def close(self):
        await self.request(op="quit")
        self.writer.close()
        await self.writer.wait_closed()


async def demo():
    """Three clients on loopback; returns what each one received."""
    server = await serve()
    port = server.sockets[0].getsockname()[1]
    async with server:
        alice = await ChatClient.connect("127.0.0.1", port, "alice")
        bob = await ChatClient.connect("127.0.0.1", port, "bob")
        carol = await ChatClient.connect("127.0.0.1", port, "carol")
        for c, g in ((alice, "rust"), (bob, "rust"), (carol, "python")):
            assert (await c.join(g))["event"] == "joined"
        await alice.say("rust", "hello, rustaceans")
        await carol.say("python", "hello, pythonistas")
        await bob.say("rust", "hi alice")
        got = {
            "alice": [await alice.recv(), await alice.recv()],
            "bob": [await bob.recv(), await bob.recv()],
            "carol": [await carol.recv()],
        }
        for who, msgs in got.items():
            for m in msgs:
                print(f"{who} got [{m['group']}] {m['from']}: {m['text']}")
        for c in (alice, bob, carol):
            await c.close()
        server.close()
    return got


def main(argv):
    if argv[:1] == ["serve"]:
        port = int(argv[1]) if len(argv) > 1 else 7878

        async def forever():
            server = await serve("127.0.0.1", port)
            print(f"chat server on 127.0.0.1:{port}")
            async with server:
                await server.serve_forever()

        asyncio.run(forever())
    else:
        asyncio.run(demo())


if __name__ == "__main__":
    main(sys.argv[1:])
