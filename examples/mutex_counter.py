"""Ten threads increment a counter behind a Mutex (Rust: Arc<Mutex<i32>>)."""

import pyconc


def main(threads=10, per=1000):
    counter = pyconc.Mutex(0)

    def work():
        for _ in range(per):
            with counter.lock() as n:
                n.value += 1

    handles = [pyconc.spawn(work) for _ in range(threads)]
    for h in handles:
        h.join()
    with counter.lock() as n:
        print(f"Result: {n.value}")
        return n.value


if __name__ == "__main__":
    main()
