"""A bounded buffer of 5 slots with a Mutex and two Condvars (Rust:
Mutex<VecDeque<T>> + Condvar): producers wait while it is full,
consumers while it is empty."""

import collections

import pyconc

CAPACITY = 5


class BoundedBuffer:
    def __init__(self, capacity=CAPACITY):
        self.capacity = capacity
        self.items = pyconc.Mutex(collections.deque())
        self.not_empty = pyconc.Condvar()
        self.not_full = pyconc.Condvar()

    def put(self, item):
        with self.items.lock() as g:
            self.not_full.wait_while(g, lambda q: len(q) >= self.capacity)
            g.value.append(item)
        self.not_empty.notify_one()

    def get(self):
        with self.items.lock() as g:
            self.not_empty.wait_while(g, lambda q: not q)
            item = g.value.popleft()
        self.not_full.notify_one()
        return item


def main(items=10_000):
    buf = BoundedBuffer()

    def produce():
        for i in range(items):
            buf.put(i)
        buf.put(None)

    def consume():
        total = 0
        while (item := buf.get()) is not None:
            total += item
        return total

    with pyconc.scope() as s:
        s.spawn(produce)
        consumer = s.spawn(consume)
    total = consumer.join()
    print(f"consumed {items} items, sum {total}")
    assert total == items * (items - 1) // 2
    return total


if __name__ == "__main__":
    main()
