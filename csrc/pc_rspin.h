/*
 * pc_rspin.h - a robust spin lock for memory shared between processes.
 *
 * pc_spin (pc_spin.h) with the owner's process id in the lock word, so that
 * a waiter can tell when the process holding the lock has died and take the
 * lock over, as POSIX robust mutexes do (pthread_mutexattr_setrobust,
 * EOWNERDEAD).  The word follows the layout of Linux's robust futexes
 * (Documentation/locking/robust-futex-ABI.rst):
 *
 *   0                        unlocked
 *   pid                      locked by process pid, nobody parked
 *   pid | PC_RSPIN_WAITERS   locked, and some waiter may be parked
 *
 * Taking the lock and recording the owner are one compare-and-swap, so
 * there is no moment at which the lock is held by nobody known (a lock word
 * and a separate owner word would leave one between the two stores).  The
 * waiters bit plays the role of state 2 in Drepper's futex mutex
 * ("Futexes Are Tricky", 2011, mutex #2): unlock makes the wake-up system
 * call only when a waiter has announced itself.
 *
 * Owner death: a waiter that has spun without success checks the owner
 * with pc_ipc_pid_alive before it first parks and then every
 * PC_RSPIN_CHECK_NS while parked (parks never last longer than that), so a
 * dead owner is noticed within about 10 ms.  The first waiter to notice
 * swaps its own pid in with a compare-and-swap and is told
 * PC_RSPIN_OWNER_DIED: it holds the lock, and the data the lock protects
 * may be half-updated.  The limits of naming owners by pid (reuse,
 * namespaces) are those of pc_ipc.h.
 *
 * Layout: one 32-bit word, 4 bytes, 4-aligned, no pointers: the same size
 * as pc_spin_t, and zeroed memory is an unlocked lock.
 */
#ifndef PC_RSPIN_H
#define PC_RSPIN_H

#include "pc_config.h"
#include "pc_ipc.h"

typedef struct pc_rspin {
    _Atomic uint32_t state;
} pc_rspin_t;

#define PC_RSPIN_WAITERS 0x80000000u
/* How often a parked waiter checks that the owner still lives. */
#define PC_RSPIN_CHECK_NS 10000000

/* Results of pc_rspin_lock_timed. */
enum {
    PC_RSPIN_TIMEDOUT = 0,  /* not acquired */
    PC_RSPIN_ACQUIRED = 1,  /* acquired */
    PC_RSPIN_OWNER_DIED = 2 /* acquired from a dead owner */
};

/*
 * Wait for the lock for at most timeout_ns (negative: no limit) on behalf
 * of process `pid`: spin, back off, yield, then park (process-shared
 * futex), checking the owner's liveness between parks.  Call it without
 * the GIL.
 */
int pc_rspin_lock_timed(pc_rspin_t *l, uint32_t pid, int64_t timeout_ns);

/* Wake one parked waiter (the slow path of pc_rspin_unlock). */
void pc_rspin_wake(pc_rspin_t *l);

PC_INLINE void pc_rspin_init(pc_rspin_t *l)
{
    /* relaxed: initialisation happens before the lock is shared. */
    atomic_store_explicit(&l->state, 0, memory_order_relaxed);
}

/* One attempt, never waits: true if process `pid` now holds the lock.
 * A dead owner is not detected here (that costs a system call); the
 * waiting path does it. */
PC_INLINE bool pc_rspin_trylock(pc_rspin_t *l, uint32_t pid)
{
    uint32_t expected = 0;
    /* acquire on success: see the last holder's critical section;
     * relaxed on failure: we only learned that the lock is taken. */
    return atomic_compare_exchange_strong_explicit(
        &l->state, &expected, pid & PC_IPC_PID_MASK, memory_order_acquire,
        memory_order_relaxed);
}

/*
 * One attempt that also takes the lock over from a dead owner; never
 * waits, but makes one or two system calls when the lock is held.  A
 * PC_RSPIN_* result.
 */
int pc_rspin_trylock_robust(pc_rspin_t *l, uint32_t pid);

/*
 * Unlock, waking one parked waiter if there may be one.  Returns the word
 * before the unlock: 0 means the lock was not held (the caller's error,
 * reported by the Python layer) and nothing changed.  Any process may
 * unlock, as with pc_spin.
 */
PC_INLINE uint32_t pc_rspin_unlock(pc_rspin_t *l)
{
    /* release: publish the critical section's writes to the next holder. */
    uint32_t prev = atomic_exchange_explicit(&l->state, 0, memory_order_release);
    if (PC_UNLIKELY(prev & PC_RSPIN_WAITERS))
        pc_rspin_wake(l);
    return prev;
}

/* The owner's pid, 0 if unlocked (a snapshot). */
PC_INLINE uint32_t pc_rspin_owner(pc_rspin_t *l)
{
    /* relaxed: a snapshot for owner()/locked(); it orders nothing. */
    return atomic_load_explicit(&l->state, memory_order_relaxed) & PC_IPC_PID_MASK;
}

#endif /* PC_RSPIN_H */
