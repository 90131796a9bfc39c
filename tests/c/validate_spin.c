/*
 * validate_spin.c - pc_spin: mutual exclusion (a plain counter and an
 * occupancy check), blocking, timed and try acquires mixed, and parked
 * waiters all woken.
 */
#include "harness.h"

#define THREADS 8

static pc_spin_t lock;
static pc_exclusion_t excl; /* the harness's counter and occupancy flag */
static long iterations;
static _Atomic long timeouts;

/* Blocking, timed and try acquires, mixed by thread and round. */
static void lock_somehow(int t, long i)
{
    switch ((t + i) % 3) {
    case 0:
        pc_spin_lock(&lock, false);
        break;
    case 1:
        while (!pc_spin_lock_timed(&lock, 1000, false)) /* 1 us */
            atomic_fetch_add_explicit(&timeouts, 1, memory_order_relaxed);
        break;
    default:
        while (!pc_spin_trylock(&lock))
            pc_cpu_relax();
    }
}

PC_EXCLUSION_BODY(body, excl, iterations, lock_somehow(t, i),
                  PC_CHECK(pc_spin_unlock(&lock, false) != PC_SPIN_UNLOCKED,
                           "unlock found the lock already unlocked"))

/* Long holds (200 us inside): waiters get past spinning and park in the
 * kernel. */
static const struct timespec hold = {0, 200000};
PC_EXCLUSION_BODY(body_parking, excl, 20, pc_spin_lock(&lock, false),
                  (nanosleep(&hold, NULL), pc_spin_unlock(&lock, false)))

int main(void)
{
    iterations = pc_scaled(100000);
    pc_spin_init(&lock);
    pc_run_threads(THREADS, body, NULL);
    PC_EXCLUSION_CHECK(excl, THREADS * iterations);
    PC_CHECK(!pc_spin_is_locked(&lock), "lock left held");

    excl.counter = 0;
    pc_run_threads(4, body_parking, NULL);
    PC_EXCLUSION_CHECK(excl, 4 * 20);
    PC_CHECK(!pc_spin_is_locked(&lock), "lock left held after parking");

    PC_CHECK(pc_spin_unlock(&lock, false) == PC_SPIN_UNLOCKED,
             "unlocking a free lock must report it");
    PC_CHECK(pc_spin_trylock(&lock), "trylock on a free lock");
    PC_CHECK(!pc_spin_lock_timed(&lock, 2000000, false), "timed lock on a held lock must time out");

    printf("validate_spin: OK (%d threads x %ld iterations, %ld timed-out waits)\n",
           THREADS, iterations, (long)atomic_load(&timeouts));
    return 0;
}
