/*
 * pc_ring.h - a bounded lock-free multi-producer single-consumer ring.
 *
 * The algorithm is Dmitry Vyukov's bounded MPMC queue ("Bounded MPMC
 * queue", 1024cores.net, 2010; also crossbeam's ArrayQueue), specialised to
 * one consumer:
 *
 *   - Every slot carries a sequence number saying whose turn it is.  With
 *     positions counted from 0, slot `pos % cap` is
 *         free for the producer of `pos`   when seq == 2*pos,
 *         full, holding the value of `pos` when seq == 2*pos + 1.
 *     After the consumer takes it, seq = 2*(pos + cap): free for the
 *     producer one lap later.  (Doubling the positions keeps "full at pos"
 *     and "free at pos + cap" apart even when cap is 1.)
 *   - Producers claim a position with a CAS on `tail`, write the value and
 *     publish it with a release store of seq; the single consumer owns
 *     `head` and needs no read-modify-write: an acquire load of seq and a
 *     release store giving the slot back.
 *   - `tail` and `head` sit on separate cache lines.
 *
 * Rendezvous support: a producer may take back (retract) a value nobody
 * has received yet (pc_ring_retract), which sync_channel(0) needs when a
 * send times out.  In that mode (`retractable`) the consumer claims each
 * value with a CAS on seq, so exactly one side gets it, and skips slots
 * whose value was retracted.
 *
 * Several consumers (an MPMC channel's receivers) serialise their pops
 * with the channel's consumer lock (pc_chan.h says why, rather than a CAS
 * on head as in Vyukov's MPMC original); `head` is atomic, so waiting
 * consumers may read it (pc_ring_has_pending) while one pops.
 *
 * Values are opaque `void *`.
 */
#ifndef PC_RING_H
#define PC_RING_H

#include "pc_config.h"

typedef struct pc_ring_slot {
    _Atomic uint64_t seq;
    void *value;
} pc_ring_slot_t;

typedef struct pc_ring {
    /* Producers' position: CAS by every push. */
    PC_ALIGNED(PC_CACHELINE) _Atomic uint64_t tail;
    /* Consumer's position: written by the consumer only (atomic because
     * producers read it to measure fullness and delivery). */
    PC_ALIGNED(PC_CACHELINE) _Atomic uint64_t head;
    /* Read-only after pc_ring_init. */
    PC_ALIGNED(PC_CACHELINE) uint64_t cap;
    bool retractable;
    pc_ring_slot_t *slots;
} pc_ring_t;

enum {
    PC_RING_OK = 0,
    PC_RING_EMPTY = 1,       /* pop: nothing to take */
    PC_RING_FULL = 2,        /* push: every slot holds a value */
    PC_RING_INCONSISTENT = 3 /* pop: a producer claimed the slot, value coming */
};

/* Allocate `cap` (>= 1) slots; false if out of memory.  Before sharing. */
bool pc_ring_init(pc_ring_t *r, uint64_t cap, bool retractable);

/* Pass every value still held to `drop` (may be NULL), free the slots.
 * After every producer is gone. */
void pc_ring_destroy(pc_ring_t *r, void (*drop)(void *value));

/*
 * Push `value` if a slot is free; returns PC_RING_OK (and the value's
 * position in *pos, if pos is not NULL) or PC_RING_FULL.  Lock-free.
 * Any thread.
 */
PC_INLINE int pc_ring_trypush(pc_ring_t *r, void *value, uint64_t *pos_out)
{
    /* relaxed: a guess, validated against the slot's seq below. */
    uint64_t pos = atomic_load_explicit(&r->tail, memory_order_relaxed);
    for (;;) {
        pc_ring_slot_t *slot = &r->slots[pos % r->cap];
        /* acquire: the consumer's release store that freed the slot; its
         * read of the old value happens before our write. */
        uint64_t seq = atomic_load_explicit(&slot->seq, memory_order_acquire);
        int64_t diff = (int64_t)(seq - 2 * pos);
        if (diff == 0) {
            /* seq_cst on success: pairs with the receiver's seq_cst sleep
             * announcement and load of `tail` (Dekker, see pc_chan.c);
             * relaxed on failure: we only learn the new tail. */
            if (atomic_compare_exchange_weak_explicit(&r->tail, &pos, pos + 1,
                                                      memory_order_seq_cst,
                                                      memory_order_relaxed)) {
                slot->value = value;
                /* release: publishes the value to the consumer. */
                atomic_store_explicit(&slot->seq, 2 * pos + 1, memory_order_release);
                if (pos_out != NULL)
                    *pos_out = pos;
                return PC_RING_OK;
            }
        } else if (diff < 0) {
            /* The slot still holds the value of pos - cap: full.  (diff is
             * -1 if that value is published, -2*cap... never; any negative
             * means the consumer has not freed it.) */
            return PC_RING_FULL;
        } else {
            /* Another producer took pos; relaxed: a new guess. */
            pos = atomic_load_explicit(&r->tail, memory_order_relaxed);
        }
    }
}

