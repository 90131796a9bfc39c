/*
 * validate_queue.c - the two queues alone, without the channel layer:
 * pc_mpsc (Vyukov's unbounded MPSC list) and pc_ring (Vyukov's bounded
 * ring, one consumer).  Producers push tagged values singly and in chains
 * or runs; one consumer pops, retrying on INCONSISTENT (a push half done).
 * Checks: exact totals, nothing lost or duplicated, each producer's order
 * kept, the queue empty at the end, and values left queued handed to the
 * drop function on destroy.
 */
#include "harness.h"

#define PRODUCERS 6

static long per_producer;
static uint64_t last_seen[PRODUCERS];
static long received, inconsistent;
static _Atomic long dropped;

#define TAG(p, i) ((void *)(uintptr_t)(((uint64_t)(p) << 40) | (uint64_t)((i) + 1)))

static void drop(void *v)
{
    (void)v;
    atomic_fetch_add_explicit(&dropped, 1, memory_order_relaxed);
}

static void check_value(void *v)
{
    uint64_t x = (uint64_t)(uintptr_t)v;
    unsigned p = (unsigned)(x >> 40);
    uint64_t seq = x & (((uint64_t)1 << 40) - 1);
    PC_CHECK(p < PRODUCERS, "a value from nowhere: %#llx", (unsigned long long)x);
    PC_CHECK(seq == last_seen[p] + 1,
             "producer %u: %llu after %llu (lost, duplicated or reordered)", p,
             (unsigned long long)seq, (unsigned long long)last_seen[p]);
    last_seen[p] = seq;
    received++;
}

static void reset(long n)
{
    per_producer = n;
    received = inconsistent = 0;
    for (int p = 0; p < PRODUCERS; p++)
        last_seen[p] = 0;
}

/* ---------------------------------------------------------------- mpsc */

static pc_mpsc_t mq;

static void mpsc_produce(int p)
{
    long i = 0;
    while (i < per_producer) {
        if ((i / 8) % 3 == 2) {
            /* a chain of up to 8 nodes, pushed with one exchange */
            pc_mpsc_node_t *first = NULL, *last = NULL;
            long k = 0;
            for (; k < 8 && i + k < per_producer; k++) {
                pc_mpsc_node_t *n = pc_mpsc_node_new(TAG(p, i + k));
                PC_CHECK(n != NULL, "out of memory");
                if (last)
                    atomic_store_explicit(&last->next, n, memory_order_relaxed);
                else
                    first = n;
                last = n;
            }
            pc_mpsc_push_chain(&mq, first, last);
            i += k;
        } else {
            pc_mpsc_node_t *n = pc_mpsc_node_new(TAG(p, i));
            PC_CHECK(n != NULL, "out of memory");
            pc_mpsc_push(&mq, n);
            i++;
        }
    }
}

static void mpsc_body(int t, void *arg)
{
    (void)arg;
    if (t > 0) {
        mpsc_produce(t - 1);
        return;
    }
    long want = PRODUCERS * per_producer;
    while (received < want) {
        void *v;
        int r = pc_mpsc_trypop(&mq, &v);
        if (r == PC_MPSC_OK)
            check_value(v);
        else if (r == PC_MPSC_INCONSISTENT) {
            inconsistent++;
            pc_cpu_relax();
        }
        else {
            PC_CHECK(r == PC_MPSC_EMPTY, "mpsc pop returned %d", r);
            pc_thread_yield();
        }
    }
    void *v;
    PC_CHECK(pc_mpsc_trypop(&mq, &v) == PC_MPSC_EMPTY, "mpsc: a value beyond the total");
    PC_CHECK(!pc_mpsc_has_pending(&mq), "mpsc: pending after the last value");
}

/* ---------------------------------------------------------------- ring */

static pc_ring_t rq;
static _Atomic long full_seen;

static void ring_produce(int p)
{
    long i = 0;
    while (i < per_producer) {
        if ((i / 4) % 2 == 1) {
            void *batch[4];
            size_t n = 0;
            while (n < 4 && i + (long)n < per_producer) {
                batch[n] = TAG(p, i + (long)n);
                n++;
            }
            /* Only the run pushed is consumed from the batch: the rest
             * is pushed again, in order, by the next call. */
            size_t sent = pc_ring_trypush_many(&rq, batch, n);
            if (sent == 0) {
                atomic_fetch_add_explicit(&full_seen, 1, memory_order_relaxed);
                pc_thread_yield();
            }
            i += (long)sent;
        } else {
            uint64_t pos = 0;
            int r = pc_ring_trypush(&rq, TAG(p, i), &pos);
            if (r == PC_RING_OK) {
                i++;
            } else {
                PC_CHECK(r == PC_RING_FULL, "ring push returned %d", r);
                atomic_fetch_add_explicit(&full_seen, 1, memory_order_relaxed);
                pc_thread_yield();
            }
        }
    }
}

