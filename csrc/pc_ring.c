/*
 * pc_ring.c - the out-of-line parts of the bounded ring (pc_ring.h).
 */
#include "pc_ring.h"

#include <stdlib.h>

bool pc_ring_init(pc_ring_t *r, uint64_t cap, bool retractable)
{
    if (cap < 1 || cap > (UINT64_MAX / 4) || cap > SIZE_MAX / sizeof(pc_ring_slot_t))
        return false;
    r->slots = (pc_ring_slot_t *)calloc((size_t)cap, sizeof(pc_ring_slot_t));
    if (r->slots == NULL)
        return false;
    r->cap = cap;
    r->retractable = retractable;
    /* relaxed: the ring is not shared yet. */
    for (uint64_t i = 0; i < cap; i++)
        atomic_store_explicit(&r->slots[i].seq, 2 * i, memory_order_relaxed);
    atomic_store_explicit(&r->tail, 0, memory_order_relaxed);
    atomic_store_explicit(&r->head, 0, memory_order_relaxed);
    return true;
}

void pc_ring_destroy(pc_ring_t *r, void (*drop)(void *value))
{
    if (r->slots == NULL)
        return;
    /* acquire: see every value published by producers that are gone. */
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    for (uint64_t pos = head; pos != tail; pos++) {
        pc_ring_slot_t *slot = &r->slots[pos % r->cap];
        if (atomic_load_explicit(&slot->seq, memory_order_acquire) == 2 * pos + 1 &&
            drop != NULL)
            drop(slot->value);
    }
    free(r->slots);
    r->slots = NULL;
}

int pc_ring_foreach(pc_ring_t *r, int (*visit)(void *value, void *arg), void *arg)
{
    int res;
    /* relaxed: no push or pop runs meanwhile (the caller's promise); the
     * acquire on each slot's seq makes its value visible. */
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    for (uint64_t pos = head; pos != tail; pos++) {
        pc_ring_slot_t *slot = &r->slots[pos % r->cap];
        if (atomic_load_explicit(&slot->seq, memory_order_acquire) == 2 * pos + 1 &&
            (res = visit(slot->value, arg)) != 0)
            return res;
    }
    return 0;
}