/*
 * Push up to n values with one CAS on `tail` for the whole run of free
 * slots found; returns how many were pushed (0: full).  Lock-free.  Not for
 * a retractable ring (whose values each need their own position).
 */
PC_INLINE size_t pc_ring_trypush_many(pc_ring_t *r, void *const *values, size_t n)
{
    /* relaxed: a guess, validated against the slots' seq below. */
    uint64_t pos = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint64_t cap = r->cap;
    if (n > cap)
        n = (size_t)cap;
    for (;;) {
        /* One division per batch: the slot index then steps and wraps. */
        uint64_t first = pos % cap, idx = first;
        size_t k = 0;
        int64_t diff = 0;
        while (k < n) {
            /* acquire: as in pc_ring_trypush. */
            uint64_t seq = atomic_load_explicit(&r->slots[idx].seq, memory_order_acquire);
            diff = (int64_t)(seq - 2 * (pos + k));
            if (diff != 0)
                break;
            k++;
            if (++idx == cap)
                idx = 0;
        }
        if (k == 0) {
            if (diff < 0)
                return 0; /* full */
            /* relaxed: another producer took pos; a new guess. */
            pos = atomic_load_explicit(&r->tail, memory_order_relaxed);
            continue;
        }
        /* seq_cst on success, relaxed on failure: as in pc_ring_trypush. */
        if (atomic_compare_exchange_weak_explicit(&r->tail, &pos, pos + k,
                                                  memory_order_seq_cst,
                                                  memory_order_relaxed)) {
            idx = first;
            for (size_t i = 0; i < k; i++) {
                pc_ring_slot_t *slot = &r->slots[idx];
                slot->value = values[i];
                /* release: publishes the value to the consumer. */
                atomic_store_explicit(&slot->seq, 2 * (pos + i) + 1, memory_order_release);
                if (++idx == cap)
                    idx = 0;
            }
            return k;
        }
    }
}

/*
 * Pop up to n values into out[], oldest first; returns how many (0: empty,
 * or the next value not yet published).  Consumer only; not for
 * retractable rings (rendezvous), whose slots need pc_ring_trypop's
 * compare-and-swap.  One division and one store of `head` per batch.
 */
PC_INLINE size_t pc_ring_trypop_many(pc_ring_t *r, void **out, size_t n)
{
    /* relaxed: only the consumer writes head. */
    uint64_t pos = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint64_t cap = r->cap, idx = pos % cap;
    size_t k = 0;
    while (k < n) {
        pc_ring_slot_t *slot = &r->slots[idx];
        /* acquire: as in pc_ring_trypop. */
        if (atomic_load_explicit(&slot->seq, memory_order_acquire) != 2 * (pos + k) + 1)
            break;
        out[k] = slot->value;
        /* release: as in pc_ring_trypop. */
        atomic_store_explicit(&slot->seq, 2 * (pos + k + cap), memory_order_release);
        k++;
        if (++idx == cap)
            idx = 0;
    }
    /* release: as in pc_ring_trypop. */
    if (k > 0)
        atomic_store_explicit(&r->head, pos + k, memory_order_release);
    return k;
}

PC_INLINE int pc_ring_trypop(pc_ring_t *r, void **value)
{
    for (;;) {
        /* relaxed: only the consumer writes head. */
        uint64_t pos = atomic_load_explicit(&r->head, memory_order_relaxed);
        pc_ring_slot_t *slot = &r->slots[pos % r->cap];
        /* acquire: pairs with the producer's release store; the value is
         * visible. */
        uint64_t seq = atomic_load_explicit(&slot->seq, memory_order_acquire);
        if (PC_LIKELY(seq == 2 * pos + 1)) {
            void *v = slot->value;
            uint64_t freed = 2 * (pos + r->cap);
            if (!r->retractable) {
                /* release: our read of the value happens before the next
                 * producer's write to the slot. */
                atomic_store_explicit(&slot->seq, freed, memory_order_release);
            } else {
                uint64_t expected = seq;
                /* acq_rel: release as above; acquire so that, losing to a
                 * retraction, we see its write of seq.  Exactly one of the
                 * consumer and the retracting producer succeeds. */
                if (!atomic_compare_exchange_strong_explicit(
                        &slot->seq, &expected, freed, memory_order_acq_rel,
                        memory_order_acquire)) {
                    /* Retracted under us: skip the position. */
                    atomic_store_explicit(&r->head, pos + 1, memory_order_release);
                    continue;
                }
            }
            /* release: producers that read head (fullness, delivery) see the
             * slot freed. */
            atomic_store_explicit(&r->head, pos + 1, memory_order_release);
            *value = v;
            return PC_RING_OK;
        }
        if (r->retractable && (int64_t)(seq - (2 * pos + 1)) > 0) {
            /* The value of pos was retracted (seq already says "freed", or
             * a later lap has reused the slot): skip it.  release: as
             * above. */
            atomic_store_explicit(&r->head, pos + 1, memory_order_release);
            continue;
        }
        /* relaxed: only to tell "empty" from "push in progress". */
        if (atomic_load_explicit(&r->tail, memory_order_relaxed) == pos)
            return PC_RING_EMPTY;
        return PC_RING_INCONSISTENT;
    }
}

