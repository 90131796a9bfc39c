/*
 * pc_async.h - waking asyncio coroutines without a thread per waiter.
 *
 * Two pieces, neither of which touches Python objects (the glue,
 * pyglue/pc_async_py.h, does that with the GIL held):
 *
 *   pc_async_list_t  a primitive's registry of waiting coroutines (one for
 *                    receivers, one for senders, per channel: not per
 *                    handle, so that several receivers of one channel share
 *                    it).  FIFO, under a small spin lock held for a few
 *                    pointer moves; `waiting` counts the records in it and
 *                    is what a notifier checks, with one load, after it
 *                    made something available.
 *   pc_async_hub_t   one per event loop: a Treiber stack of fired records
 *                    (R. K. Treiber, "Systems Programming: Coping with
 *                    Parallelism", IBM RJ 5118, 1986) and a file descriptor
 *                    the loop watches (loop.add_reader): an eventfd on
 *                    Linux, the write end of a pipe elsewhere on POSIX, a
 *                    socket on Windows.  A notifier moves a record from
 *                    the list onto its loop's stack and writes the fd once
 *                    (only if `signalled` was clear); the loop's reader
 *                    callback clears `signalled`, takes the whole stack and
 *                    resolves each record's future.  Writing an fd needs no
 *                    GIL, so any thread (or a C thread of ours) can wake a
 *                    loop, and a loop woken for 10,000 coroutines pays one
 *                    system call.
 *
 * The Dekker pattern, as for the channel's threads (pc_chan.h): a
 * coroutine registers (waiting++, seq_cst, then a seq_cst fence) and then
 * re-checks its condition; a notifier changes the state (a seq_cst
 * read-modify-write on the queue) and then loads `waiting` (seq_cst).  One
 * of the two sees the other, so no wake-up is lost, and while no coroutine
 * waits a notifier pays one load of a line nobody writes.
 *
 * Lifetime: a record is owned by the glue (a Python object); while it is
 * in a list or on a hub's stack, that holder owns one reference to it,
 * which moves from the list to the stack without a count change, so a
 * notifier never frees anything and never needs the GIL.  The reference
 * is dropped by whoever takes the record out with the GIL: the loop's
 * drain, or the coroutine's disarm.
 */
#ifndef PC_ASYNC_H
#define PC_ASYNC_H

#include "pc_config.h"
#include "pc_spin.h"

/* Wake every record (pc_async_list_wake's n). */
#define PC_ASYNC_ALL UINT32_MAX

/* The kinds of fd a hub writes. */
enum { PC_ASYNC_FD_EVENTFD = 0, PC_ASYNC_FD_PIPE = 1, PC_ASYNC_FD_SOCKET = 2 };

/* Embedded in a Python object (pyglue/pc_async_py.h), which promises 16
 * bytes of alignment only: no PC_ALIGNED here (the fields are written once
 * per wake-up, not per value, so their sharing of a line costs little). */
typedef struct pc_async_hub {
    /* Fired records, newest first (written by notifiers, taken by the
     * loop's drain). */
    _Atomic(struct pc_async_rec *) ready;
    _Atomic uint32_t signalled; /* the fd was written since the last drain */
    /* Set once, before the hub is shared. */
    int kind;
    intptr_t wfd; /* eventfd, pipe write end, or SOCKET */
} pc_async_hub_t;

typedef struct pc_async_rec {
    struct pc_async_rec *prev, *next; /* in the list (its lock) */
    struct pc_async_rec *ready_next;  /* on the hub's stack */
    struct pc_async_list *list;       /* registered in (its lock); NULL once out */
    pc_async_hub_t *hub;              /* the loop to wake; set before arming */
    void *owner;                      /* the glue's object */
} pc_async_rec_t;

typedef struct pc_async_list {
    _Atomic uint32_t waiting; /* records in the list: the notifier's check */
    pc_spin_t lock;
    pc_async_rec_t *head, *tail;
} pc_async_list_t;

void pc_async_list_init(pc_async_list_t *l);

