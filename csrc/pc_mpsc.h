/*
 * pc_mpsc.h - an unbounded lock-free multi-producer single-consumer queue.
 *
 * The algorithm is Dmitry Vyukov's node-based MPSC queue ("Non-intrusive
 * MPSC node-based queue", 1024cores.net, 2010), the queue behind Rust's
 * std::sync::mpsc before 1.67 and many actor runtimes:
 *
 *   - The queue is a singly linked list with a dummy node.  `head` is the
 *     producers' end (the last node pushed), `tail` the consumer's end (the
 *     current dummy, whose successor is the oldest value).
 *   - A push is ONE atomic exchange on `head` (wait-free: no CAS loop),
 *     followed by a release store linking the previous node to the new one.
 *   - A pop reads `tail->next`; the consumer's fast path has no atomic
 *     read-modify-write at all, only an acquire load (a plain load on x86).
 *     The node popped becomes the new dummy; the old dummy is freed.
 *
 * Between a producer's exchange and its link the list is briefly broken:
 * `head` has moved but `tail->next` is not yet set.  pc_mpsc_trypop then
 * reports PC_MPSC_INCONSISTENT (a value is coming, not yet visible) rather
 * than blocking; the caller backs off and retries.  The queue is therefore
 * not linearizable in the strict sense while a producer is preempted in
 * that window (Vyukov's own caveat); no value is ever lost or duplicated.
 *
 * A chain of nodes linked privately can be pushed with the same single
 * exchange (pc_mpsc_push_chain), which is how send_many costs one atomic
 * operation per batch.
 *
 * One consumer at a time: several consumers must serialise their pops (the
 * channel layer's consumer lock, pc_chan.h).  `tail` is atomic (relaxed,
 * plain moves on x86) only so that threads waiting to consume may compare
 * it with `head` (pc_mpsc_has_pending) while the current consumer pops;
 * nobody but the consumer dereferences it.
 *
 * Values are opaque `void *`; the queue never looks at them.
 */
#ifndef PC_MPSC_H
#define PC_MPSC_H

#include "pc_config.h"

typedef struct pc_mpsc_node {
    _Atomic(struct pc_mpsc_node *) next;
    void *value;
} pc_mpsc_node_t;

/*
 * Node memory.  One malloc and one cross-thread free per value would cost
 * more than the queue itself, so nodes come from 4 KiB slabs: each
 * producing thread carves nodes out of its own slab (thread-local, no
 * atomics), and a slab is freed when its last node is.  The consumer does
 * not decrement a slab's count per node: it counts consecutive nodes of one
 * slab privately and settles the count with one atomic subtraction when
 * the slab changes or the queue runs empty (with one producer, once per
 * 248 values).  Memory held beyond the values queued: one slab per
 * producing thread and one per queue.  A thread's slab is settled when
 * the thread exits.
 */
#define PC_MPSC_SLAB_BYTES 4096

typedef struct pc_mpsc_slab pc_mpsc_slab_t;

typedef struct pc_mpsc {
    /* Producers' end: exchanged by every push.  Its own cache line (see
     * PC_CACHELINE in pc_config.h) so that producers hammering it do not
     * steal the consumer's line. */
    PC_ALIGNED(PC_CACHELINE) _Atomic(pc_mpsc_node_t *) head;
    /* Consumer's end: written by the consumer only (dereferenced only by
     * it; read by waiting consumers, see pc_mpsc_has_pending). */
    PC_ALIGNED(PC_CACHELINE) _Atomic(pc_mpsc_node_t *) tail;
    pc_mpsc_slab_t *pending_slab; /* nodes freed, not yet settled ... */
    uint32_t pending_count;       /* ... and how many */
    char pad_[PC_CACHELINE - 2 * sizeof(void *) - sizeof(uint32_t)];
} pc_mpsc_t;

enum {
    PC_MPSC_OK = 0,          /* a value was popped */
    PC_MPSC_EMPTY = 1,       /* nothing was pushed */
    PC_MPSC_INCONSISTENT = 2 /* a push is half done: retry shortly */
};

/* Initialise an empty queue (allocates the dummy node); false if out of
 * memory.  Not thread-safe: before the queue is shared. */
bool pc_mpsc_init(pc_mpsc_t *q);

/* Free the queue's nodes, passing every value still queued to `drop`
 * (which may be NULL).  Not thread-safe: after every producer is gone. */
void pc_mpsc_destroy(pc_mpsc_t *q, void (*drop)(void *value));

/* A node for `value`, or NULL if out of memory.  Any thread. */
PC_INLINE pc_mpsc_node_t *pc_mpsc_node_new(void *value);

/* A fresh node from the calling thread's slab (NULL: out of memory). */
pc_mpsc_node_t *pc_mpsc_node_alloc(void);

/* Up to n fresh nodes into out[] (uninitialised), with one thread-local
 * lookup; returns how many (fewer: out of memory). */
size_t pc_mpsc_nodes_alloc(pc_mpsc_node_t **out, size_t n);

/* Free a node at once (one that was never pushed).  Any thread. */
void pc_mpsc_node_free(pc_mpsc_node_t *n);

/* Settle the consumer's count of freed nodes (see "Node memory"). */
void pc_mpsc_settle(pc_mpsc_t *q);

