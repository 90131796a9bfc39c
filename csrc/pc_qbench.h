/*
 * pc_qbench.h - C-only benchmark of the channel queues (no Python).
 *
 * `producers` threads each push `per_producer` values, tagged with the
 * producer's number and a sequence number, into one queue; the calling
 * thread's partner, a consumer thread, pops them all and checks that each
 * producer's values arrive in order and that none is missing.  The consumer
 * spins and yields when the queue is empty (pc_backoff_snooze), so this
 * measures the queue, not the parking.
 */
#ifndef PC_QBENCH_H
#define PC_QBENCH_H

#include "pc_config.h"

enum {
    PC_QBENCH_MPSC = 0, /* pc_mpsc, the unbounded queue of channel() */
    PC_QBENCH_RING = 1  /* pc_ring with 1024 slots, sync_channel(1024) */
};

/*
 * Run the benchmark; returns the wall time in nanoseconds from the common
 * start to the consumer's last pop, or -1 if the arguments are bad, a
 * thread or memory could not be had, or a value was lost, duplicated or
 * reordered (which would mean the queue is broken).
 */
int64_t pc_qbench_run(int kind, int producers, int64_t per_producer);

#endif /* PC_QBENCH_H */
