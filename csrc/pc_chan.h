/*
 * pc_chan.h - the channel layer: crossbeam-channel's MPMC channels in C
 * (Rust's std::sync::mpsc API, with any number of receivers).
 *
 * A channel joins many senders to many receivers over one of the
 * lock-free queues of the core, its flavor (pc_chan_flavor.h, as
 * crossbeam-channel's flavors/; this layer reaches the queues only
 * through the flavors' functions):
 *   PC_CHAN_UNBOUNDED   list: pc_mpsc (Vyukov's node queue): a send never
 *                       waits;
 *   PC_CHAN_BOUNDED     array: pc_ring with `cap` slots: a send waits
 *                       while full;
 *   PC_CHAN_RENDEZVOUS  zero: pc_ring with one retractable slot: a send
 *                       waits until a receiver has taken its value
 *                       (Rust's sync_channel(0)).
 *
 * Values are opaque `void *` (the Python layer passes owned PyObject
 * references); the channel calls `drop` on every value it discards (queued
 * when the last receiver closes, or when the channel is freed).
 *
 * Many consumers.  Both queues have a single-consumer pop (pc_mpsc is
 * single-consumer by construction; pc_ring is Vyukov's bounded MPMC queue
 * specialised to one consumer).  Rather than generalise the consumer side
 * (a CAS on the ring's head; for the node queue, a different algorithm
 * altogether), consumers are serialised: every pop runs under the
 * consumer lock (pc_chan_rx_lock), a test-and-set lock held for the pop
 * only, never across a wait.  Why: with one receiver the pop stays what
 * it was (no read-modify-write on the consumer's end; the uncontended
 * lock is one exchange and one store on a line the receiver owns), and a
 * caller that already serialises its pops may skip the lock altogether
 * (the Python layer with a GIL: every pop runs with the GIL held and
 * never lets go of it midway, see pc_chan_py.h).  Receivers contend on
 * the lock only when several pop at the same instant, for a few
 * nanoseconds each.  Producers stay lock-free; each producer's values keep
 * their order in the queue, so every receiver sees them in that order.
 *
 * Disconnection, as crossbeam specifies: senders get PC_CHAN_CLOSED once
 * every receiver is gone (the last pc_chan_receiver_drop); receivers get
 * PC_CHAN_DISCONNECTED once every sender is gone and the queue is empty.
 *
 * Waiting (pc_park.h, a futex on Linux):
 *   - Receivers.  A receiver going to sleep counts itself in rx_sleepers
 *     (a seq_cst read-modify-write), reads rx_epoch, re-checks the queue
 *     (seq_cst loads), and parks on rx_epoch.  A sender, after its push (a
 *     seq_cst read-modify-write on the queue's producer end), loads
 *     rx_sleepers (seq_cst); only if someone sleeps does it bump rx_epoch
 *     (release) and wake one sleeper.  Either the re-check sees the push
 *     or the sender sees the count (the Dekker pattern); and a sleeper
 *     whose epoch read came after the bump has acquired the push (its
 *     re-check sees it), else its park finds the epoch changed or is
 *     woken: no wake-up is lost.  A receiver that is awake costs senders
 *     one plain load.  Several sleepers: each value wakes one (a futex
 *     wake of one); a woken receiver that leaves without taking a value
 *     while one is queued (a timeout, a signal, a select that took another
 *     operation) passes the wake-up on (pc_chan_rx_pass).  Disconnection
 *     and closing wake them all.
 *   - Selecting threads (pc_select.h) park on a word of their own; they
 *     register a pc_chan_waiter_t with each channel (a short list under
 *     w_lock, counted in rx_sleepers's high bits: PC_CHAN_SELECTOR), and
 *     a sender that sees them wakes every registered waiter too.
 *   - Senders waiting for room (bounded) or for delivery (rendezvous)
 *     raise tx_flag (an exchange) and park on tx_epoch; a receiver, after
 *     a pop, exchanges tx_flag back to 0 and, if it was raised, bumps
 *     tx_epoch and wakes them all (and the selecting threads registered
 *     for room).  Both sides use read-modify-writes of the one flag, so
 *     one of them sees the other.  Again: no system call unless someone
 *     sleeps.
 *
 * Threads: any number of threads may send and receive.  Nothing here
 * relies on the GIL.
 */
#ifndef PC_CHAN_H
#define PC_CHAN_H

#include "pc_config.h"
#include "pc_async.h"
#include "pc_chan_flavor.h"
#include "pc_park.h"

enum { PC_CHAN_UNBOUNDED = 0, PC_CHAN_BOUNDED = 1, PC_CHAN_RENDEZVOUS = 2 };

