/*
 * pc_park.h - futex-style waiting on a 32-bit word.
 *
 * One interface over each operating system's address-based wait:
 *   Linux    futex(2) FUTEX_WAIT / FUTEX_WAKE
 *   macOS    os_sync_wait_on_address (14.4+) or __ulock_wait/__ulock_wake
 *   Windows  WaitOnAddress / WakeByAddress* (process-private only)
 *   other    a sleeping poll loop (correct, slower to wake; also with
 *            -DPC_PARK_POLL, which the validate suite uses to test it)
 *
 * The contract is the futex one: pc_park_wait sleeps only if *addr still
 * equals `expected` when the kernel looks (so a wake that happened between
 * the caller's check and the sleep is never lost), and may return early for
 * any reason (spurious wake-up, signal); callers always re-check their
 * condition in a loop.
 *
 * `shared` selects a wait that works across processes on a word that lives
 * in shared memory.  Process-private waits are cheaper where the OS
 * distinguishes the two (Linux FUTEX_PRIVATE_FLAG).
 */
#ifndef PC_PARK_H
#define PC_PARK_H

#include "pc_config.h"

/* Results of pc_park_wait. */
enum {
    PC_PARK_WOKEN = 0,      /* woken, value changed, or spurious: re-check */
    PC_PARK_TIMEDOUT = 1,   /* the timeout elapsed */
    PC_PARK_INTERRUPTED = 2 /* a signal interrupted the wait (EINTR): re-check,
                             * and return to the interpreter so that its
                             * handler runs (where the OS reports it) */
};

/*
 * Sleep while *addr == expected, for at most timeout_ns nanoseconds
 * (negative: no limit).  Must be called without the GIL.
 */
int pc_park_wait(_Atomic uint32_t *addr, uint32_t expected, int64_t timeout_ns,
                 bool shared);

/* Wake one thread (at most) sleeping on addr. */
void pc_park_wake_one(_Atomic uint32_t *addr, bool shared);

/* Wake every thread sleeping on addr. */
void pc_park_wake_all(_Atomic uint32_t *addr, bool shared);

/* Which implementation this build uses ("futex", "ulock", ...). */
const char *pc_park_backend(void);

#endif /* PC_PARK_H */
