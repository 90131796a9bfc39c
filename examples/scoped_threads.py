"""Scoped threads borrowing a local list (Rust: thread::scope): every
thread spawned in the scope is joined before the block ends, so they can
use the caller's locals, and the results are ready afterwards."""

import pyconc


def main():
    numbers = list(range(1, 101))
    halves = {}

    with pyconc.scope() as s:
        s.spawn(lambda: halves.__setitem__("first", sum(numbers[:50])))
        s.spawn(lambda: halves.__setitem__("second", sum(numbers[50:])))
        longest = s.spawn(max, numbers)  # a handle for a result
    # Both threads have finished here.
    print(f"sums: {halves['first']} + {halves['second']} = {sum(halves.values())}")
    print(f"max: {longest.join()}; the list is still ours: {len(numbers)} items")
    return sum(halves.values())


if __name__ == "__main__":
    main()
