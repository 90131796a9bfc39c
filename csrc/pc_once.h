/*
 * pc_once.h - one-time initialisation: the state word behind pyconc.Once,
 * OnceLock and JoinHandle's "finished" event.
 *
 * A futex word with four states, after Rust's futex Once (library/std/src/
 * sys/sync/once/futex.rs), simplified: waiters always park on the word
 * while it is RUNNING, and the finishing thread always wakes them all (a
 * Once completes once, so the one system call does not matter).
 *   INCOMPLETE -> RUNNING      pc_once_try_begin: the caller runs the init
 *   RUNNING    -> COMPLETE     pc_once_finish: done, never runs again
 *   RUNNING    -> INCOMPLETE   pc_once_finish: failed, the next caller retries
 *   RUNNING    -> POISONED     pc_once_finish: failed, callers are told
 *   POISONED   -> RUNNING      pc_once_try_begin with ignore_poison
 */
#ifndef PC_ONCE_H
#define PC_ONCE_H

#include "pc_config.h"

enum {
    PC_ONCE_INCOMPLETE = 0,
    PC_ONCE_RUNNING = 1,
    PC_ONCE_COMPLETE = 2,
    PC_ONCE_POISONED = 3
};

typedef struct pc_once {
    _Atomic uint32_t state;
} pc_once_t;

void pc_once_init(pc_once_t *o);

/* The state, with acquire: on COMPLETE, the initialiser's writes are
 * visible to the caller. */
uint32_t pc_once_state(pc_once_t *o);

/* Try to become the initialiser.  Returns the state seen: INCOMPLETE (or
 * POISONED with ignore_poison) means the caller now runs the init (state
 * RUNNING); anything else means it does not. */
uint32_t pc_once_try_begin(pc_once_t *o, bool ignore_poison);

/* The initialiser is done: store `state` (COMPLETE, INCOMPLETE or
 * POISONED) and wake every waiter. */
void pc_once_finish(pc_once_t *o, uint32_t state);

/* Sleep while the state is RUNNING, for at most timeout_ns; call without
 * the GIL.  Returns the state seen last. */
uint32_t pc_once_wait(pc_once_t *o, int64_t timeout_ns);

/* Sleep until the state is COMPLETE (or POISONED, unless ignore_poison:
 * then a later initialiser may still complete it), for at most
 * timeout_ns; call without the GIL.  Returns the state seen last.  Every
 * pc_once_finish wakes it, whatever state it went to sleep on. */
uint32_t pc_once_wait_done(pc_once_t *o, int64_t timeout_ns, bool ignore_poison);

#endif /* PC_ONCE_H */