/* Results. */
enum {
    PC_CHAN_OK = 0,
    PC_CHAN_EMPTY = 1,        /* receive: nothing queued (yet) */
    PC_CHAN_FULL = 2,         /* send: no room */
    PC_CHAN_DISCONNECTED = 3, /* receive: empty and every sender gone */
    PC_CHAN_CLOSED = 4,       /* send: every receiver is closed */
    PC_CHAN_NOMEM = 5,        /* send: out of memory */
    PC_CHAN_READY = 6,        /* wait: something changed, re-check */
    PC_CHAN_TIMEDOUT = 7      /* wait: the slice elapsed */
};

typedef void (*pc_chan_drop_fn)(void *value);

/* rx_sleepers counts threads parked on rx_epoch in its low 16 bits and
 * selecting threads registered with the channel above them, so that a
 * sender wakes only what sleeps (a futex wake, the waiter list, or both). */
#define PC_CHAN_SELECTOR 0x10000u
#define PC_CHAN_SLEEPER_MASK 0xffffu

/*
 * A thread waiting on several channels at once (pc_select.h): registered
 * with each channel's list, woken by storing 1 into *word (release) and a
 * futex wake of it.  The lists are touched under the channel's w_lock.
 */
typedef struct pc_chan_waiter {
    _Atomic uint32_t *word;
    struct pc_chan_waiter *prev, *next;
} pc_chan_waiter_t;

typedef struct pc_chan {
    /* The flavor's queue: q for list, ring for array and zero.  Touched
     * only through pc_chan_flavor.h. */
    pc_mpsc_t q;    /* PC_CHAN_UNBOUNDED (each end on its own line) */
    pc_ring_t ring; /* PC_CHAN_BOUNDED, PC_CHAN_RENDEZVOUS */

    /* Read-mostly: read by every send, written on clone/close only. */
    PC_ALIGNED(PC_CACHELINE) int kind;
    _Atomic uint32_t rx_closed;  /* every receiver is closed */
    _Atomic int64_t senders;     /* live senders */
    _Atomic int64_t receivers;   /* live receivers */
    _Atomic int64_t refs;        /* sender and receiver handles alive */
    pc_chan_drop_fn drop;
    void *raw;                   /* the allocation (aligned by hand) */

    /* Receivers going to sleep: the count senders read after each push,
     * and the word sleepers park on. */
    PC_ALIGNED(PC_CACHELINE) _Atomic uint32_t rx_sleepers;
    _Atomic uint32_t rx_epoch;

    /* The consumer lock (held for a pop only) and the count of threads in
     * a blocking receive (a hint: sync_channel(0)'s try_send). */
    PC_ALIGNED(PC_CACHELINE) _Atomic uint32_t rx_lock;
    _Atomic uint32_t rx_waiting;

    /* Senders waiting for room or delivery. */
    PC_ALIGNED(PC_CACHELINE) _Atomic uint32_t tx_epoch;
    _Atomic uint32_t tx_flag;

    /* Selecting threads registered with this channel (pc_select.h). */
    PC_ALIGNED(PC_CACHELINE) _Atomic uint32_t w_lock;
    pc_chan_waiter_t *rx_waiters; /* waiting for a value */
    pc_chan_waiter_t *tx_waiters; /* waiting for room */
    char pad_[PC_CACHELINE - sizeof(uint32_t) - 2 * sizeof(void *)];

    /* -- asyncio waiters (pc_async.h; pyglue/pc_async_py.h): coroutines
     * awaiting a value, and senders awaiting room or delivery.  Per
     * channel, whatever the number of handles.  Notified by
     * pc_chan_wake_rx (one per push, all on disconnect and close) and
     * pc_chan_wake_tx (asyncio senders raise tx_flag as threads do). */
    PC_ALIGNED(PC_CACHELINE) pc_async_list_t async_rx;
    PC_ALIGNED(PC_CACHELINE) pc_async_list_t async_tx;
} pc_chan_t;

/*
 * A channel with one sender and one receiver (refs = 2, senders = 1,
 * receivers = 1), or NULL if out of memory or `cap` is unusable (BOUNDED
 * needs cap >= 1).
 */
pc_chan_t *pc_chan_new(int kind, uint64_t cap, pc_chan_drop_fn drop);

/* Drop one handle's reference; the last frees the channel, passing every
 * value still queued to `drop`. */
void pc_chan_unref(pc_chan_t *c);

/* A new sender (clone of a live one): senders++ and refs++. */
void pc_chan_sender_add(pc_chan_t *c);

/* A sender is gone (the caller still holds its ref until pc_chan_unref):
 * the last one disconnects the channel and wakes every receiver. */
