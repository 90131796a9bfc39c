"""This process's id, cached and kept right across fork().

The shared-memory primitives pass the caller's pid to C on every call (a
robust lock records its owner, a ring its receiver).  os.getpid() is a
system call on current glibc; this module attribute is a dict lookup.
"""

from __future__ import annotations

import os

#: The current process's id (updated in the child after os.fork()).
pid: int = os.getpid()


def _after_fork_in_child() -> None:
    global pid
    pid = os.getpid()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
