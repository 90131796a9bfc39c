/*
 * validate_spin.c - pc_spin: mutual exclusion (a plain counter and an
 * occupancy check), blocking, timed and try acquires mixed, and parked
 * waiters all woken.
 */
#include "harness.h"

#define THREADS 8

static pc_spin_t lock;
static long counter;   /* plain: protected by `lock` */
static int occupancy;  /* plain: must be 0 on entry, 1 inside */
static long iterations;
static _Atomic long timeouts;

static void critical(void)
{
    PC_CHECK(occupancy == 0, "two threads inside the critical section");
    occupancy = 1;
    counter++;
    occupancy = 0;
}

static void body(int t, void *arg)
{
    (void)arg;
    for (long i = 0; i < iterations; i++) {
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
        critical();
        PC_CHECK(pc_spin_unlock(&lock, false) != PC_SPIN_UNLOCKED,
                 "unlock found the lock already unlocked");
    }
}

/* Long holds: waiters get past spinning and park in the kernel. */
static void body_parking(int t, void *arg)
{
    (void)t;
    (void)arg;
    struct timespec ts = {0, 200000}; /* 200 us inside */
    for (long i = 0; i < 20; i++) {
        pc_spin_lock(&lock, false);
        critical();
        nanosleep(&ts, NULL);
        pc_spin_unlock(&lock, false);
    }
}

int main(void)
{
    iterations = pc_scaled(100000);
    pc_spin_init(&lock);
    pc_run_threads(THREADS, body, NULL);
    PC_CHECK(counter == THREADS * iterations, "counter %ld != %ld", counter,
             (long)THREADS * iterations);
    PC_CHECK(!pc_spin_is_locked(&lock), "lock left held");

    counter = 0;
    pc_run_threads(4, body_parking, NULL);
    PC_CHECK(counter == 4 * 20, "parking: counter %ld != 80", counter);
    PC_CHECK(!pc_spin_is_locked(&lock), "lock left held after parking");

    PC_CHECK(pc_spin_unlock(&lock, false) == PC_SPIN_UNLOCKED,
             "unlocking a free lock must report it");
    PC_CHECK(pc_spin_trylock(&lock), "trylock on a free lock");
    PC_CHECK(!pc_spin_lock_timed(&lock, 2000000, false), "timed lock on a held lock must time out");

    printf("validate_spin: OK (%d threads x %ld iterations, %ld timed-out waits)\n",
           THREADS, iterations, (long)atomic_load(&timeouts));
    return 0;
}
