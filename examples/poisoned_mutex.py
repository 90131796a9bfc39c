"""Recovering a poisoned mutex (Rust: `Err(poisoned) => poisoned.into_inner()`).

A thread raises while holding the lock, half-way through an update; the
next user gets PoisonError, takes the guard out of it, repairs the data,
and clears the poison.
"""

import pyconc


def main():
    accounts = pyconc.Mutex({"alice": 100, "bob": 0})

    def transfer(amount):
        with accounts.lock() as g:
            g.value["alice"] -= amount
            if amount > 50:
                raise ValueError("transfer limit exceeded")  # bob never paid
            g.value["bob"] += amount

    try:
        pyconc.spawn(transfer, 80).join()
    except ValueError as e:  # the worker's exception, re-raised by join()
        print(f"worker panicked: {e}")
    print(f"poisoned: {accounts.is_poisoned()}")

    try:
        with accounts.lock() as g:
            print(f"balances: {g.value}")
    except pyconc.PoisonError as poisoned:
        with poisoned.into_inner() as g:  # the lock is held: repair
            total = sum(g.value.values())
            print(f"recovered {g.value}, {100 - total} missing")
            g.value["alice"] += 100 - total
        accounts.clear_poison()

    with accounts.lock() as g:
        print(f"repaired: {g.value}, poisoned: {accounts.is_poisoned()}")
        return dict(g.value)


if __name__ == "__main__":
    main()
