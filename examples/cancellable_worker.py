"""A worker that stops when a shared AtomicBool says so (Rust:
Arc<AtomicBool> with Ordering::Relaxed checks and a Release/Acquire stop)."""

import time

import pyconc
from pyconc import ACQUIRE, RELEASE


def main(run_for=0.05):
    stop = pyconc.AtomicBool(False)

    def worker():
        rounds = 0
        while not stop.load(ACQUIRE):
            rounds += 1  # a unit of work
            if rounds % 1000 == 0:
                time.sleep(0)
        return rounds

    h = pyconc.spawn(worker)
    time.sleep(run_for)
    stop.store(True, RELEASE)  # ask the worker to stop
    rounds = h.join()
    print(f"worker stopped after {rounds} rounds")
    return rounds


if __name__ == "__main__":
    main()
