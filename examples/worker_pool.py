"""A pool of worker threads taking jobs from one channel (crossbeam: an
MPMC channel; Python: the queue.Queue worker pool).  Every worker holds a
clone of the jobs Receiver and of the results Sender; the main thread sends
the jobs, closes its Sender, and collects the results with
``for r in results_rx``, which ends once every worker is done (their
results Senders are gone).  A worker that fails reports the failure as a
result instead of dying silently with its Sender.  Needs issue 13's MPMC
channels.
"""

import time

import pyconc


def work(job):
    time.sleep(0.002)  # I/O, say: the GIL is free meanwhile
    if job % 7 == 6:
        raise ValueError(f"job {job} is unlucky")
    return job * job


def worker(name, jobs_rx, results_tx):
    with jobs_rx, results_tx:  # both closed when the worker ends
        for job in jobs_rx:  # ends when the jobs Sender is closed and drained
            try:
                results_tx.send((name, job, work(job), None))
            except Exception as exc:  # noqa: BLE001 - reported, not lost
                results_tx.send((name, job, None, exc))


def main(workers=4, jobs=20):
    jobs_tx, jobs_rx = pyconc.sync_channel(workers * 2)  # bounded: back-pressure
    results_tx, results_rx = pyconc.channel()
    pool = [
        pyconc.spawn(worker, f"w{k}", jobs_rx.clone(), results_tx.clone())
        for k in range(workers)
    ]
    jobs_rx.close()  # the workers hold their own clones
    results_tx.close()
    with jobs_tx:
        for job in range(jobs):
            jobs_tx.send(job)
    results = sorted(results_rx, key=lambda r: r[1])
    for h in pool:
        h.join()
    done = [r for r in results if r[3] is None]
    failed = [r for r in results if r[3] is not None]
    by = {r[0] for r in results}
    print(f"{len(done)} jobs done, {len(failed)} failed, by {len(by)} workers")
    for name, job, _, exc in failed:
        print(f"  job {job} ({name}): {exc}")
    return results


if __name__ == "__main__":
    main()
