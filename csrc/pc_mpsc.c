/*
 * pc_mpsc.c - the out-of-line parts of the Vyukov MPSC queue (pc_mpsc.h):
 * initialisation, teardown, and the node slabs.
 */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* posix_memalign */
#endif

#include "pc_mpsc.h"

#include <stdlib.h>

#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <malloc.h>
#include <windows.h>
#else
#include <pthread.h>
#endif

/* ------------------------------------------------------------ node slabs */

#define PC_MPSC_SLAB_NODES \
    ((PC_MPSC_SLAB_BYTES - PC_CACHELINE) / sizeof(pc_mpsc_node_t))

struct pc_mpsc_slab {
    /* Nodes not yet freed, counting those the owner has not handed out.
     * On its own line: consumers subtract from it while the owner writes
     * nodes. */
    PC_ALIGNED(PC_CACHELINE) _Atomic uint32_t live;
    PC_ALIGNED(PC_CACHELINE) pc_mpsc_node_t nodes[PC_MPSC_SLAB_NODES];
};

/* The calling thread's slab and the next node to hand out. */
struct pc_mpsc_cache {
    pc_mpsc_slab_t *slab;
    uint32_t next;
};

static PC_THREAD_LOCAL_FAST struct pc_mpsc_cache pc_mpsc_cache;

static pc_mpsc_slab_t *pc_mpsc_spare_take(void);

static pc_mpsc_slab_t *pc_mpsc_slab_alloc(void)
{
    void *p = pc_mpsc_spare_take();
    if (p != NULL)
        return (pc_mpsc_slab_t *)p;
#ifdef _WIN32
    p = _aligned_malloc(PC_MPSC_SLAB_BYTES, PC_MPSC_SLAB_BYTES);
#else
    if (posix_memalign(&p, PC_MPSC_SLAB_BYTES, PC_MPSC_SLAB_BYTES) != 0)
        p = NULL;
#endif
    return (pc_mpsc_slab_t *)p;
}

/*
 * A few freed slabs are kept for reuse, so that a steady stream of values
 * does not go through the allocator (and the kernel's page faults) every
 * 248 values.  Each spare is one atomic pointer: freeing CASes a slab into
 * an empty one, allocating exchanges one out.  Neither reads a pointer and
 * then acts on it, so there is no ABA problem.  Memory held: at most
 * PC_MPSC_SPARES slabs for the whole process.
 */
#define PC_MPSC_SPARES 4
static _Atomic(pc_mpsc_slab_t *) pc_mpsc_spare[PC_MPSC_SPARES];

static pc_mpsc_slab_t *pc_mpsc_spare_take(void)
{
    for (int i = 0; i < PC_MPSC_SPARES; i++) {
        /* relaxed load: a cheap look first.  acquire exchange: the slab's
         * last free (a release) happens before our reuse. */
        if (atomic_load_explicit(&pc_mpsc_spare[i], memory_order_relaxed) != NULL) {
            pc_mpsc_slab_t *s = atomic_exchange_explicit(&pc_mpsc_spare[i], NULL,
                                                         memory_order_acquire);
            if (s != NULL)
                return s;
        }
    }
    return NULL;
}

static void pc_mpsc_slab_free(pc_mpsc_slab_t *slab)
{
    for (int i = 0; i < PC_MPSC_SPARES; i++) {
        pc_mpsc_slab_t *expected = NULL;
        /* release: our reads of the slab's nodes happen before its reuse. */
        if (atomic_compare_exchange_strong_explicit(&pc_mpsc_spare[i], &expected, slab,
                                                    memory_order_release,
                                                    memory_order_relaxed))
            return;
    }
#ifdef _WIN32
    _aligned_free(slab);
#else
    free(slab);
#endif
}

/* Subtract `count` freed nodes; the last frees the slab. */
static void pc_mpsc_slab_put(pc_mpsc_slab_t *slab, uint32_t count)
{
    /* acq_rel: release our reads of the nodes (their values); the one that
     * frees acquires every other thread's. */
    if (atomic_fetch_sub_explicit(&slab->live, count, memory_order_acq_rel) == count)
        pc_mpsc_slab_free(slab);
}

