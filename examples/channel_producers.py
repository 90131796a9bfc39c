"""Several producers on one channel, each with a clone of the sender
(Rust: mpsc::channel + Sender::clone).  The receiver's loop ends when
every sender is gone.  Needs pyconc.channel (issue 3).
"""

import pyconc


def producer(tx, name, n):
    for i in range(n):
        tx.send(f"{name}:{i}")
    # tx goes out of scope when the thread ends: one sender fewer


def main(producers=3, per=5):
    tx, rx = pyconc.channel()
    handles = []
    for k in range(producers):
        tx_k = tx.clone()
        handles.append(pyconc.spawn(producer, tx_k, f"p{k}", per))
        del tx_k
    del tx  # only the clones remain: rx ends when they are dropped
    received = []
    for v in rx:
        received.append(v)
    for h in handles:
        h.join()
    print(f"received {len(received)} messages from {producers} producers")
    return received


if __name__ == "__main__":
    main()
