/*
 * pc_parker.h - a thread parker: one token, waited for by one thread.
 *
 * The primitive under Rust's thread::park/unpark and crossbeam's
 * Parker/Unparker: unpark() makes a token available; park() consumes it,
 * waiting until there is one.  An unpark before the park is not lost (the
 * token waits); several unparks before one park leave one token.
 *
 * The state word (the futex word as well), after Rust's futex parker
 * (library/std/src/sys/sync/thread_parking/futex.rs):
 *   PC_PARKER_EMPTY     no token, nobody parked
 *   PC_PARKER_NOTIFIED  a token
 *   PC_PARKER_PARKED    the owner is (about to be) asleep
 * unpark exchanges in NOTIFIED and wakes only if it replaced PARKED, so an
 * unpark with nobody asleep is one atomic exchange.
 *
 * One thread parks at a time (the Python layer enforces it with `owner`).
 */
#ifndef PC_PARKER_H
#define PC_PARKER_H

#include "pc_config.h"

enum { PC_PARKER_EMPTY = 0, PC_PARKER_NOTIFIED = 1, PC_PARKER_PARKED = 2 };

typedef struct pc_parker {
    _Atomic uint32_t state;
} pc_parker_t;

PC_INLINE void pc_parker_init(pc_parker_t *p)
{
    /* relaxed: before the parker is shared. */
    atomic_store_explicit(&p->state, PC_PARKER_EMPTY, memory_order_relaxed);
}

/* Take the token if there is one, without waiting.  true if taken. */
PC_INLINE bool pc_parker_try_park(pc_parker_t *p)
{
    uint32_t expected = PC_PARKER_NOTIFIED;
    /* acquire: what the unparker did before unpark() happens before the
     * parker's return (Rust's guarantee).  relaxed on failure: nothing
     * taken. */
    return atomic_compare_exchange_strong_explicit(&p->state, &expected, PC_PARKER_EMPTY,
                                                   memory_order_acquire,
                                                   memory_order_relaxed);
}

/* Wait at most timeout_ns for the token (call without the GIL); returns
 * early on a signal or a spurious wake-up.  true if the token was taken. */
bool pc_parker_park_timed(pc_parker_t *p, int64_t timeout_ns);

/* Make the token available, waking the parked thread if there is one.
 * Any thread; never waits. */
void pc_parker_unpark(pc_parker_t *p);

#endif /* PC_PARKER_H */