/* Thread exit: give back the nodes this thread's slab never handed out. */
static void pc_mpsc_cache_release(void *arg)
{
    struct pc_mpsc_cache *c = (struct pc_mpsc_cache *)arg;
    if (c != NULL && c->slab != NULL) {
        uint32_t unused = (uint32_t)PC_MPSC_SLAB_NODES - c->next;
        pc_mpsc_slab_t *slab = c->slab;
        c->slab = NULL;
        if (unused > 0)
            pc_mpsc_slab_put(slab, unused);
    }
}

#ifdef _WIN32
static INIT_ONCE pc_mpsc_once = INIT_ONCE_STATIC_INIT;
static DWORD pc_mpsc_fls = FLS_OUT_OF_INDEXES;

static VOID WINAPI pc_mpsc_fls_callback(PVOID arg)
{
    pc_mpsc_cache_release(arg);
}

static BOOL CALLBACK pc_mpsc_once_init(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
    (void)once;
    (void)param;
    (void)ctx;
    pc_mpsc_fls = FlsAlloc(pc_mpsc_fls_callback);
    return TRUE;
}

static void pc_mpsc_register_exit(struct pc_mpsc_cache *c)
{
    InitOnceExecuteOnce(&pc_mpsc_once, pc_mpsc_once_init, NULL, NULL);
    if (pc_mpsc_fls != FLS_OUT_OF_INDEXES)
        FlsSetValue(pc_mpsc_fls, c);
}
#else
static pthread_once_t pc_mpsc_once = PTHREAD_ONCE_INIT;
static pthread_key_t pc_mpsc_key;
static bool pc_mpsc_key_ok;

static void pc_mpsc_once_init(void)
{
    pc_mpsc_key_ok = pthread_key_create(&pc_mpsc_key, pc_mpsc_cache_release) == 0;
}

static void pc_mpsc_register_exit(struct pc_mpsc_cache *c)
{
    pthread_once(&pc_mpsc_once, pc_mpsc_once_init);
    if (pc_mpsc_key_ok)
        pthread_setspecific(pc_mpsc_key, c);
}
#endif

static bool pc_mpsc_refill(struct pc_mpsc_cache *c)
{
    {
        /* The old slab (if any) has handed out every node; their frees
         * settle it.  A new one starts with every node counted live. */
        pc_mpsc_slab_t *slab = pc_mpsc_slab_alloc();
        if (slab == NULL)
            return false;
        /* relaxed: published with the nodes, by the push's exchange. */
        atomic_store_explicit(&slab->live, (uint32_t)PC_MPSC_SLAB_NODES,
                              memory_order_relaxed);
        if (c->slab == NULL)
            pc_mpsc_register_exit(c);
        c->slab = slab;
        c->next = 0;
    }
    return true;
}

pc_mpsc_node_t *pc_mpsc_node_alloc(void)
{
    struct pc_mpsc_cache *c = &pc_mpsc_cache;
    if (PC_UNLIKELY(c->slab == NULL || c->next == PC_MPSC_SLAB_NODES) &&
        !pc_mpsc_refill(c))
        return NULL;
    return &c->slab->nodes[c->next++];
}

size_t pc_mpsc_nodes_alloc(pc_mpsc_node_t **out, size_t n)
{
    struct pc_mpsc_cache *c = &pc_mpsc_cache; /* one thread-local lookup */
    size_t i = 0;
    while (i < n) {
        if (PC_UNLIKELY(c->slab == NULL || c->next == PC_MPSC_SLAB_NODES) &&
            !pc_mpsc_refill(c))
            break;
        out[i++] = &c->slab->nodes[c->next++];
    }
    return i;
}

static pc_mpsc_slab_t *pc_mpsc_slab_of(pc_mpsc_node_t *n)
{
    return (pc_mpsc_slab_t *)((uintptr_t)n & ~(uintptr_t)(PC_MPSC_SLAB_BYTES - 1));
}

void pc_mpsc_node_free(pc_mpsc_node_t *n)
{
    pc_mpsc_slab_put(pc_mpsc_slab_of(n), 1);
}