void pc_chan_sender_drop(pc_chan_t *c);

/* A new receiver (clone of a live one): receivers++ and refs++. */
void pc_chan_receiver_add(pc_chan_t *c);

/* A receiver is gone (the caller still holds its ref): the last one closes
 * the channel (pc_chan_rx_close) and returns true: the caller then drains
 * it (pc_chan_drain, under the consumer lock).  Wakes every receiving
 * thread either way (one may be waiting on the handle just closed). */
bool pc_chan_receiver_drop(pc_chan_t *c);

/* Close the receiving side: later sends fail with PC_CHAN_CLOSED, waiting
 * senders are woken.  Does not drain. */
void pc_chan_rx_close(pc_chan_t *c);

/* Drop every value queued (bounded, unbounded; rendezvous values belong to
 * their waiting senders, who retract them).  Caller holds the consumer
 * lock (or serialises its pops otherwise). */
void pc_chan_drain(pc_chan_t *c);

/* Wake every receiving thread (parked in pc_chan_recv_wait or selecting),
 * which then returns early, e.g. to stop a wait on its behalf.  No wait. */
void pc_chan_rx_interrupt(pc_chan_t *c);

/* Values queued (unbounded: O(n), caller holds the consumer lock). */
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
 * wake-up check for the batch.  Caller holds the consumer lock. */
size_t pc_chan_trypop_many(pc_chan_t *c, void **out, size_t max, int *status);

/*
 * Blocking calls (GIL released by the caller).  Each waits at most
 * timeout_ns and may return early (a wake-up, a signal): callers re-check.
 */

/* Wait until a value may be there, every sender is gone, or the receivers
 * are closed.  PC_CHAN_READY or PC_CHAN_TIMEDOUT.  Any receiving thread,
 * without the consumer lock. */
int pc_chan_recv_wait(pc_chan_t *c, int64_t timeout_ns);

/* pos < 0: wait until the ring has room.  pos >= 0 (rendezvous): wait until
 * the value pushed at pos has been taken.  Either way also returns when the
 * receivers close.  PC_CHAN_READY or PC_CHAN_TIMEDOUT. */
int pc_chan_send_wait(pc_chan_t *c, int64_t pos, int64_t timeout_ns);

/* A receiving thread leaves without having taken a value (timeout,
 * signal, another operation of a select): if a value is queued and other
 * receivers sleep, wake one, so that the wake-up it may have consumed is
 * not lost.  No wait. */
void pc_chan_rx_pass(pc_chan_t *c);

/* For pc_select.h: is there something for a receiver (a value, perhaps
 * half pushed; no senders; closed)?  Room for a sender (or closed)?
 * seq_cst loads: the waiting side of the Dekker patterns above. */
bool pc_chan_rx_ready(pc_chan_t *c);
bool pc_chan_tx_ready(pc_chan_t *c, int64_t pos);

/* A value pushed (perhaps half) and not popped: the flavor's pending
 * check, seq_cst (the receiver's half of the Dekker pattern).  Any thread. */
bool pc_chan_rx_pending(pc_chan_t *c);

/* The queue's slots: 0 for unbounded (no bound), cap for bounded, 1 for
 * rendezvous (its hand-over slot).  Constant. */
uint64_t pc_chan_slots(pc_chan_t *c);

/* Register / unregister a selecting thread's waiter (pc_select.h).  The
 * rx registration counts in rx_sleepers (seq_cst read-modify-write: the
 * Dekker pattern); the tx one raises tx_flag.  Register, then re-check,
 * then park on *w->word. */
void pc_chan_rx_register(pc_chan_t *c, pc_chan_waiter_t *w);
void pc_chan_rx_unregister(pc_chan_t *c, pc_chan_waiter_t *w);
void pc_chan_tx_register(pc_chan_t *c, pc_chan_waiter_t *w);
void pc_chan_tx_unregister(pc_chan_t *c, pc_chan_waiter_t *w);

/* The slow halves of the wake-ups below (someone sleeps). */
void pc_chan_wake_rx_slow(pc_chan_t *c, bool all);
void pc_chan_wake_tx_slow(pc_chan_t *c);

/* Rendezvous: true once the value pushed at pos has been taken. */
PC_INLINE bool pc_chan_delivered(pc_chan_t *c, uint64_t pos)
{
    return pc_chan_zero_taken(&c->ring, pos);
}

/* Rendezvous: take back the value pushed at pos (see pc_ring_retract). */
PC_INLINE bool pc_chan_retract(pc_chan_t *c, uint64_t pos)
{
    if (!pc_chan_zero_retract(&c->ring, pos))
        return false;
    (void)pc_async_notify(&c->async_tx, 1); /* the slot is free: an asyncio sender */
    return true;
}

