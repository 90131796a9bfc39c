/*
 * pc_chan.h - the channel layer: Rust's std::sync::mpsc in C.
 *
 * A channel joins many senders to one receiver over one of the lock-free
 * queues of the core:
 *   PC_CHAN_UNBOUNDED   pc_mpsc (Vyukov's node queue): a send never waits;
 *   PC_CHAN_BOUNDED     pc_ring with `cap` slots: a send waits while full;
 *   PC_CHAN_RENDEZVOUS  pc_ring with one retractable slot: a send waits
 *                       until the receiver has taken its value (Rust's
 *                       sync_channel(0)).
 *
 * Values are opaque `void *` (the Python layer passes owned PyObject
 * references); the channel calls `drop` on every value it discards (queued
 * when the receiver closes, or when the channel is freed).
 *
 * Waiting (pc_park.h, a futex on Linux):
 *   - The receiver announces that it is going to sleep (rx_futex =
 *     SLEEPING, seq_cst), re-checks the queue, and parks.  A sender, after
 *     its push (a seq_cst read-modify-write on the queue's producer end),
 *     loads rx_futex (seq_cst) and makes the wake-up system call only if
 *     the receiver sleeps, claiming the wake-up with an exchange so that
 *     only one sender pays for it.  Because the four accesses are seq_cst,
 *     either the receiver's re-check sees the push or the sender sees the
 *     announcement (the Dekker pattern), so no wake-up is lost, and a
 *     receiver that is awake costs senders one plain load.
 *   - Senders waiting for room (bounded) or for delivery (rendezvous)
 *     raise tx_flag (an exchange) and park on tx_epoch; the receiver, after
 *     a pop, exchanges tx_flag back to 0 and, if it was raised, bumps
 *     tx_epoch and wakes them all.  Both sides use read-modify-writes of
 *     the one flag, so one of them sees the other.  Again: no system call
 *     unless someone sleeps.
 *
 * Threads: any number of threads may send.  Receiving requires the claim
 * (pc_chan_rx_claim), a flag that makes a second concurrent receiver fail
 * instead of corrupting the single-consumer queue.  Nothing here relies on
 * the GIL.
 */
#ifndef PC_CHAN_H
#define PC_CHAN_H

#include "pc_config.h"
#include "pc_async.h"
#include "pc_mpsc.h"
#include "pc_park.h"
#include "pc_ring.h"

enum { PC_CHAN_UNBOUNDED = 0, PC_CHAN_BOUNDED = 1, PC_CHAN_RENDEZVOUS = 2 };

/* Results. */
enum {
    PC_CHAN_OK = 0,
    PC_CHAN_EMPTY = 1,        /* receive: nothing queued (yet) */
    PC_CHAN_FULL = 2,         /* send: no room */
    PC_CHAN_DISCONNECTED = 3, /* receive: empty and every sender gone */
    PC_CHAN_CLOSED = 4,       /* send: the receiver is closed */
    PC_CHAN_NOMEM = 5,        /* send: out of memory */
    PC_CHAN_READY = 6,        /* wait: something changed, re-check */
    PC_CHAN_TIMEDOUT = 7      /* wait: the slice elapsed */
};

/* rx_futex values. */
enum { PC_CHAN_AWAKE = 0, PC_CHAN_SLEEPING = 1 };

typedef void (*pc_chan_drop_fn)(void *value);

typedef struct pc_chan {
    pc_mpsc_t q;    /* PC_CHAN_UNBOUNDED (each end on its own line) */
    pc_ring_t ring; /* PC_CHAN_BOUNDED, PC_CHAN_RENDEZVOUS */

    /* Read-mostly: read by every send, written on clone/close only. */
    PC_ALIGNED(PC_CACHELINE) int kind;
    _Atomic uint32_t rx_closed;  /* the receiver is closed */
    _Atomic int64_t senders;     /* live senders */
    _Atomic int64_t refs;        /* senders + receiver handles alive */
    pc_chan_drop_fn drop;
    void *raw;                   /* the allocation (aligned by hand) */

    /* The receiver's parking word: written by the receiver going to sleep
     * and by the one sender that wakes it. */
    PC_ALIGNED(PC_CACHELINE) _Atomic uint32_t rx_futex;

    /* The receive claim: written by the receiving thread only (twice per
     * receive), so it stays in that core's cache. */
    PC_ALIGNED(PC_CACHELINE) _Atomic uint32_t rx_busy;

    /* Senders waiting for room or delivery. */
    PC_ALIGNED(PC_CACHELINE) _Atomic uint32_t tx_epoch;
    _Atomic uint32_t tx_flag;
    char pad_[PC_CACHELINE - 2 * sizeof(uint32_t)];

    /* -- asyncio waiters (pc_async.h; pyglue/pc_async_py.h): coroutines
     * awaiting a value, and senders awaiting room or delivery.  Per
     * channel, whatever the number of handles.  Notified by
     * pc_chan_wake_rx (one per push, all on disconnect and close) and
     * pc_chan_wake_tx (asyncio senders raise tx_flag as threads do). */
    PC_ALIGNED(PC_CACHELINE) pc_async_list_t async_rx;
    PC_ALIGNED(PC_CACHELINE) pc_async_list_t async_tx;
} pc_chan_t;