void pc_mpsc_settle(pc_mpsc_t *q)
{
    if (q->pending_slab != NULL) {
        pc_mpsc_slab_put(q->pending_slab, q->pending_count);
        q->pending_slab = NULL;
        q->pending_count = 0;
    }
}

/* ----------------------------------------------------------------- queue */

bool pc_mpsc_init(pc_mpsc_t *q)
{
    pc_mpsc_node_t *stub = pc_mpsc_node_new(NULL);
    if (stub == NULL)
        return false;
    /* relaxed: the queue is not shared yet. */
    atomic_store_explicit(&q->head, stub, memory_order_relaxed);
    /* relaxed: before the queue is shared. */
    atomic_store_explicit(&q->tail, stub, memory_order_relaxed);
    q->pending_slab = NULL;
    q->pending_count = 0;
    return true;
}

void pc_mpsc_destroy(pc_mpsc_t *q, void (*drop)(void *value))
{
    /* relaxed: after every producer and consumer is gone. */
    pc_mpsc_node_t *n = atomic_load_explicit(&q->tail, memory_order_relaxed);
    bool dummy = true;
    while (n != NULL) {
        /* acquire: see the values of nodes linked by other threads. */
        pc_mpsc_node_t *next = atomic_load_explicit(&n->next, memory_order_acquire);
        if (!dummy && drop != NULL)
            drop(n->value);
        dummy = false;
        pc_mpsc_node_release(q, n);
        n = next;
    }
    pc_mpsc_settle(q);
    atomic_store_explicit(&q->tail, NULL, memory_order_relaxed);
    atomic_store_explicit(&q->head, NULL, memory_order_relaxed);
}

size_t pc_mpsc_count(pc_mpsc_t *q)
{
    size_t count = 0;
    /* acquire: as in pc_mpsc_trypop; nodes after tail are not freed while
     * the consumer (our caller) walks them. */
    pc_mpsc_node_t *n = atomic_load_explicit(
        &atomic_load_explicit(&q->tail, memory_order_relaxed)->next, memory_order_acquire);
    while (n != NULL) {
        count++;
        n = atomic_load_explicit(&n->next, memory_order_acquire);
    }
    return count;
}

int pc_mpsc_foreach(pc_mpsc_t *q, int (*visit)(void *value, void *arg), void *arg)
{
    int r;
    /* acquire: as in pc_mpsc_trypop (the values linked are visible). */
    pc_mpsc_node_t *n = atomic_load_explicit(
        &atomic_load_explicit(&q->tail, memory_order_relaxed)->next, memory_order_acquire);
    for (; n != NULL; n = atomic_load_explicit(&n->next, memory_order_acquire))
        if (n->value != NULL && (r = visit(n->value, arg)) != 0)
            return r;
    return 0;
}

bool pc_mpsc_push_values(pc_mpsc_t *q, void *const *values, size_t n)
{
    /* Link the batch privately, then publish it with one exchange. */
    pc_mpsc_node_t *nodes[64], *first = NULL, *last = NULL;
    size_t done = 0;
    if (n == 0)
        return true;
    while (done < n) {
        size_t want = n - done < 64 ? n - done : 64;
        size_t got = pc_mpsc_nodes_alloc(nodes, want);
        for (size_t i = 0; i < got; i++) {
            nodes[i]->value = values[done + i];
            /* relaxed: private until the push publishes the chain. */
            if (last != NULL)
                atomic_store_explicit(&last->next, nodes[i], memory_order_relaxed);
            else
                first = nodes[i];
            last = nodes[i];
        }
        done += got;
        if (got < want) {
            /* Out of memory: free what we took, push nothing. */
            if (last != NULL)
                atomic_store_explicit(&last->next, NULL, memory_order_relaxed);
            while (first != NULL) {
                pc_mpsc_node_t *next = atomic_load_explicit(&first->next, memory_order_relaxed);
                pc_mpsc_node_free(first);
                first = next;
            }
            return false;
        }
    }
    pc_mpsc_push_chain(q, first, last);
    return true;
}