/* Register rec (not in any list) at the tail; a seq_cst fence follows, so
 * the caller's re-check of its condition comes after (Dekker, above). */
void pc_async_list_add(pc_async_list_t *l, pc_async_rec_t *rec);

/* Take rec out if it is still registered: true (the list's reference is
 * the caller's again), false if a notifier fired it (its reference went
 * to the hub) or it was never added. */
bool pc_async_list_remove(pc_async_list_t *l, pc_async_rec_t *rec);

/* Fire up to n records, oldest first: each goes onto its hub's stack and
 * the hub's fd is written if it was not already.  Returns how many stay
 * registered.  Any thread, no GIL. */
uint32_t pc_async_list_wake(pc_async_list_t *l, uint32_t n);

/* The notifier's check: fire up to n if any record is registered.  One
 * seq_cst load when none is (the notifier's half of the Dekker pattern:
 * the caller's state change before it is a seq_cst read-modify-write).
 * Returns how many stay registered. */
PC_INLINE uint32_t pc_async_notify(pc_async_list_t *l, uint32_t n)
{
    if (PC_LIKELY(atomic_load_explicit(&l->waiting, memory_order_seq_cst) == 0))
        return 0;
    return pc_async_list_wake(l, n);
}

/* Records registered now (relaxed: a snapshot). */
PC_INLINE uint32_t pc_async_waiting(pc_async_list_t *l)
{
    return atomic_load_explicit(&l->waiting, memory_order_relaxed);
}

/*
 * A list made on first use, for the primitives that coroutines wait on
 * only now and then (Mutex, Semaphore, Condvar, Barrier, RwLock): the
 * primitive keeps one pointer, NULL until a coroutine first waits, so a
 * primitive no coroutine ever waits on costs a pointer and its releases
 * one load.  Made and published by pc_async_list_get (NULL: no memory),
 * freed with the primitive by pc_async_list_free (no waiter can be
 * registered then: each holds a reference to the primitive's object).
 */
typedef _Atomic(pc_async_list_t *) pc_async_slot_t;

pc_async_list_t *pc_async_list_get(pc_async_slot_t *slot);
void pc_async_list_free(pc_async_slot_t *slot);

/* The list if it was made, else NULL.  acquire: pairs with the publishing
 * CAS of pc_async_list_get, so the list's fields are seen initialised. */
PC_INLINE pc_async_list_t *pc_async_list_peek(pc_async_slot_t *slot)
{
    return atomic_load_explicit(slot, memory_order_acquire);
}

/* A releaser's notification (from its slow path, after the state change
 * that lets a coroutine go on): fire up to n if a list was made. */
PC_INLINE void pc_async_slot_notify(pc_async_slot_t *slot, uint32_t n)
{
    pc_async_list_t *l = pc_async_list_peek(slot);
    if (l != NULL)
        (void)pc_async_notify(l, n);
}

/* Records registered in the slot's list (0 if none was made). */
PC_INLINE uint32_t pc_async_slot_waiting(pc_async_slot_t *slot)
{
    pc_async_list_t *l = pc_async_list_peek(slot);
    return l != NULL ? pc_async_waiting(l) : 0;
}

void pc_async_hub_init(pc_async_hub_t *h, int kind, intptr_t wfd);

/* Push a fired record onto the hub and write its fd if needed. */
void pc_async_hub_fire(pc_async_hub_t *h, pc_async_rec_t *rec);

/* The loop's side: clear `signalled` (before the take, so that a record
 * pushed after it writes the fd again) and take every fired record,
 * oldest first (a NULL-terminated chain through ready_next). */
pc_async_rec_t *pc_async_hub_take(pc_async_hub_t *h);

/* Empty the hub's fd (the read end, non-blocking), for the loop's reader
 * callback.  kind as for the hub. */
void pc_async_fd_drain(int kind, intptr_t rfd);

/* Close a hub's descriptor (a SOCKET on Windows); negative: nothing. */
void pc_async_fd_close(intptr_t fd);

#endif /* PC_ASYNC_H */
