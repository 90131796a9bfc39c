/*
 * pc_rwlock.h - a reader-writer lock on futexes, writers preferred.
 *
 * The algorithm of Rust's std futex RwLock (Mara Bos, 2022;
 * library/std/src/sys/sync/rwlock/futex.rs), with timeouts added.  The
 * state word holds:
 *   bits 0..29  the number of readers, or PC_RWLOCK_MASK when write-locked
 *   bit 30      readers are waiting
 *   bit 31      writers are waiting
 * Readers park on the state word, writers on a separate notification
 * counter (writer_notify), so that an unlock can wake exactly one writer.
 * A waiting writer sets bit 31, which stops new readers from taking the
 * lock: a stream of readers cannot starve a writer.
 *
 * Timeouts (not in Rust's): a reader that gives up leaves at most a stale
 * "readers waiting" bit, which only costs the next write unlock a useless
 * wake-up.  A writer that gives up may leave bit 31 set with no writer
 * left to take the lock, which would block readers; so it calls
 * pc_rwlock_write_abandon, which clears both waiting bits and wakes every
 * waiter: the ones still waiting set their bit again.
 *
 * Rust's wake_writer learns from futex_wake whether a writer was asleep
 * and, if none was, wakes the readers instead; pc_park's wake does not
 * report that, so writers count themselves in `writers_parked` around
 * their futex wait (a Dekker pair with the waker's increment of
 * writer_notify, hence seq_cst).
 *
 * Waiting is sliced by the Python layer: a wait returns after its slice
 * (or a signal) and the caller calls again; between slices a writer's bit
 * stays set, and `waited` tells a later slice that the writer set it
 * (Rust's `other_writers_waiting`).
 */
#ifndef PC_RWLOCK_H
#define PC_RWLOCK_H

#include "pc_config.h"
#include "pc_async.h"

#define PC_RWLOCK_READ_LOCKED 1u
#define PC_RWLOCK_MASK ((1u << 30) - 1)
#define PC_RWLOCK_WRITE_LOCKED PC_RWLOCK_MASK
#define PC_RWLOCK_MAX_READERS (PC_RWLOCK_MASK - 1)
#define PC_RWLOCK_READERS_WAITING (1u << 30)
#define PC_RWLOCK_WRITERS_WAITING (1u << 31)

typedef struct pc_rwlock {
    _Atomic uint32_t state;
    _Atomic uint32_t writer_notify; /* incremented to wake a writer */
    _Atomic uint32_t writers_parked; /* writers inside their futex wait */
    _Atomic uint32_t poisoned;      /* written by writers, under the lock */
    /* Coroutines (read_async, write_async), readers and writers in one
     * list, NULL until the first.  A coroutine registers, then sets its
     * waiting bit as a parking thread does, so the unlock that must wake
     * somebody runs the slow path; every wake there fires every
     * coroutine, which re-try (and re-register) in their loops. */
    pc_async_slot_t async;
} pc_rwlock_t;

/* Results: as pc_mutex's (PC_RWLOCK_POISONED: held, but poisoned). */
enum { PC_RWLOCK_OK = 0, PC_RWLOCK_POISONED = 1, PC_RWLOCK_BUSY = 2 };

void pc_rwlock_init(pc_rwlock_t *rw);

/* Free what a coroutine's wait made (nobody may use the lock again). */
void pc_rwlock_destroy(pc_rwlock_t *rw);

/* A coroutine's attempts, never waiting: PC_RWLOCK_OK / PC_RWLOCK_POISONED
 * once held, PC_RWLOCK_BUSY having set the waiting bit (readers' or
 * writers'), so that the unlock which lets it in fires it.  A writer
 * coroutine that leaves without the lock calls pc_rwlock_write_abandon. */
int pc_rwlock_try_read_async(pc_rwlock_t *rw);
int pc_rwlock_try_write_async(pc_rwlock_t *rw);

/* One attempt each, never waiting. */
int pc_rwlock_try_read(pc_rwlock_t *rw);
int pc_rwlock_try_write(pc_rwlock_t *rw);

/* Wait at most timeout_ns (call without the GIL).  PC_RWLOCK_BUSY when
 * the slice ends (or a signal arrives) first; a writer then calls again
 * with waited=true, or pc_rwlock_write_abandon if it gives up. */
int pc_rwlock_read_timed(pc_rwlock_t *rw, int64_t timeout_ns);
int pc_rwlock_write_timed(pc_rwlock_t *rw, int64_t timeout_ns, bool waited);
void pc_rwlock_write_abandon(pc_rwlock_t *rw);

/* Unlocks; they may make one wake-up system call. */
void pc_rwlock_read_unlock(pc_rwlock_t *rw);
void pc_rwlock_write_unlock(pc_rwlock_t *rw, bool poison);

/*
 * Turn the caller's write lock into a read lock in one step: no writer can
 * take the lock in between (Rust's RwLockWriteGuard::downgrade).  Readers
 * waiting are woken to share it, unless a writer waits (writers first).
 */
void pc_rwlock_downgrade(pc_rwlock_t *rw);

bool pc_rwlock_is_poisoned(pc_rwlock_t *rw);
void pc_rwlock_clear_poison(pc_rwlock_t *rw);
/* Snapshot: -1 write-locked, else the number of readers. */
int64_t pc_rwlock_holders(pc_rwlock_t *rw);

#endif /* PC_RWLOCK_H */