/*
 * A channel with one sender and one receiver (refs = 2, senders = 1), or
 * NULL if out of memory or `cap` is unusable (BOUNDED needs cap >= 1).
 */
pc_chan_t *pc_chan_new(int kind, uint64_t cap, pc_chan_drop_fn drop);

/* Drop one handle's reference; the last frees the channel, passing every
 * value still queued to `drop`. */
void pc_chan_unref(pc_chan_t *c);

/* A new sender (clone of a live one): senders++ and refs++. */
void pc_chan_sender_add(pc_chan_t *c);

/* A sender is gone (the caller still holds its ref until pc_chan_unref):
 * the last one disconnects the channel and wakes the receiver. */
void pc_chan_sender_drop(pc_chan_t *c);

/* Close the receiving end: later sends fail with PC_CHAN_CLOSED, waiting
 * senders are woken.  Does not drain (pc_chan_drain does, under the claim). */
void pc_chan_rx_close(pc_chan_t *c);

/* Drop every value queued (bounded, unbounded; rendezvous values belong to
 * their waiting senders, who retract them).  Caller holds the claim. */
void pc_chan_drain(pc_chan_t *c);

/* Wake the receiving thread if it is parked in pc_chan_recv_wait (which
 * then returns early), e.g. to stop a wait on its behalf.  No wait. */
void pc_chan_rx_interrupt(pc_chan_t *c);

/* Values queued (unbounded: O(n), caller holds the claim). */
uint64_t pc_chan_len(pc_chan_t *c);

/*
 * Call visit(value, arg) for every value queued, oldest first, until it
 * returns non-zero (which is returned).  For the garbage collector's
 * traversal: the caller must exclude pops and pushes for the duration (the
 * Python layer pushes and pops only with the GIL held, or in a
 * stop-the-world collection on free-threaded builds), so every node and
 * slot walked is stable.  A rendezvous slot's value is visited too: the
 * channel holds a reference to it until it is received or retracted.
 */
int pc_chan_foreach(pc_chan_t *c, int (*visit)(void *value, void *arg), void *arg);

/* Send many; *sent receives how many were queued before the result other
 * than PC_CHAN_OK (FULL, CLOSED, NOMEM) stopped it.  Unbounded: one
 * exchange for the whole batch. */
int pc_chan_trysend_many(pc_chan_t *c, void *const *values, size_t n, size_t *sent);

/* Pop up to max values into out[]; returns how many.  *status is PC_CHAN_OK
 * if any were popped, else PC_CHAN_EMPTY or PC_CHAN_DISCONNECTED.  One
 * wake-up check for the batch.  Caller holds the claim. */
size_t pc_chan_trypop_many(pc_chan_t *c, void **out, size_t max, int *status);

/*
 * Blocking calls (GIL released by the caller).  Each waits at most
 * timeout_ns and may return early (a wake-up, a signal): callers re-check.
 */

/* Wait until a value may be there, every sender is gone, or the receiver
 * is closed.  PC_CHAN_READY or PC_CHAN_TIMEDOUT.  Caller holds the claim. */
int pc_chan_recv_wait(pc_chan_t *c, int64_t timeout_ns);

/* pos < 0: wait until the ring has room.  pos >= 0 (rendezvous): wait until
 * the value pushed at pos has been taken.  Either way also returns when the
 * receiver closes.  PC_CHAN_READY or PC_CHAN_TIMEDOUT. */
int pc_chan_send_wait(pc_chan_t *c, int64_t pos, int64_t timeout_ns);

/* Rendezvous: true once the value pushed at pos has been taken. */
PC_INLINE bool pc_chan_delivered(pc_chan_t *c, uint64_t pos)
{
    /* acquire: pairs with the consumer's release store of head. */
    return atomic_load_explicit(&c->ring.head, memory_order_acquire) > pos;
}

/* Rendezvous: take back the value pushed at pos (see pc_ring_retract). */
PC_INLINE bool pc_chan_retract(pc_chan_t *c, uint64_t pos)
{
    if (!pc_ring_retract(&c->ring, pos))
        return false;
    (void)pc_async_notify(&c->async_tx, 1); /* the slot is free: an asyncio sender */
    return true;
}

/* ------------------------------------------------------ inline fast paths */

/* Wake the receiver if it announced that it sleeps. */
PC_INLINE void pc_chan_wake_rx(pc_chan_t *c)
{
    /* seq_cst: the sender's half of the Dekker pattern (see the top of this
     * file).  The exchange (relaxed: it orders nothing, it only elects one
     * waker) makes one sender pay for the system call. */
    if (PC_UNLIKELY(atomic_load_explicit(&c->rx_futex, memory_order_seq_cst) ==
                    PC_CHAN_SLEEPING) &&
        atomic_exchange_explicit(&c->rx_futex, PC_CHAN_AWAKE,
                                 memory_order_relaxed) == PC_CHAN_SLEEPING)
        pc_park_wake_one(&c->rx_futex, false);
    (void)pc_async_notify(&c->async_rx, 1); /* asyncio receivers (pc_async.h) */
}