/*
 * Take back the value pushed at `pos` if the consumer has not taken it;
 * true if it was taken back (the caller owns the value again).  Only for a
 * ring initialised `retractable`, by the producer that pushed `pos`.
 */
PC_INLINE bool pc_ring_retract(pc_ring_t *r, uint64_t pos)
{
    pc_ring_slot_t *slot = &r->slots[pos % r->cap];
    uint64_t expected = 2 * pos + 1;
    /* acq_rel: acquire, to order our reuse of the value after the claim;
     * release, so that the slot freed by us is seen free by the next lap's
     * producer.  Relaxed on failure: the consumer took it, nothing to read. */
    return atomic_compare_exchange_strong_explicit(
        &slot->seq, &expected, 2 * (pos + r->cap), memory_order_acq_rel,
        memory_order_relaxed);
}

/* True if some producer has claimed a position the consumer has not
 * reached.  Any thread.  seq_cst: the receiver's side of the Dekker
 * pattern (pc_chan.c). */
PC_INLINE bool pc_ring_has_pending(pc_ring_t *r)
{
    return atomic_load_explicit(&r->tail, memory_order_seq_cst) !=
           atomic_load_explicit(&r->head, memory_order_relaxed);
}

/* Values claimed and not yet popped (a snapshot; may include retracted
 * rendezvous values until the consumer skips them). */
PC_INLINE uint64_t pc_ring_count(pc_ring_t *r)
{
    /* acquire/relaxed: a snapshot for len(); read head first so that the
     * difference is never negative. */
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    return tail >= head ? tail - head : 0;
}

/* True once the consumer has moved past `pos` (a rendezvous sender's
 * value has been taken, or skipped as retracted).  Any thread. */
PC_INLINE bool pc_ring_taken(pc_ring_t *r, uint64_t pos)
{
    /* acquire: pairs with the consumer's release store of head. */
    return atomic_load_explicit(&r->head, memory_order_acquire) > pos;
}

/* True if the slot at the consumer's position is published: a value (or,
 * retractable, a retraction to skip) that pc_ring_trypop will not report
 * INCONSISTENT.  Any thread (a waiting consumer; head may move under it,
 * which only makes the answer stale, never unsafe: slots are not freed). */
PC_INLINE bool pc_ring_front_published(pc_ring_t *r)
{
    uint64_t pos = atomic_load_explicit(&r->head, memory_order_relaxed);
    /* acquire: as in pc_ring_trypop.  Any seq past "free for pos" means a
     * value is published (or a retraction to skip). */
    uint64_t seq = atomic_load_explicit(&r->slots[pos % r->cap].seq,
                                        memory_order_acquire);
    return (int64_t)(seq - 2 * pos) > 0;
}

/* True if the slot at the producers' position is free: a push may
 * succeed now.  Any thread. */
PC_INLINE bool pc_ring_has_room(pc_ring_t *r)
{
    /* relaxed tail: a snapshot; acquire on seq, as in pc_ring_trypush. */
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint64_t seq = atomic_load_explicit(&r->slots[tail % r->cap].seq,
                                        memory_order_acquire);
    return (int64_t)(seq - 2 * tail) >= 0;
}

/* Call visit(value, arg) for every value published and not yet popped,
 * oldest first, until it returns non-zero (returned).  The caller excludes
 * pushes and pops for the duration (the garbage collector's traversal of
 * a channel, pc_chan_foreach). */
int pc_ring_foreach(pc_ring_t *r, int (*visit)(void *value, void *arg), void *arg);

#endif /* PC_RING_H */