/* ------------------------------------------------------ inline fast paths */

/* Wake a receiver if one announced that it sleeps. */
PC_INLINE void pc_chan_wake_rx(pc_chan_t *c)
{
    /* seq_cst: the sender's half of the Dekker pattern (see the top of this
     * file). */
    if (PC_UNLIKELY(atomic_load_explicit(&c->rx_sleepers, memory_order_seq_cst) != 0))
        pc_chan_wake_rx_slow(c, false);
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
     * clears the flag, electing one waker.
     */
    if (PC_UNLIKELY(atomic_exchange_explicit(&c->tx_flag, 0, memory_order_acq_rel) != 0)) {
        pc_chan_wake_tx_slow(c);
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
    /* relaxed: a hint; a send that races with the last receiver's close
     * may be queued after the drain, and is then dropped when the channel
     * is freed (as a value sent just before the close would be). */
    if (PC_UNLIKELY(atomic_load_explicit(&c->rx_closed, memory_order_relaxed)))
        return PC_CHAN_CLOSED;
    /* One test of the kind, list or ring: zero's push is array's
     * (pc_chan_zero.h). */
    if (c->kind == PC_CHAN_UNBOUNDED) {
        if (PC_UNLIKELY(pc_chan_list_push(&c->q, value) != PC_CHAN_Q_OK))
            return PC_CHAN_NOMEM;
    } else if (pc_chan_array_push(&c->ring, value, pos) != PC_CHAN_Q_OK) {
        return PC_CHAN_FULL; /* array and zero alike */
    }
    pc_chan_wake_rx(c);
    return PC_CHAN_OK;
}

/*
 * Pop one value.  Caller holds the consumer lock.  PC_CHAN_OK,
 * PC_CHAN_EMPTY (including "a push is in progress": wait with
 * pc_chan_recv_wait), or PC_CHAN_DISCONNECTED (empty, and every sender is
 * gone).
 */
/* The flavor's pop (PC_CHAN_Q_*), without the wake-up of senders. */
PC_INLINE int pc_chan_q_pop(pc_chan_t *c, void **value)
{
    /* zero's pop is array's (pc_chan_zero.h). */
    return c->kind == PC_CHAN_UNBOUNDED ? pc_chan_list_pop(&c->q, value)
                                        : pc_chan_array_pop(&c->ring, value);
}

PC_INLINE int pc_chan_trypop(pc_chan_t *c, void **value)
{
    int r;
    if (c->kind == PC_CHAN_UNBOUNDED) {
        r = pc_chan_list_pop(&c->q, value);
        if (PC_LIKELY(r == PC_CHAN_Q_OK))
            return PC_CHAN_OK;
    } else {
        r = pc_chan_array_pop(&c->ring, value); /* array and zero alike */
        if (PC_LIKELY(r == PC_CHAN_Q_OK)) {
            pc_chan_wake_tx(c); /* a slot is free: room, or a delivery */
            return PC_CHAN_OK;
        }
    }
    if (r == PC_CHAN_Q_BUSY)
        return PC_CHAN_EMPTY;
    /* Empty.  acquire: a sender's last push happens before its release
     * decrement of `senders`; if we see 0, one more pop sees every push. */
    if (atomic_load_explicit(&c->senders, memory_order_acquire) != 0)
        return PC_CHAN_EMPTY;
    return pc_chan_q_pop(c, value) == PC_CHAN_Q_OK ? PC_CHAN_OK : PC_CHAN_DISCONNECTED;
}

/* Try to take the consumer lock without waiting. */
PC_INLINE bool pc_chan_rx_trylock(pc_chan_t *c)
{
    /* acquire: the previous holder's pops (the consumer's private state,
     * q.tail and ring.head) happen before ours. */
    return atomic_exchange_explicit(&c->rx_lock, 1, memory_order_acquire) == 0;
}

/* The slow half of pc_chan_rx_lock: another receiver is popping. */
void pc_chan_rx_lock_slow(pc_chan_t *c);

/* Take the consumer lock: held for pops only (a few nanoseconds), so a
 * receiver that finds it taken spins (pc_backoff), then yields. */
PC_INLINE void pc_chan_rx_lock(pc_chan_t *c)
{
    if (PC_UNLIKELY(!pc_chan_rx_trylock(c)))
        pc_chan_rx_lock_slow(c);
}

PC_INLINE void pc_chan_rx_unlock(pc_chan_t *c)
{
    /* release: publishes our pops to the next holder. */
    atomic_store_explicit(&c->rx_lock, 0, memory_order_release);
}

#endif /* PC_CHAN_H */
