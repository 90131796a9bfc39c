"""A configuration behind an RwLock: many threads read it at once, one
thread replaces it now and then (Rust: Arc<RwLock<Config>>)."""

import time

import pyconc


def main(readers=8, reads=100, updates=5):
    config = pyconc.RwLock({"version": 0, "greeting": "hello"})
    seen = pyconc.Mutex(set())

    def reader():
        for _ in range(reads):
            with config.read() as c:
                version, greeting = c.value["version"], c.value["greeting"]
            assert greeting == f"hello v{version}" or version == 0
            with seen.lock() as s:
                s.value.add(version)
            time.sleep(0.0002)

    def updater():
        for v in range(1, updates + 1):
            time.sleep(0.002)
            with config.write() as c:  # readers wait; new readers queue behind
                c.value = {"version": v, "greeting": f"hello v{v}"}

    with pyconc.scope() as s:
        for _ in range(readers):
            s.spawn(reader)
        s.spawn(updater)

    with config.read() as c:
        print(f"final config: {c.value}")
    with seen.lock() as s:
        print(f"versions seen by readers: {sorted(s.value)}")
    return config.into_inner()


if __name__ == "__main__":
    main()
