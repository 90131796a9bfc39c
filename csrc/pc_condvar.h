/*
 * pc_condvar.h - a condition variable on a futex sequence counter.
 *
 * The algorithm of Rust's std futex Condvar (library/std/src/sys/sync/
 * condvar/futex.rs): a 32-bit counter that every notify increments; a
 * waiter reads the counter, unlocks the mutex, and sleeps while the counter
 * still holds the value it read, so a notify that comes after the unlock
 * is never lost (the kernel compares before sleeping).  Like Rust's (and
 * POSIX's), a wait may return spuriously, and notify_one may wake more than
 * one waiter; callers re-check their condition.
 *
 * Two additions:
 *   - A count of parked waiters, so that a notify with nobody asleep costs
 *     one atomic increment and no system call (the bounded-buffer pattern
 *     notifies on every item).  A waiter counts itself only around its
 *     park, not while it spins, so that notifying a spinning waiter is
 *     free too.  Waiter and notifier form a Dekker pair on (waiters, seq),
 *     hence the seq_cst accesses: either the notifier sees the waiter
 *     counted and wakes it, or the waiter sees the new counter value and
 *     does not sleep.
 *   - A spin window before parking (pc_handoff.h), so that a waiter whose
 *     partner notifies within a few tens of microseconds is still awake.
 *
 * Waiting is split so that the Python layer can wait in slices (and so
 * stay interruptible) without re-reading the counter between slices:
 *   pc_condvar_unlock_prepare  read the counter, unlock the mutex
 *   pc_condvar_wait            wait a slice for the counter to move
 * and the caller relocks the mutex itself, first with a trylock with the
 * GIL held.  (Relocking inside the wait, without the GIL, measured worse:
 * the woken thread then holds the mutex while it waits for the GIL, and
 * the thread that has the GIL runs into the held mutex: a convoy.)
 */
#ifndef PC_CONDVAR_H
#define PC_CONDVAR_H

#include "pc_config.h"
#include "pc_mutex.h"

typedef struct pc_condvar {
    /* Both words are written by waiters and notifiers alike, so there is
     * nothing to gain from separating them. */
    _Atomic uint32_t seq;     /* incremented by every notify */
    _Atomic uint32_t waiters; /* threads parked (or about to park) */
    /* Coroutines (Condvar.wait_async), NULL until the first: registered
     * before they unlock the mutex, fired by every notify (one or all),
     * after the bump (the Dekker pair of pc_async.h). */
    pc_async_slot_t async;
} pc_condvar_t;

/* Results of pc_condvar_wait. */
enum {
    PC_CONDVAR_NOTIFIED = 0, /* the counter moved */
    PC_CONDVAR_PENDING = 1   /* slice over (or a signal): wait again or
                              * give up */
};

void pc_condvar_init(pc_condvar_t *cv);

/* Free what a coroutine's wait made (nobody may use the condvar again). */
void pc_condvar_destroy(pc_condvar_t *cv);

/* Read the counter, unlock *m (held by the caller).  Returns the counter
 * value to pass to pc_condvar_wait.  Does not wait (the unlock may make
 * one wake-up system call). */
uint32_t pc_condvar_unlock_prepare(pc_condvar_t *cv, pc_mutex_t *m);

/* Sleep while the counter equals `seq`, for at most timeout_ns; call
 * without the GIL.  See the PC_CONDVAR_* results. */
int pc_condvar_wait(pc_condvar_t *cv, uint32_t seq, int64_t timeout_ns);

/* Wake one waiter / every waiter (no system call if none is parked). */
void pc_condvar_notify_one(pc_condvar_t *cv);
void pc_condvar_notify_all(pc_condvar_t *cv);

#endif /* PC_CONDVAR_H */
