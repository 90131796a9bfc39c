/*
 * pc_mutex.h - the lock word behind pyconc.Mutex: a pc_spin lock plus a
 * poison flag, as Rust's std::sync::Mutex (a futex mutex and a `poison`
 * flag beside it).
 *
 * The lock itself is pc_spin (test-and-test-and-set, backoff, then the
 * three-state futex park of Drepper's "Futexes Are Tricky", mutex #2).  The
 * poison flag is set only by the lock's holder, so it needs no ordering
 * of its own: the unlock's release publishes it and the next lock's
 * acquire reads it.  Both words sit on one line: they are written by the
 * same thread (the holder), never by two at once.
 *
 * Process-private: the Python layer keeps the protected value in Python
 * objects, which cannot be shared between processes anyway.
 *
 * Coroutines (Mutex.lock_async) wait in a pc_async list made on first use
 * (`async`), with the futex's own protocol: a coroutine registers, then
 * marks the lock word CONTENDED (as a parking thread does) before it
 * sleeps, so an unlock that finds CONTENDED, and only such an unlock,
 * fires one coroutine as well as waking one thread.  Every coroutine that
 * takes the lock while others stay registered marks it again
 * (pc_mutex_trylock_async), so the holder's unlock wakes the next.  The
 * uncontended unlock stays one exchange.
 */
#ifndef PC_MUTEX_H
#define PC_MUTEX_H

#include "pc_config.h"
#include "pc_spin.h"
#include "pc_async.h"

typedef struct pc_mutex {
    pc_spin_t lock;
    /* Bit 0: poisoned (written by the holder, or by clear_poison); the
     * bits above are the owner's (PC_MUTEX_OWNER_BITS: the Python layer
     * keeps its own two flags there, so that a Mutex object stays at 64
     * bytes).  Every write is a read-modify-write of its own bits. */
    _Atomic uint32_t flags;
    pc_async_slot_t async; /* waiting coroutines; NULL until the first */
} pc_mutex_t;

#define PC_MUTEX_POISONED_BIT 1u
/* The first of the bits the owner may use (pc_mutex_owner_set/_flags). */
#define PC_MUTEX_OWNER_BITS 2u

/* Results of the locking calls.  PC_MUTEX_POISONED means "locked, but a
 * previous holder poisoned it": the caller holds the lock either way. */
enum { PC_MUTEX_OK = 0, PC_MUTEX_POISONED = 1, PC_MUTEX_BUSY = 2 };

PC_INLINE void pc_mutex_init(pc_mutex_t *m)
{
    pc_spin_init(&m->lock);
    /* relaxed: initialisation happens before the mutex is shared. */
    atomic_store_explicit(&m->flags, 0, memory_order_relaxed);
    atomic_store_explicit(&m->async, NULL, memory_order_relaxed);
}

/* Free what a coroutine's wait made (nobody may use the mutex again). */
PC_INLINE void pc_mutex_destroy(pc_mutex_t *m)
{
    pc_async_list_free(&m->async);
}

/* The poison state, as seen by the lock's holder (or a snapshot). */
PC_INLINE int pc_mutex_locked_state(pc_mutex_t *m)
{
    /* relaxed: the lock's acquire already ordered this after the last
     * holder's write of the flag. */
    return (atomic_load_explicit(&m->flags, memory_order_relaxed) & PC_MUTEX_POISONED_BIT)
               ? PC_MUTEX_POISONED
               : PC_MUTEX_OK;
}

/* One attempt, never waits: PC_MUTEX_OK or PC_MUTEX_POISONED if the caller
 * now holds the lock, PC_MUTEX_BUSY if somebody else does. */
PC_INLINE int pc_mutex_trylock(pc_mutex_t *m)
{
    if (PC_UNLIKELY(!pc_spin_trylock(&m->lock)))
        return PC_MUTEX_BUSY;
    return pc_mutex_locked_state(m);
}

