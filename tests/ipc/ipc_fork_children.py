"""Functions run in child processes by tests/ipc/test_ipc_fork.py.

Module level, so that ``spawn`` and ``forkserver`` children can import
them by name.
"""

from pyconc import ipc

#: A module global, reached by fork children without being passed to them.
GLOBAL = {}


def double(rx, tx):
    """The middle stage of a pipeline: its input ends when the first
    stage's Senders are gone, then it closes its output."""
    for x in rx:
        tx.send(x * 2)
    tx.close()


def total(rx, out):
    out.put(sum(rx))


def dormant_report(out):
    """A fork child that inherited GLOBAL["tx"] without being passed it."""
    tx = GLOBAL["tx"]
    report = [tx.closed]
    try:
        tx.send("from the child")
    except ipc.HandleClosed as exc:
        report.append(str(exc))
    else:
        report.append(None)
    out.put(report)


def send_from_global(n):
    tx = GLOBAL["tx"]
    for i in range(n):
        tx.send(i)
    tx.close()


def send_from_attribute(holder, n):
    for i in range(n):
        holder.tx.send(i)
    holder.tx.close()


class Holder:
    def __init__(self, tx):
        self.tx = tx


def pool_init(tx):
    GLOBAL["pool_tx"] = tx


def pool_task(i):
    GLOBAL["pool_tx"].send(i)
    return i


def receive_all(rx, out):
    out.put(sorted(rx))
