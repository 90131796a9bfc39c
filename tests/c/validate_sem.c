/*
 * validate_sem.c - pc_sem, the core of pyconc.Semaphore.
 *
 * 1. As a lock (1 permit): a plain counter incremented under it is exact,
 *    and nobody is ever inside beside another.
 * 2. Many permits, taken 1 to 4 at a time (acquire_many), by try, by
 *    sliced timed waits: the permits held at once never exceed the total,
 *    and all come back (the count ends where it started).
 * 3. close() with waiters parked: every one returns CLOSED, none hangs;
 *    permits given back after the close are counted; overflow refused.
 */
#include "harness.h"


#define THREADS 6
#define TOTAL 4

static pc_sem_t sem;
static long per;
static pc_exclusion_t excl; /* the harness's counter and occupancy flag */
static _Atomic long held, max_held, slices;

static void take(uint64_t n, int t, long i)
{
    int r;
    if ((t + i) % 3 == 0) {
        while ((r = pc_sem_try_acquire(&sem, n)) == PC_SEM_AGAIN)
            pc_thread_yield();
    } else {
        while ((r = pc_sem_acquire_timed(&sem, n, (t + i) % 5 == 1 ? 1000 : 20000000)) ==
               PC_SEM_AGAIN)
            atomic_fetch_add_explicit(&slices, 1, memory_order_relaxed);
    }
    PC_CHECK(r == PC_SEM_OK, "acquire returned %d", r);
}

PC_EXCLUSION_BODY(as_lock, excl, per, take(1, t, i),
                  PC_CHECK(pc_sem_release(&sem, 1) == PC_SEM_OK, "release failed"))

static void many(int t, void *arg)
{
    (void)arg;
    for (long i = 0; i < per; i++) {
        uint64_t n = 1 + (uint64_t)((t + i) % TOTAL);
        take(n, t, i);
        long h = atomic_fetch_add_explicit(&held, (long)n, memory_order_relaxed) + (long)n;
        PC_CHECK(h <= TOTAL, "%ld permits held of %d", h, TOTAL);
        long m = atomic_load_explicit(&max_held, memory_order_relaxed);
        while (h > m && !atomic_compare_exchange_weak_explicit(&max_held, &m, h,
                                                               memory_order_relaxed,
                                                               memory_order_relaxed))
            ;
        for (int s = 0; s < 32; s++)
            pc_cpu_relax();
        atomic_fetch_sub_explicit(&held, (long)n, memory_order_relaxed);
        PC_CHECK(pc_sem_release(&sem, n) == PC_SEM_OK, "release failed");
    }
}

static _Atomic int closed_seen;

static void waiter(int t, void *arg)
{
    (void)arg;
    if (t == 0) {
        /* Let the others park, then close. */
        for (int k = 0; k < 20; k++)
            pc_thread_yield();
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        pc_sem_close(&sem);
        return;
    }
    int r;
    while ((r = pc_sem_acquire_timed(&sem, 1, 50000000)) == PC_SEM_AGAIN)
        ;
    PC_CHECK(r == PC_SEM_CLOSED_, "a waiter got %d from a closed semaphore", r);
    atomic_fetch_add_explicit(&closed_seen, 1, memory_order_relaxed);
}


int main(void)
{
    pc_watchdog("validate_sem: FAILED: hung (a lost wake-up)\n", 600);
    per = pc_scaled(20000);

    pc_sem_init(&sem, 1);
    pc_run_threads(THREADS, as_lock, NULL);
    PC_EXCLUSION_CHECK(excl, THREADS * per);
    PC_CHECK(pc_sem_available(&sem) == 1, "permits left %llu",
             (unsigned long long)pc_sem_available(&sem));

    pc_sem_init(&sem, TOTAL);
    pc_run_threads(THREADS, many, NULL);
    PC_CHECK(pc_sem_available(&sem) == TOTAL, "permits left %llu, want %d",
             (unsigned long long)pc_sem_available(&sem), TOTAL);

    pc_sem_init(&sem, 0);
    pc_run_threads(THREADS, waiter, NULL);
    PC_CHECK(atomic_load(&closed_seen) == THREADS - 1, "%d waiters saw the close",
             atomic_load(&closed_seen));
    PC_CHECK(pc_sem_try_acquire(&sem, 1) == PC_SEM_CLOSED_, "try after close");
    PC_CHECK(pc_sem_release(&sem, 2) == PC_SEM_OK && pc_sem_available(&sem) == 2,
             "release after close");
    PC_CHECK(pc_sem_release(&sem, PC_SEM_MAX_PERMITS) == PC_SEM_OVERFLOW, "overflow allowed");
    PC_CHECK(pc_sem_release(&sem, PC_SEM_MAX_PERMITS - 2) == PC_SEM_OK &&
                 pc_sem_release(&sem, 1) == PC_SEM_OVERFLOW,
             "the limit is not PC_SEM_MAX_PERMITS");

    printf("validate_sem: OK (%d threads x %ld as a lock and taking 1-%d of %d; "
           "%ld busy slices; max held %ld; %d waiters closed out)\n",
           THREADS, per, TOTAL, TOTAL, (long)atomic_load(&slices),
           (long)atomic_load(&max_held), atomic_load(&closed_seen));
    return 0;
}
