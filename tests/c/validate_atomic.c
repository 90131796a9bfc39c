/*
 * validate_atomic.c - pc_atomic under many threads: exact totals, CAS loops
 * (weak CAS must tolerate spurious failure), max/min, and message passing
 * with release/acquire.
 */
#include "harness.h"

#define THREADS 8

static pc_atomic_i64_t counter;
static pc_atomic_u64_t ucounter;
static long iterations;

static void body_fetch_add(int t, void *arg)
{
    (void)arg;
    int order = t % 2 ? PC_RELAXED : PC_SEQ_CST;
    for (long i = 0; i < iterations; i++)
        pc_atomic_i64_fetch_add(&counter, 1, order);
}

static _Atomic long spurious;

static void body_cas_loop(int t, void *arg)
{
    (void)t;
    (void)arg;
    long fails = 0;
    for (long i = 0; i < iterations; i++) {
        uint64_t cur = pc_atomic_u64_load(&ucounter, PC_RELAXED);
        for (;;) {
            pc_cas_u64_t r = pc_atomic_u64_compare_exchange_weak(
                &ucounter, cur, cur + 1, PC_ACQ_REL, PC_RELAXED);
            if (r.ok)
                break;
            if (r.previous == cur)
                fails++; /* a spurious failure: legal for the weak form */
            cur = r.previous;
        }
    }
    atomic_fetch_add_explicit(&spurious, fails, memory_order_relaxed);
}

static pc_atomic_i64_t maxv, minv;

static void body_max_min(int t, void *arg)
{
    (void)arg;
    for (long i = 0; i < iterations; i++) {
        int64_t v = (int64_t)i * THREADS + t;
        pc_atomic_i64_fetch_max(&maxv, v, PC_RELAXED);
        pc_atomic_i64_fetch_min(&minv, -v, PC_RELAXED);
    }
}

/* Message passing: the writer fills a payload, then publishes a sequence
 * number with RELEASE; the reader ACQUIREs the number and must see the
 * payload written for it. */
#define PAYLOAD 16
static int64_t payload[PAYLOAD];
static pc_atomic_i64_t seq;      /* odd: writer busy; even: published */
static pc_atomic_i64_t consumed; /* reader's acknowledgement */

static void body_message_passing(int t, void *arg)
{
    (void)arg;
    long rounds = iterations / 8;
    if (t == 0) {
        for (long r = 1; r <= rounds; r++) {
            while (pc_atomic_i64_load(&consumed, PC_ACQUIRE) != r - 1)
                pc_cpu_relax();
            for (int k = 0; k < PAYLOAD; k++)
                payload[k] = r * 1000 + k; /* plain writes... */
            pc_atomic_i64_store(&seq, r, PC_RELEASE); /* ...published here */
        }
    } else {
        for (long r = 1; r <= rounds; r++) {
            while (pc_atomic_i64_load(&seq, PC_ACQUIRE) != r)
                pc_cpu_relax();
            for (int k = 0; k < PAYLOAD; k++)
                PC_CHECK(payload[k] == r * 1000 + k,
                         "round %ld: payload[%d] = %lld, acquire saw a stale write",
                         r, k, (long long)payload[k]);
            pc_atomic_i64_store(&consumed, r, PC_RELEASE);
        }
    }
}

int main(void)
{
    iterations = pc_scaled(200000);

    pc_run_threads(THREADS, body_fetch_add, NULL);
    PC_CHECK(pc_atomic_i64_load(&counter, PC_SEQ_CST) == THREADS * iterations,
             "fetch_add total %lld != %lld",
             (long long)pc_atomic_i64_load(&counter, PC_SEQ_CST),
             (long long)(THREADS * iterations));

    pc_run_threads(THREADS, body_cas_loop, NULL);
    PC_CHECK(pc_atomic_u64_load(&ucounter, PC_SEQ_CST) == (uint64_t)(THREADS * iterations),
             "weak-CAS loop total %llu != %lld",
             (unsigned long long)pc_atomic_u64_load(&ucounter, PC_SEQ_CST),
             (long long)(THREADS * iterations));

    pc_atomic_i64_store(&maxv, INT64_MIN, PC_RELAXED);
    pc_atomic_i64_store(&minv, INT64_MAX, PC_RELAXED);
    pc_run_threads(THREADS, body_max_min, NULL);
    PC_CHECK(pc_atomic_i64_load(&maxv, PC_SEQ_CST) == (iterations - 1) * THREADS + THREADS - 1,
             "fetch_max lost the maximum");
    PC_CHECK(pc_atomic_i64_load(&minv, PC_SEQ_CST) == -((iterations - 1) * THREADS + THREADS - 1),
             "fetch_min lost the minimum");

    pc_run_threads(2, body_message_passing, NULL);

    /* Wrap-around and the odd ones out, single-threaded. */
    pc_atomic_i64_store(&counter, INT64_MAX, PC_RELAXED);
    PC_CHECK(pc_atomic_i64_fetch_add(&counter, 1, PC_SEQ_CST) == INT64_MAX, "fetch_add prev");
    PC_CHECK(pc_atomic_i64_load(&counter, PC_SEQ_CST) == INT64_MIN, "signed wrap-around");
    pc_atomic_u64_store(&ucounter, 0xF0, PC_RELAXED);
    PC_CHECK(pc_atomic_u64_fetch_nand(&ucounter, 0x3C, PC_SEQ_CST) == 0xF0, "nand prev");
    PC_CHECK(pc_atomic_u64_load(&ucounter, PC_SEQ_CST) == ~(uint64_t)0x30, "nand value");

    printf("validate_atomic: OK (%d threads x %ld iterations; %ld spurious weak-CAS failures seen)\n",
           THREADS, iterations, (long)atomic_load(&spurious));
    return 0;
}
