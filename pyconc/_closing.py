"""The context-manager half shared by everything that has a close()."""

from __future__ import annotations

from typing import Callable, TypeVar

_C = TypeVar("_C", bound="Closing")


class Closing:
    """Mixin: ``with obj:`` returns *obj* and calls ``obj.close()`` at the
    end of the block, however it ends.  The class using it defines close()
    (the annotation below only tells type checkers; it adds no attribute,
    so it never hides another base's close())."""

    __slots__ = ()
    close: Callable[[], None]

    def __enter__(self: _C) -> _C:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
