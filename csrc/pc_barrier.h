/*
 * pc_barrier.h - a reusable barrier for n threads on one 64-bit counter
 * and a futex word.
 *
 * `state` holds (rounds << 32 | arrived).  A thread arrives with one
 * fetch_add; the one that makes `arrived` reach n is the round's leader: it
 * subtracts n and adds one round in a single fetch_add (so arrivals for the
 * next round that raced in are kept), then bumps `rounds`, the futex word
 * the others sleep on, and wakes them.  A waiter of round r sleeps until
 * `rounds` has passed r.  No lock, no allocation; a thread that gives up
 * (a signal) takes its arrival back with pc_barrier_leave if its round has
 * not completed.
 *
 * Rust's std Barrier uses a Mutex and a Condvar; this is the same
 * behaviour (one leader per round, reusable) in two atomics.
 */
#ifndef PC_BARRIER_H
#define PC_BARRIER_H

#include "pc_config.h"
#include "pc_async.h"

typedef struct pc_barrier {
    _Atomic uint64_t state;  /* rounds << 32 | arrived */
    _Atomic uint32_t rounds; /* completed rounds: the futex word */
    uint32_t n;
    /* Coroutines (Barrier.wait_async), NULL until the first: registered,
     * then they re-check `rounds`; the leader fires them all after its
     * seq_cst bump (the Dekker pair of pc_async.h). */
    pc_async_slot_t async;
} pc_barrier_t;

#define PC_BARRIER_LEADER (-1)

void pc_barrier_init(pc_barrier_t *b, uint32_t n);

/* Free what a coroutine's wait made (nobody may use the barrier again). */
void pc_barrier_destroy(pc_barrier_t *b);

/* Has round `round` completed?  For a coroutine's re-check. */
bool pc_barrier_passed(pc_barrier_t *b, uint32_t round);

/* Arrive.  Returns PC_BARRIER_LEADER if this arrival completed the round
 * (the others are woken), else the round to pass to pc_barrier_wait. */
int64_t pc_barrier_arrive(pc_barrier_t *b);

/* Sleep until round `round` completes, at most timeout_ns (without the
 * GIL).  Returns true once it has completed, false on timeout or signal. */
bool pc_barrier_wait(pc_barrier_t *b, uint32_t round, int64_t timeout_ns);

/* Take back an arrival in round `round`.  Returns false if the round has
 * completed meanwhile, or its leader has arrived (the caller has passed
 * the barrier after all: pc_barrier_wait returns true promptly). */
bool pc_barrier_leave(pc_barrier_t *b, uint32_t round);

/* Whether round `round` has completed (acquire: then every arrival's
 * writes are visible).  Never waits. */
bool pc_barrier_is_passed(pc_barrier_t *b, uint32_t round);

#endif /* PC_BARRIER_H */