/* The consumer frees a node: counted, settled later. */
PC_INLINE void pc_mpsc_node_release(pc_mpsc_t *q, pc_mpsc_node_t *n)
{
    pc_mpsc_slab_t *slab = (pc_mpsc_slab_t *)((uintptr_t)n &
                                              ~(uintptr_t)(PC_MPSC_SLAB_BYTES - 1));
    if (PC_LIKELY(slab == q->pending_slab)) {
        q->pending_count++;
        return;
    }
    pc_mpsc_settle(q);
    q->pending_slab = slab;
    q->pending_count = 1;
}

/*
 * Push the chain first..last (linked through `next`, last->next unset) with
 * one atomic exchange.  Wait-free.  Any thread.
 */
PC_INLINE void pc_mpsc_push_chain(pc_mpsc_t *q, pc_mpsc_node_t *first,
                                  pc_mpsc_node_t *last)
{
    pc_mpsc_node_t *prev;
    /* relaxed: published by the exchange below. */
    atomic_store_explicit(&last->next, NULL, memory_order_relaxed);
    /*
     * seq_cst, which includes acq_rel:
     *   release - the next producer, which links onto `last`, must see
     *             last->next = NULL above before its own store to it, or
     *             our NULL could overwrite its link;
     *   acquire - likewise we must see prev's initialisation before
     *             storing prev->next;
     *   seq_cst - the channel layer pairs this exchange with the
     *             receiver's seq_cst "I am going to sleep" store and its
     *             seq_cst load of `head` (a Dekker pattern, pc_chan.c): a
     *             wake-up is never lost.  On x86 an exchange is a locked
     *             instruction anyway, so this costs nothing more there.
     */
    prev = atomic_exchange_explicit(&q->head, last, memory_order_seq_cst);
    /* release: publishes the chain's values and links to the consumer's
     * acquire load of tail->next. */
    atomic_store_explicit(&prev->next, first, memory_order_release);
}

/* Push one node.  Wait-free.  Any thread. */
PC_INLINE void pc_mpsc_push(pc_mpsc_t *q, pc_mpsc_node_t *n)
{
    pc_mpsc_push_chain(q, n, n);
}

/*
 * Pop the oldest value into *value.  Consumer only.  Returns PC_MPSC_OK,
 * PC_MPSC_EMPTY, or PC_MPSC_INCONSISTENT (a producer has exchanged `head`
 * but not yet linked its node: a value will be there in a moment).
 */
PC_INLINE int pc_mpsc_trypop(pc_mpsc_t *q, void **value)
{
    /* relaxed: only the consumer writes tail. */
    pc_mpsc_node_t *tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    /* acquire: pairs with the producer's release store of the link, so the
     * node's value is visible. */
    pc_mpsc_node_t *next = atomic_load_explicit(&tail->next, memory_order_acquire);
    if (PC_LIKELY(next != NULL)) {
        *value = next->value;
        next->value = NULL; /* the node is now the dummy */
        /* relaxed: waiting consumers only compare it (has_pending); the
         * next consumer is ordered by the consumer lock. */
        atomic_store_explicit(&q->tail, next, memory_order_relaxed);
        pc_mpsc_node_release(q, tail);
        return PC_MPSC_OK;
    }
    /* Run dry: a good moment to settle the freed nodes. */
    if (q->pending_slab != NULL)
        pc_mpsc_settle(q);
    /* relaxed: only to tell "empty" from "push in progress"; the caller
     * retries either way and the next acquire load of the link orders. */
    if (atomic_load_explicit(&q->head, memory_order_relaxed) == tail)
        return PC_MPSC_EMPTY;
    return PC_MPSC_INCONSISTENT;
}

/*
 * True if some producer has pushed (or is pushing) a value the consumer has
 * not popped.  Any thread (a consumer waiting while another pops): the
 * pointers are compared, never followed.  seq_cst on head: the receiver's
 * side of the Dekker pattern described at pc_mpsc_push_chain.  head is
 * read first: if tail then equals it, that node's value was popped, and
 * a push after the head load is one the Dekker pattern covers.  acquire on
 * tail: pairs with nothing in particular (tail is stored relaxed), it only
 * keeps the load after head's.
 */
PC_INLINE bool pc_mpsc_has_pending(pc_mpsc_t *q)
{
    pc_mpsc_node_t *head = atomic_load_explicit(&q->head, memory_order_seq_cst);
    return head != atomic_load_explicit(&q->tail, memory_order_acquire);
}

/* Push values[0..n) in order with one exchange (a chain linked
 * privately, then pc_mpsc_push_chain); false if out of memory, and then
 * nothing was pushed.  Any thread. */
bool pc_mpsc_push_values(pc_mpsc_t *q, void *const *values, size_t n);

/* Number of values linked and visible right now.  Consumer only; O(n). */
size_t pc_mpsc_count(pc_mpsc_t *q);

/* Call visit(value, arg) for every value linked, oldest first, until it
 * returns non-zero (returned).  The caller excludes pushes and pops for
 * the duration (the garbage collector's traversal of a channel). */
int pc_mpsc_foreach(pc_mpsc_t *q, int (*visit)(void *value, void *arg), void *arg);

/* ------------------------------------------------------------------ */

PC_INLINE pc_mpsc_node_t *pc_mpsc_node_new(void *value)
{
    pc_mpsc_node_t *n = pc_mpsc_node_alloc();
    if (n != NULL) {
        n->value = value;
        /* relaxed: the node is private until pushed. */
        atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
    }
    return n;
}

#endif /* PC_MPSC_H */
