/*
 * pc_chan.c - the channel layer (pc_chan.h): lifetime, batches, waiting.
 * The queues are reached only through their flavors (pc_chan_flavor.h).
 */
#include "pc_chan.h"

#include <stdlib.h>

#include "pc_backoff.h"
#include "pc_handoff.h"

pc_chan_t *pc_chan_new(int kind, uint64_t cap, pc_chan_drop_fn drop)
{
    pc_chan_t *c;
    bool ok;
    void *raw;

    if (kind < PC_CHAN_UNBOUNDED || kind > PC_CHAN_RENDEZVOUS ||
        (kind == PC_CHAN_BOUNDED && cap < 1))
        return NULL;
    /* Over-aligned struct: allocate with room to align by hand
     * (aligned_alloc is missing from MSVC's C library). */
    raw = calloc(1, sizeof *c + PC_CACHELINE);
    if (raw == NULL)
        return NULL;
    c = (pc_chan_t *)(((uintptr_t)raw + PC_CACHELINE - 1) &
                      ~(uintptr_t)(PC_CACHELINE - 1));
    c->raw = raw;
    c->kind = kind;
    c->drop = drop;
    if (kind == PC_CHAN_UNBOUNDED)
        ok = pc_chan_list_init(&c->q);
    else if (kind == PC_CHAN_BOUNDED)
        ok = pc_chan_array_init(&c->ring, cap);
    else
        ok = pc_chan_zero_init(&c->ring);
    if (!ok) {
        free(raw);
        return NULL;
    }
    /* relaxed: the channel is published to other threads by whatever hands
     * them its handles (thread start, a queue), which orders this. */
    atomic_store_explicit(&c->rx_closed, 0, memory_order_relaxed);
    atomic_store_explicit(&c->senders, 1, memory_order_relaxed);
    atomic_store_explicit(&c->receivers, 1, memory_order_relaxed);
    atomic_store_explicit(&c->refs, 2, memory_order_relaxed);
    atomic_store_explicit(&c->rx_sleepers, 0, memory_order_relaxed);
    atomic_store_explicit(&c->rx_epoch, 0, memory_order_relaxed);
    atomic_store_explicit(&c->rx_lock, 0, memory_order_relaxed);
    atomic_store_explicit(&c->rx_waiting, 0, memory_order_relaxed);
    atomic_store_explicit(&c->tx_epoch, 0, memory_order_relaxed);
    atomic_store_explicit(&c->tx_flag, 0, memory_order_relaxed);
    pc_async_list_init(&c->async_rx);
    pc_async_list_init(&c->async_tx);
    atomic_store_explicit(&c->w_lock, 0, memory_order_relaxed);
    c->rx_waiters = NULL;
    c->tx_waiters = NULL;
    return c;
}

void pc_chan_unref(pc_chan_t *c)
{
    /* acq_rel: release our uses of the channel; the last one acquires
     * everyone's before freeing (the usual reference-count pattern). */
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (c->kind == PC_CHAN_UNBOUNDED)
        pc_chan_list_destroy(&c->q, c->drop);
    else if (c->kind == PC_CHAN_BOUNDED)
        pc_chan_array_destroy(&c->ring, c->drop);
    else
        pc_chan_zero_destroy(&c->ring, c->drop);
    free(c->raw);
}