/* Wake waiting senders, if any raised tx_flag.  Called after a pop. */
PC_INLINE void pc_chan_wake_tx(pc_chan_t *c)
{
    /*
     * acq_rel exchange: a read-modify-write on the flag the waiter raises
     * with its own read-modify-write (pc_chan_send_wait), so the two are
     * ordered: if ours comes second we read the flag and wake; if first,
     * our release (after the pop's stores) is acquired by the waiter's
     * exchange, and its re-check sees the pop.  (No fences: the argument
     * rests on one variable, which ThreadSanitizer also follows.)  It also
     * clears the flag, electing one waker.  Release on the epoch bump: a
     * woken sender sees the pop.
     */
    if (PC_UNLIKELY(atomic_exchange_explicit(&c->tx_flag, 0, memory_order_acq_rel) != 0)) {
        atomic_fetch_add_explicit(&c->tx_epoch, 1, memory_order_release);
        pc_park_wake_all(&c->tx_epoch, false);
        /* asyncio senders (pc_async.h): one; raise the flag again for the
         * others still registered (release: as the waiters' exchange). */
        if (pc_async_notify(&c->async_tx, 1) != 0)
            atomic_store_explicit(&c->tx_flag, 1, memory_order_release);
    }
}

/*
 * Queue `value` without waiting.  PC_CHAN_OK (rendezvous: *pos receives
 * the position to wait on), PC_CHAN_FULL, PC_CHAN_CLOSED or PC_CHAN_NOMEM.
 * Any thread.
 */
PC_INLINE int pc_chan_trysend(pc_chan_t *c, void *value, uint64_t *pos)
{
    /* relaxed: a hint; a send that races with the receiver's close may be
     * queued after the drain, and is then dropped when the channel is
     * freed (as a value sent just before the close would be). */
    if (PC_UNLIKELY(atomic_load_explicit(&c->rx_closed, memory_order_relaxed)))
        return PC_CHAN_CLOSED;
    if (c->kind == PC_CHAN_UNBOUNDED) {
        pc_mpsc_node_t *n = pc_mpsc_node_new(value);
        if (PC_UNLIKELY(n == NULL))
            return PC_CHAN_NOMEM;
        pc_mpsc_push(&c->q, n);
    } else if (pc_ring_trypush(&c->ring, value, pos) != PC_RING_OK) {
        return PC_CHAN_FULL;
    }
    pc_chan_wake_rx(c);
    return PC_CHAN_OK;
}

/*
 * Pop one value.  Caller holds the claim.  PC_CHAN_OK, PC_CHAN_EMPTY
 * (including "a push is in progress": wait with pc_chan_recv_wait), or
 * PC_CHAN_DISCONNECTED (empty, and every sender is gone).
 */
PC_INLINE int pc_chan_trypop(pc_chan_t *c, void **value)
{
    int r;
    if (c->kind == PC_CHAN_UNBOUNDED) {
        r = pc_mpsc_trypop(&c->q, value);
        if (PC_LIKELY(r == PC_MPSC_OK))
            return PC_CHAN_OK;
        if (r == PC_MPSC_INCONSISTENT)
            return PC_CHAN_EMPTY;
    } else {
        r = pc_ring_trypop(&c->ring, value);
        if (PC_LIKELY(r == PC_RING_OK)) {
            pc_chan_wake_tx(c);
            return PC_CHAN_OK;
        }
        if (r == PC_RING_INCONSISTENT)
            return PC_CHAN_EMPTY;
    }
    /* Empty.  acquire: a sender's last push happens before its release
     * decrement of `senders`; if we see 0, one more pop sees every push. */
    if (atomic_load_explicit(&c->senders, memory_order_acquire) != 0)
        return PC_CHAN_EMPTY;
    if (c->kind == PC_CHAN_UNBOUNDED)
        r = pc_mpsc_trypop(&c->q, value) == PC_MPSC_OK;
    else
        r = pc_ring_trypop(&c->ring, value) == PC_RING_OK;
    return r ? PC_CHAN_OK : PC_CHAN_DISCONNECTED;
}

/* Claim the receiving end; false if another thread is receiving. */
PC_INLINE bool pc_chan_rx_claim(pc_chan_t *c)
{
    uint32_t expected = 0;
    /* acquire: the previous claimant's pops (the consumer's private state,
     * q.tail and ring.head) happen before ours.  relaxed on failure. */
    return atomic_compare_exchange_strong_explicit(
        &c->rx_busy, &expected, 1, memory_order_acquire, memory_order_relaxed);
}

PC_INLINE void pc_chan_rx_unclaim(pc_chan_t *c)
{
    /* release: publishes our pops to the next claimant. */
    atomic_store_explicit(&c->rx_busy, 0, memory_order_release);
}

#endif /* PC_CHAN_H */
