"""Subscriptable constructors: ``pyconc.channel[int]()``.

``channel``, ``sync_channel``, ``broadcast`` and ``pyconc.ipc.channel`` are
each the one instance of a small class whose ``__call__`` is the plain
function (a staticmethod: calling costs one slot dispatch, no Python frame
of ours) and whose ``__getitem__`` returns the instance itself, so that
``channel[int]()`` runs ``channel()``.  The item is for type checkers: the
stubs (``channel.pyi`` & co.) overload ``__getitem__`` so that
``channel[int]()`` is typed ``Tuple[Sender[int], Receiver[int]]``, as an
annotation ``Sender[int]`` would say.  ``inspect.signature`` and ``help()``
follow ``__wrapped__`` to the function.
"""

from __future__ import annotations

from typing import Any, Callable


def subscriptable(fn: Callable[..., Any]) -> Any:
    """The instance standing for *fn*: callable as *fn*, and ``[T]`` of it
    returns it."""

    def __getitem__(self: Any, item: Any) -> Any:
        return self

    def __repr__(self: Any) -> str:
        return f"<function {fn.__module__}.{fn.__qualname__}>"

    def __reduce__(self: Any) -> str:
        return fn.__qualname__  # pickled by name, as the function was

    cls = type(
        fn.__name__,
        (),
        {
            "__slots__": (),
            "__doc__": fn.__doc__,
            "__module__": fn.__module__,
            "__qualname__": fn.__qualname__,
            "__call__": staticmethod(fn),
            "__wrapped__": staticmethod(fn),
            "__getitem__": __getitem__,
            "__name__": fn.__name__,
            "__repr__": __repr__,
            "__reduce__": __reduce__,
        },
    )
    return cls()