void pc_chan_sender_add(pc_chan_t *c)
{
    /* relaxed: the caller holds a live sender, so neither count can reach
     * zero meanwhile; the new handle is published by whoever passes it on. */
    atomic_fetch_add_explicit(&c->senders, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

void pc_chan_sender_drop(pc_chan_t *c)
{
    /* seq_cst: release, so the receiver that sees 0 sees our pushes; and the
     * sender's half of the Dekker pattern with receivers going to sleep, as
     * for a push.  The last sender wakes every receiver: all of them are to
     * see the disconnection. */
    if (atomic_fetch_sub_explicit(&c->senders, 1, memory_order_seq_cst) == 1) {
        if (atomic_load_explicit(&c->rx_sleepers, memory_order_seq_cst) != 0)
            pc_chan_wake_rx_slow(c, true);
        (void)pc_async_notify(&c->async_rx, PC_ASYNC_ALL); /* disconnected */
    }
}

void pc_chan_receiver_add(pc_chan_t *c)
{
    /* relaxed: as in pc_chan_sender_add. */
    atomic_fetch_add_explicit(&c->receivers, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

bool pc_chan_receiver_drop(pc_chan_t *c)
{
    /* acq_rel: the last receiver to go sees the others' pops before it
     * drains. */
    bool last = atomic_fetch_sub_explicit(&c->receivers, 1, memory_order_acq_rel) == 1;
    if (last)
        pc_chan_rx_close(c);
    else {
        pc_chan_rx_interrupt(c); /* threads waiting on the handle closed */
        /* and coroutines (they look again: those of the closed handle
         * raise, the others arm again) */
        (void)pc_async_notify(&c->async_rx, PC_ASYNC_ALL);
    }
    return last;
}

void pc_chan_rx_close(pc_chan_t *c)
{
    /* seq_cst store, then the epoch bump (release) and a wake-up for all:
     * a waiting sender read the epoch before re-checking rx_closed, so
     * either it sees the close or its park finds the epoch changed. */
    atomic_store_explicit(&c->rx_closed, 1, memory_order_seq_cst);
    pc_chan_wake_tx_slow(c);
    /* Threads of ours may be parked in pc_chan_recv_wait. */
    pc_chan_rx_interrupt(c);
    (void)pc_async_notify(&c->async_rx, PC_ASYNC_ALL); /* asyncio waiters */
    (void)pc_async_notify(&c->async_tx, PC_ASYNC_ALL);
}

void pc_chan_rx_interrupt(pc_chan_t *c)
{
    /* seq_cst: as a sender's load after its push (the close or handle
     * state the caller changed is its "push"). */
    if (atomic_load_explicit(&c->rx_sleepers, memory_order_seq_cst) != 0)
        pc_chan_wake_rx_slow(c, true);
}

/* The waiter lists' lock: held for a few pointer moves, or for the wake-up
 * calls of the waiters registered (rare: someone sleeps). */
static void pc_chan_w_lock(pc_chan_t *c)
{
    pc_backoff_t backoff;
    pc_backoff_init(&backoff);
    /* acquire: the previous holder's list changes. */
    while (atomic_exchange_explicit(&c->w_lock, 1, memory_order_acquire) != 0)
        pc_backoff_snooze(&backoff);
}

static void pc_chan_w_unlock(pc_chan_t *c)
{
    /* release: publishes our list changes. */
    atomic_store_explicit(&c->w_lock, 0, memory_order_release);
}

static void pc_chan_wake_list(pc_chan_waiter_t *w)
{
    for (; w != NULL; w = w->next) {
        /* release: the waiter that reads 1 sees what made us wake it. */
        atomic_store_explicit(w->word, 1, memory_order_release);
        pc_park_wake_one(w->word, false);
    }
}

void pc_chan_wake_rx_slow(pc_chan_t *c, bool all)
{
    /* seq_cst: as the caller's load (the Dekker pattern); again, to see
     * who sleeps: threads parked on rx_epoch, selecting threads, or both. */
    uint32_t sleepers = atomic_load_explicit(&c->rx_sleepers, memory_order_seq_cst);
    if ((sleepers & PC_CHAN_SLEEPER_MASK) != 0 || all) {
        /* release: a sleeper that reads the new epoch sees our push. */
        atomic_fetch_add_explicit(&c->rx_epoch, 1, memory_order_release);
        if (all)
            pc_park_wake_all(&c->rx_epoch, false);
        else
            pc_park_wake_one(&c->rx_epoch, false);
    }
    if (sleepers >= PC_CHAN_SELECTOR) {
        pc_chan_w_lock(c);
        pc_chan_wake_list(c->rx_waiters);
        pc_chan_w_unlock(c);
    }
}

void pc_chan_wake_tx_slow(pc_chan_t *c)
{
    /* release on the epoch bump: a woken sender sees the pop. */
    atomic_fetch_add_explicit(&c->tx_epoch, 1, memory_order_release);
    pc_park_wake_all(&c->tx_epoch, false);
    pc_chan_w_lock(c);
    pc_chan_wake_list(c->tx_waiters);
    pc_chan_w_unlock(c);
}

/* Link w at the head of *list, under w_lock. */
static void pc_chan_link(pc_chan_t *c, pc_chan_waiter_t **list, pc_chan_waiter_t *w)
{
    pc_chan_w_lock(c);
    w->prev = NULL;
    w->next = *list;
    if (*list != NULL)
        (*list)->prev = w;
    *list = w;
    pc_chan_w_unlock(c);
}

/* Unlink w from *list, under w_lock (after which no waker touches it). */
static void pc_chan_unlink(pc_chan_t *c, pc_chan_waiter_t **list, pc_chan_waiter_t *w)
{
    pc_chan_w_lock(c);
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        *list = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    pc_chan_w_unlock(c);
}

void pc_chan_rx_register(pc_chan_t *c, pc_chan_waiter_t *w)
{
    pc_chan_link(c, &c->rx_waiters, w);
    /* seq_cst: the sleeper's half of the Dekker pattern (the top of
     * pc_chan.h); a sender that sees the count takes w_lock after our
     * link, and wakes us. */
    atomic_fetch_add_explicit(&c->rx_sleepers, PC_CHAN_SELECTOR, memory_order_seq_cst);
}

void pc_chan_rx_unregister(pc_chan_t *c, pc_chan_waiter_t *w)
{
    /* relaxed: the count is only a hint to senders from here on. */
    atomic_fetch_sub_explicit(&c->rx_sleepers, PC_CHAN_SELECTOR, memory_order_relaxed);
    pc_chan_unlink(c, &c->rx_waiters, w);
}

void pc_chan_tx_register(pc_chan_t *c, pc_chan_waiter_t *w)
{
    pc_chan_link(c, &c->tx_waiters, w);
    /* acq_rel: as in pc_chan_send_wait (the flag's argument). */
    atomic_exchange_explicit(&c->tx_flag, 1, memory_order_acq_rel);
}

void pc_chan_tx_unregister(pc_chan_t *c, pc_chan_waiter_t *w)
{
    pc_chan_unlink(c, &c->tx_waiters, w);
}

void pc_chan_rx_lock_slow(pc_chan_t *c)
{
    pc_backoff_t backoff;
    pc_backoff_init(&backoff);
    for (;;) {
        /* relaxed: wait for it to look free before the exchange. */
        while (atomic_load_explicit(&c->rx_lock, memory_order_relaxed) != 0)
            pc_backoff_snooze(&backoff);
        if (pc_chan_rx_trylock(c))
            return;
    }
}

void pc_chan_drain(pc_chan_t *c)
{
    void *v;
    if (c->kind == PC_CHAN_RENDEZVOUS)
        return; /* each value's sender is waiting and retracts it */
    if (c->kind == PC_CHAN_UNBOUNDED) {
        while (pc_chan_list_pop(&c->q, &v) == PC_CHAN_Q_OK)
            if (c->drop != NULL)
                c->drop(v);
    } else {
        while (pc_chan_array_pop(&c->ring, &v) == PC_CHAN_Q_OK) {
            pc_chan_wake_tx(c);
            if (c->drop != NULL)
                c->drop(v);
        }
    }
}

uint64_t pc_chan_len(pc_chan_t *c)
{
    switch (c->kind) {
    case PC_CHAN_UNBOUNDED:
        return pc_chan_list_len(&c->q);
    case PC_CHAN_BOUNDED:
        return pc_chan_array_len(&c->ring);
    default:
        return pc_chan_zero_len(&c->ring);
    }
}

uint64_t pc_chan_slots(pc_chan_t *c)
{
    switch (c->kind) {
    case PC_CHAN_UNBOUNDED:
        return 0;
    case PC_CHAN_BOUNDED:
        return pc_chan_array_cap(&c->ring);
    default:
        return 1;
    }
}

int pc_chan_foreach(pc_chan_t *c, int (*visit)(void *value, void *arg), void *arg)
{
    switch (c->kind) {
    case PC_CHAN_UNBOUNDED:
        return pc_chan_list_foreach(&c->q, visit, arg);
    case PC_CHAN_BOUNDED:
        return pc_chan_array_foreach(&c->ring, visit, arg);
    default:
        return pc_chan_zero_foreach(&c->ring, visit, arg);
    }
}

int pc_chan_trysend_many(pc_chan_t *c, void *const *values, size_t n, size_t *sent)
{
    *sent = 0;
    if (n == 0)
        return PC_CHAN_OK;
    /* relaxed: a hint, as in pc_chan_trysend. */
    if (atomic_load_explicit(&c->rx_closed, memory_order_relaxed))
        return PC_CHAN_CLOSED;
    switch (c->kind) {
    case PC_CHAN_UNBOUNDED:
        /* The whole batch with one exchange, or nothing. */
        if (pc_chan_list_push_many(&c->q, values, n) != PC_CHAN_Q_OK)
            return PC_CHAN_NOMEM;
        *sent = n;
        break;
    case PC_CHAN_BOUNDED:
        *sent = pc_chan_array_push_many(&c->ring, values, n);
        if (*sent == 0)
            return PC_CHAN_FULL;
        break;
    default:
        return PC_CHAN_FULL; /* rendezvous: each value needs its own hand-over */
    }
    pc_chan_wake_rx(c);
    return *sent == n ? PC_CHAN_OK : PC_CHAN_FULL;
}

size_t pc_chan_trypop_many(pc_chan_t *c, void **out, size_t max, int *status)
{
    size_t n = 0;
    int r = PC_CHAN_OK;
    if (c->kind == PC_CHAN_UNBOUNDED) {
        n = pc_chan_list_pop_many(&c->q, out, max);
    } else {
        /* The ring without pc_chan_trypop's per-value wake-up check: one
         * check (one read-modify-write of tx_flag) for the batch. */
        n = c->kind == PC_CHAN_BOUNDED ? pc_chan_array_pop_many(&c->ring, out, max)
                                       : pc_chan_zero_pop_many(&c->ring, out, max);
        if (n > 0)
            pc_chan_wake_tx(c);
    }
    if (n < max)
        r = PC_CHAN_EMPTY;
    if (n == 0 && max > 0) {
        /* Let pc_chan_trypop decide between empty and disconnected. */
        r = pc_chan_trypop(c, &out[0]);
        if (r == PC_CHAN_OK)
            n = 1;
    }
    *status = n > 0 ? PC_CHAN_OK : r;
    return n;
}

/* ---------------------------------------------------------------- waiting */

/* Is there something for the receiver: a value (maybe half pushed), no
 * senders, or a close?  seq_cst loads: the receiver's half of the Dekker
 * pattern. */
bool pc_chan_rx_pending(pc_chan_t *c)
{
    switch (c->kind) {
    case PC_CHAN_UNBOUNDED:
        return pc_chan_list_pending(&c->q);
    case PC_CHAN_BOUNDED:
        return pc_chan_array_pending(&c->ring);
    default:
        return pc_chan_zero_pending(&c->ring);
    }
}

bool pc_chan_rx_ready(pc_chan_t *c)
{
    return pc_chan_rx_pending(c) ||
           atomic_load_explicit(&c->senders, memory_order_seq_cst) == 0 ||
           atomic_load_explicit(&c->rx_closed, memory_order_seq_cst) != 0;
}

/* Is a value visible to pc_chan_trypop (not just half pushed)?  Any
 * receiving thread (see the flavors' _published: the list cannot tell, and
 * says yes; the caller's pop then says "empty" a few times while the
 * producer links its node, never with the GIL, which the producer holds
 * across its push). */
static bool pc_chan_rx_visible(pc_chan_t *c)
{
    switch (c->kind) {
    case PC_CHAN_UNBOUNDED:
        return pc_chan_list_published(&c->q);
    case PC_CHAN_BOUNDED:
        return pc_chan_array_published(&c->ring);
    default:
        return pc_chan_zero_published(&c->ring);
    }
}

static int64_t pc_chan_left(int64_t deadline)
{
    int64_t left = deadline - pc_now_ns();
    return left > 0 ? left : 0;
}

int pc_chan_recv_wait(pc_chan_t *c, int64_t timeout_ns)
{
    int64_t deadline = pc_now_ns() + (timeout_ns > 0 ? timeout_ns : 0);
    pc_backoff_t backoff;

    /* Spin, then yield, for a few microseconds before parking: the sender
     * is often about to push (it may only need the GIL we just released),
     * and a futex sleep and wake-up cost tens of microseconds. */
    pc_backoff_init(&backoff);
    while (!pc_chan_rx_ready(c) && !pc_backoff_is_completed(&backoff) &&
           pc_now_ns() < deadline)
        pc_backoff_snooze(&backoff);
    /* With hand-off on, a longer window (pc_handoff.h). */
    PC_HANDOFF_SPIN_UNTIL(pc_chan_rx_ready(c), deadline);
    if (!pc_chan_rx_ready(c)) {
        uint32_t epoch;
        /* Count ourselves, read the epoch, re-check, park.  seq_cst
         * increment: see the top of pc_chan.h.  acquire on the epoch: if
         * we read a sender's bump, its push is visible to the re-check. */
        atomic_fetch_add_explicit(&c->rx_sleepers, 1, memory_order_seq_cst);
        epoch = atomic_load_explicit(&c->rx_epoch, memory_order_acquire);
        if (!pc_chan_rx_ready(c)) {
            int64_t left = pc_chan_left(deadline);
            if (left > 0)
                pc_park_wait(&c->rx_epoch, epoch, left, false);
        }
        /* relaxed: from here on the count is only a hint to senders (one
         * that still sees us pays a spurious wake-up). */
        atomic_fetch_sub_explicit(&c->rx_sleepers, 1, memory_order_relaxed);
        if (!pc_chan_rx_ready(c))
            return pc_chan_left(deadline) > 0 ? PC_CHAN_READY : PC_CHAN_TIMEDOUT;
    }
    /* Something is there.  A producer may be between its claim and its
     * publication (a few instructions, unless it was preempted): wait for
     * the value to become visible, spinning, then yielding.  Only while a
     * value is pending: another receiver may take it meanwhile. */
    pc_backoff_init(&backoff);
    while (!pc_chan_rx_visible(c) && pc_chan_rx_pending(c) &&
           atomic_load_explicit(&c->senders, memory_order_relaxed) != 0 &&
           atomic_load_explicit(&c->rx_closed, memory_order_relaxed) == 0) {
        if (pc_chan_left(deadline) == 0)
            return PC_CHAN_TIMEDOUT;
        pc_backoff_snooze(&backoff);
    }
    return PC_CHAN_READY;
}

void pc_chan_rx_pass(pc_chan_t *c)
{
    /* seq_cst: as a sender after its push (the value still queued is the
     * push we pass on). */
    if (pc_chan_rx_pending(c) &&
        atomic_load_explicit(&c->rx_sleepers, memory_order_seq_cst) != 0)
        pc_chan_wake_rx_slow(c, false);
}

/* Sender's wait condition. */
bool pc_chan_tx_ready(pc_chan_t *c, int64_t pos)
{
    if (atomic_load_explicit(&c->rx_closed, memory_order_relaxed) != 0)
        return true;
    if (pos >= 0)
        return pc_chan_delivered(c, (uint64_t)pos);
    switch (c->kind) {
    case PC_CHAN_UNBOUNDED:
        return true; /* never full */
    case PC_CHAN_BOUNDED:
        return pc_chan_array_has_room(&c->ring);
    default:
        return pc_chan_zero_has_room(&c->ring);
    }
}

int pc_chan_send_wait(pc_chan_t *c, int64_t pos, int64_t timeout_ns)
{
    int64_t deadline = pc_now_ns() + (timeout_ns > 0 ? timeout_ns : 0);
    uint32_t epoch;
    int64_t left;
    pc_backoff_t backoff;

    if (c->kind == PC_CHAN_UNBOUNDED)
        return PC_CHAN_READY;
    /* Spin, then yield, before parking, as in pc_chan_recv_wait. */
    pc_backoff_init(&backoff);
    while (!pc_chan_tx_ready(c, pos) && !pc_backoff_is_completed(&backoff) &&
           pc_now_ns() < deadline)
        pc_backoff_snooze(&backoff);
    PC_HANDOFF_SPIN_UNTIL(pc_chan_tx_ready(c, pos), deadline);
    if (pc_chan_tx_ready(c, pos))
        return PC_CHAN_READY;
    /* acquire: if a receiver's bump is what we read, we see its pop. */
    epoch = atomic_load_explicit(&c->tx_epoch, memory_order_acquire);
    /* Raise the flag, then re-check.  acq_rel exchange: pairs with the
     * receiver's exchange in pc_chan_wake_tx (see there): either it sees
     * our flag, or we acquire its pop. */
    atomic_exchange_explicit(&c->tx_flag, 1, memory_order_acq_rel);
    if (pc_chan_tx_ready(c, pos))
        return PC_CHAN_READY;
    left = pc_chan_left(deadline);
    if (left == 0)
        return PC_CHAN_TIMEDOUT;
    pc_park_wait(&c->tx_epoch, epoch, left, false);
    if (pc_chan_tx_ready(c, pos))
        return PC_CHAN_READY;
    return pc_chan_left(deadline) > 0 ? PC_CHAN_READY : PC_CHAN_TIMEDOUT;
}
