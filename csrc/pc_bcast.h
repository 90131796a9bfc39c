/*
 * pc_bcast.h - the counters and waiting behind pyconc.broadcast, a
 * multi-producer, multi-consumer broadcast channel after tokio's
 * sync::broadcast (Carl Lerche et al.): a ring of `capacity` slots; every
 * receiver reads every value at its own pace; a receiver that falls more
 * than `capacity` behind loses the oldest values (it "lags") instead of
 * holding up the sender or the other receivers.
 *
 * The ring itself holds Python objects and lives in the Python layer: slot
 * `pos % capacity` holds the pair (pos, value), so a receiver at position
 * `pos` tells by the stored pos alone whether its value is there (equal),
 * not yet sent (smaller) or already overwritten (larger: it lagged).  This
 * part holds what must be atomic: the senders' lock and tail, the
 * receiver and sender counts, and the futex word receivers sleep on.
 *
 * Senders serialise on a pc_spin lock held only around storing one slot
 * (send_begin ... send_end).  Receivers never take it.  A receiver that
 * finds its slot empty registers (waiters++), reads the futex word
 * `signal`, re-checks its slot and sleeps while `signal` is unchanged; a
 * sender, after storing the slot, increments `signal` and wakes sleepers
 * only if some are registered.  (waiters, signal) is a Dekker pair, hence
 * seq_cst on both sides (as in pc_condvar.h).
 *
 * Fields written by senders and by receivers sit PC_CACHELINE apart
 * (explicit padding rather than alignment: cffi's allocator does not
 * promise 128-byte alignment).
 */
#ifndef PC_BCAST_H
#define PC_BCAST_H

#include "pc_config.h"
#include "pc_async.h"
#include "pc_spin.h"

typedef struct pc_bcast {
    /* Written by senders. */
    pc_spin_t lock;
    _Atomic uint32_t signal; /* futex word: bumped by each send and close */
    _Atomic uint64_t tail;   /* next position to send to */
    _Atomic uint32_t closed; /* 1 once the last sender is gone */
    _Atomic uint32_t senders;
    char pad_[PC_CACHELINE];
    /* Written by receivers. */
    _Atomic uint32_t waiters;       /* threads registered to sleep */
    _Atomic uint32_t async_waiters; /* asyncio tasks registered */
    _Atomic uint32_t receivers;
    /* Waiting for the last receiver to leave (Sender.closed(), tokio's
     * Sender::closed): threads count themselves in closed_waiters and park
     * on `receivers`; coroutines register in closed_async (made on first
     * use).  The leave that takes the count to 0 wakes both (a seq_cst
     * decrement, then seq_cst loads: the Dekker pair with the waiters'
     * count or registration, then re-check). */
    _Atomic uint32_t closed_waiters;
    pc_async_slot_t closed_async;
} pc_bcast_t;

/* send_begin / send_lock results other than a position. */
#define PC_BCAST_BUSY (-1)
#define PC_BCAST_NO_RECEIVERS (-2)

/* Results of pc_bcast_wait. */
enum { PC_BCAST_CHANGED = 0, PC_BCAST_PENDING = 1 };

/* One sender, one receiver. */
void pc_bcast_init(pc_bcast_t *b);

/* Take the senders' lock without waiting and return the position to store
 * at; PC_BCAST_BUSY if another sender holds it, PC_BCAST_NO_RECEIVERS
 * (lock not taken) if there is no receiver. */
int64_t pc_bcast_send_begin(pc_bcast_t *b);
/* As send_begin, waiting up to timeout_ns for the lock (without the GIL). */
int64_t pc_bcast_send_lock(pc_bcast_t *b, int64_t timeout_ns);
/* The slot for `pos` is stored: publish it, unlock, wake sleepers.
 * Returns the number of receivers, or its complement (~n, negative) when
 * asyncio receivers are registered and the caller must wake them. */
int64_t pc_bcast_send_end(pc_bcast_t *b, uint64_t pos);

/* The tail (acquire: values stored before it are visible). */
uint64_t pc_bcast_tail(pc_bcast_t *b);
bool pc_bcast_is_closed(pc_bcast_t *b);

/* A new receiver; returns the position it starts at (the tail). */
uint64_t pc_bcast_subscribe(pc_bcast_t *b);
void pc_bcast_unsubscribe(pc_bcast_t *b);

/*
 * The senders' lock alone, for what must agree with a send's receiver
 * count (tokio takes its tail lock for the same): a receiver that joins
 * or leaves under it either is counted in a send and reads (or, leaving,
 * releases) that value, or is not and never sees it.  That is what lets
 * the Python layer release a value as soon as no receiver can still read
 * it.  lock_timed waits at most timeout_ns, without the GIL.
 */
/* Free what a coroutine's closed() wait made (nobody may use b again). */
void pc_bcast_destroy(pc_bcast_t *b);

/* Is every receiver gone?  seq_cst: the waiter's re-check after it
 * counted or registered itself. */
bool pc_bcast_no_receivers(pc_bcast_t *b);

/* Wait at most timeout_ns until no receiver is left (call without the
 * GIL): true once none is, false when the slice ends (or a signal). */
bool pc_bcast_wait_closed(pc_bcast_t *b, int64_t timeout_ns);

bool pc_bcast_lock_try(pc_bcast_t *b);
bool pc_bcast_lock_timed(pc_bcast_t *b, int64_t timeout_ns);
void pc_bcast_unlock(pc_bcast_t *b);
/* Under the lock: a receiver joins (returns its first position, the
 * tail) or leaves (returns the tail: it has read nothing from there on). */
uint64_t pc_bcast_join_locked(pc_bcast_t *b);
uint64_t pc_bcast_leave_locked(pc_bcast_t *b);
uint32_t pc_bcast_receiver_count(pc_bcast_t *b);

/* A new sender (a clone).  Returns false, adding none, if the channel is
 * already closed. */
bool pc_bcast_add_sender(pc_bcast_t *b);
/* A sender is gone.  Returns true if it was the last: the channel is now
 * closed and sleepers were woken (the caller wakes asyncio receivers). */
bool pc_bcast_drop_sender(pc_bcast_t *b);

/* Register to sleep (is_async: an asyncio task, which the Python layer
 * wakes) and return the futex word to pass to pc_bcast_wait. */
uint32_t pc_bcast_prepare(pc_bcast_t *b, bool is_async);
void pc_bcast_unprepare(pc_bcast_t *b, bool is_async);
/* Sleep while `signal` equals `seen`, at most timeout_ns (without the
 * GIL), for a thread registered with pc_bcast_prepare(b, false).
 * PC_BCAST_CHANGED (and unregistered), or PC_BCAST_PENDING on timeout or
 * signal (still registered: wait again or unprepare). */
int pc_bcast_wait(pc_bcast_t *b, uint32_t seen, int64_t timeout_ns);

#endif /* PC_BCAST_H */