/*
 * Wait for the lock for at most timeout_ns (negative: no limit); call it
 * without the GIL.  PC_MUTEX_OK / PC_MUTEX_POISONED once held,
 * PC_MUTEX_BUSY on timeout.
 */
int pc_mutex_lock_timed(pc_mutex_t *m, int64_t timeout_ns);

/*
 * Unlock, poisoning the mutex first if `poison` (the holder is leaving by
 * an exception), and wake one parked waiter if there may be one.  Returns
 * the lock state before (PC_SPIN_UNLOCKED: it was not held, the caller's
 * bug, and nothing changed).
 */
PC_INLINE uint32_t pc_mutex_unlock(pc_mutex_t *m, bool poison)
{
    if (PC_UNLIKELY(poison))
        /* relaxed: published by the release in pc_spin_unlock below. */
        atomic_fetch_or_explicit(&m->flags, PC_MUTEX_POISONED_BIT, memory_order_relaxed);
    uint32_t prev = pc_spin_unlock(&m->lock, false);
    if (PC_UNLIKELY(prev == PC_SPIN_CONTENDED)) {
        /* acquire: the exchange read the CONTENDED of a coroutine's mark
         * (a release CAS made after it registered) and continued its
         * release sequence (every write of the word after init is a
         * read-modify-write); this load reads the exchange's value or a
         * later one, so it synchronises with the mark and the
         * registration is seen by the notify's load of `waiting`.  (A
         * load rather than an acquire fence: ThreadSanitizer models it.) */
        (void)atomic_load_explicit(&m->lock.state, memory_order_acquire);
        pc_async_slot_notify(&m->async, 1);
    }
    return prev;
}

/*
 * A coroutine's attempt (Mutex.lock_async), never waits: PC_MUTEX_OK or
 * PC_MUTEX_POISONED if the caller now holds the lock, PC_MUTEX_BUSY if it
 * does not, having marked the lock CONTENDED if any coroutine is
 * registered, so that the holder's unlock fires one.  A coroutine taking
 * the lock while others are registered marks it too.
 */
int pc_mutex_trylock_async(pc_mutex_t *m);

/* A coroutine leaves with a wake-up it did not use (cancelled, timed
 * out): if others are registered, pass it on (fire one if the lock is
 * free, else mark it CONTENDED for its holder's unlock). */
void pc_mutex_async_chain(pc_mutex_t *m);

/* Snapshot of the poison flag, for is_poisoned(). */
PC_INLINE bool pc_mutex_is_poisoned(pc_mutex_t *m)
{
    /* acquire: a thread that sees the flag also sees what the poisoning
     * holder wrote before it (it may go on to inspect the data). */
    return (atomic_load_explicit(&m->flags, memory_order_acquire) & PC_MUTEX_POISONED_BIT) != 0;
}

/* clear_poison(): Rust's Mutex::clear_poison. */
PC_INLINE void pc_mutex_clear_poison(pc_mutex_t *m)
{
    /* release: pairs with the acquire in pc_mutex_is_poisoned. */
    atomic_fetch_and_explicit(&m->flags, ~PC_MUTEX_POISONED_BIT, memory_order_release);
}

/* The owner's bits (multiples of PC_MUTEX_OWNER_BITS).  relaxed: flags
 * that order nothing by themselves (the lock orders what they guard). */
PC_INLINE uint32_t pc_mutex_owner_flags(pc_mutex_t *m)
{
    return atomic_load_explicit(&m->flags, memory_order_relaxed) & ~PC_MUTEX_POISONED_BIT;
}

PC_INLINE void pc_mutex_owner_set(pc_mutex_t *m, uint32_t bits)
{
    atomic_fetch_or_explicit(&m->flags, bits & ~PC_MUTEX_POISONED_BIT, memory_order_relaxed);
}

/* True if somebody holds the lock right now (a snapshot). */
PC_INLINE bool pc_mutex_is_locked(pc_mutex_t *m)
{
    return pc_spin_is_locked(&m->lock);
}

#endif /* PC_MUTEX_H */