static void ring_body(int t, void *arg)
{
    (void)arg;
    if (t > 0) {
        ring_produce(t - 1);
        return;
    }
    long want = PRODUCERS * per_producer;
    for (long k = 0; received < want; k++) {
        void *v;
        int r;
        if (k % 3 == 1) {
            /* Batches of up to 5 (more than some rings hold, fewer than
             * others), checked in the order popped. */
            void *batch[5];
            size_t n = pc_ring_trypop_many(&rq, batch, 5);
            for (size_t j = 0; j < n; j++)
                check_value(batch[j]);
            if (n > 0)
                continue;
        }
        r = pc_ring_trypop(&rq, &v);
        if (r == PC_RING_OK)
            check_value(v);
        else if (r == PC_RING_INCONSISTENT) {
            inconsistent++;
            pc_cpu_relax();
        }
        else {
            PC_CHECK(r == PC_RING_EMPTY, "ring pop returned %d", r);
            pc_thread_yield();
        }
        PC_CHECK(pc_ring_count(&rq) <= rq.cap, "ring holds %llu > cap %llu",
                 (unsigned long long)pc_ring_count(&rq), (unsigned long long)rq.cap);
    }
    void *v;
    PC_CHECK(pc_ring_trypop(&rq, &v) == PC_RING_EMPTY, "ring: a value beyond the total");
}

int main(void)
{
    long n = pc_scaled(40000);

    reset(n);
    PC_CHECK(pc_mpsc_init(&mq), "pc_mpsc_init");
    pc_run_threads(PRODUCERS + 1, mpsc_body, NULL);
    PC_CHECK(received == PRODUCERS * n, "mpsc: received %ld of %ld", received,
             (long)PRODUCERS * n);
    long mpsc_inconsistent = inconsistent;
    /* Leftovers go to the drop function. */
    for (long i = 0; i < 100; i++)
        pc_mpsc_push(&mq, pc_mpsc_node_new(TAG(0, i)));
    PC_CHECK(pc_mpsc_count(&mq) == 100, "mpsc count %zu", pc_mpsc_count(&mq));
    pc_mpsc_destroy(&mq, drop);
    PC_CHECK(atomic_load(&dropped) == 100, "mpsc: dropped %ld of 100", (long)atomic_load(&dropped));

    uint64_t caps[] = {1, 3, 64};
    long ring_inconsistent = 0;
    for (int c = 0; c < 3; c++) {
        reset(caps[c] == 1 ? n / 5 : n);
        PC_CHECK(pc_ring_init(&rq, caps[c], false), "pc_ring_init");
        pc_run_threads(PRODUCERS + 1, ring_body, NULL);
        PC_CHECK(received == PRODUCERS * per_producer, "ring cap %llu: received %ld of %ld",
                 (unsigned long long)caps[c], received, (long)PRODUCERS * per_producer);
        ring_inconsistent += inconsistent;
        pc_ring_destroy(&rq, drop);
    }
    /* A full ring refuses, and its values are dropped on destroy. */
    atomic_store(&dropped, 0);
    PC_CHECK(pc_ring_init(&rq, 5, false), "pc_ring_init");
    for (long i = 0; i < 5; i++)
        PC_CHECK(pc_ring_trypush(&rq, TAG(0, i), NULL) == PC_RING_OK, "push %ld", i);
    PC_CHECK(pc_ring_trypush(&rq, TAG(0, 5), NULL) == PC_RING_FULL, "a sixth value in 5 slots");
    pc_ring_destroy(&rq, drop);
    PC_CHECK(atomic_load(&dropped) == 5, "ring: dropped %ld of 5", (long)atomic_load(&dropped));

    printf("validate_queue: OK (mpsc: %d producers x %ld, %ld half-done pushes seen; "
           "ring caps 1/3/64: %ld full, %ld half-done)\n",
           PRODUCERS, n, mpsc_inconsistent, (long)atomic_load(&full_seen), ring_inconsistent);
    return 0;
}
