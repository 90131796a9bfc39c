/*
 * validate_rspin.c - pc_rspin: mutual exclusion with blocking, timed, try
 * and robust-try acquires mixed; parked waiters woken; a lock held by a
 * dead process taken over (OWNER_DIED) by exactly one waiter.
 */
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define THREADS 8

static pc_rspin_t lock;
static pc_exclusion_t excl; /* the harness's counter and occupancy flag */
static long iterations;
static uint32_t me, dead_pid;
static _Atomic int died_seen;

/* Blocking, timed, try and robust-try acquires, mixed by thread and round. */
static void lock_somehow(int t, long i)
{
    switch ((t + i) % 4) {
    case 0:
        PC_CHECK(pc_rspin_lock_timed(&lock, me, -1) == PC_RSPIN_ACQUIRED, "lock");
        break;
    case 1:
        while (pc_rspin_lock_timed(&lock, me, 1000) != PC_RSPIN_ACQUIRED)
            ;
        break;
    case 2:
        while (!pc_rspin_trylock(&lock, me))
            pc_cpu_relax();
        break;
    default:
        while (pc_rspin_trylock_robust(&lock, me) != PC_RSPIN_ACQUIRED)
            pc_cpu_relax();
    }
    PC_CHECK(pc_rspin_owner(&lock) == me, "owner is %u", pc_rspin_owner(&lock));
}

PC_EXCLUSION_BODY(body, excl, iterations, lock_somehow(t, i),
                  PC_CHECK(pc_rspin_unlock(&lock) != 0, "unlock found the lock unlocked"))

/* Every thread waits for a lock whose owner is dead: one takes it over. */
static void body_dead_owner(int t, void *arg)
{
    int r;
    (void)t;
    (void)arg;
    r = pc_rspin_lock_timed(&lock, me, -1);
    PC_CHECK(r == PC_RSPIN_ACQUIRED || r == PC_RSPIN_OWNER_DIED, "lock: %d", r);
    if (r == PC_RSPIN_OWNER_DIED)
        atomic_fetch_add_explicit(&died_seen, 1, memory_order_relaxed);
    pc_exclusion_inside(&excl);
    pc_rspin_unlock(&lock);
}

int main(void)
{
    pid_t child;
    me = (uint32_t)getpid();
    iterations = pc_scaled(20000);
    child = fork();
    if (child == 0)
        _exit(0);
    PC_CHECK(child > 0 && waitpid(child, NULL, 0) == child, "fork failed");
    dead_pid = (uint32_t)child;

    pc_rspin_init(&lock);
    pc_run_threads(THREADS, body, NULL);
    PC_EXCLUSION_CHECK(excl, THREADS * iterations);
    PC_CHECK(pc_rspin_owner(&lock) == 0, "left locked");

    /* A dead owner, waiters already parked (the waiters bit set). */
    atomic_store_explicit(&lock.state, dead_pid | PC_RSPIN_WAITERS, memory_order_relaxed);
    excl.counter = 0;
    pc_run_threads(THREADS, body_dead_owner, NULL);
    PC_CHECK(atomic_load(&died_seen) == 1, "%d threads saw OWNER_DIED, expected 1",
             atomic_load(&died_seen));
    PC_EXCLUSION_CHECK(excl, THREADS);

    /* The non-waiting robust try. */
    atomic_store_explicit(&lock.state, dead_pid, memory_order_relaxed);
    PC_CHECK(!pc_rspin_trylock(&lock, me), "trylock took a held lock");
    PC_CHECK(pc_rspin_trylock_robust(&lock, me) == PC_RSPIN_OWNER_DIED, "robust try");
    PC_CHECK(pc_rspin_owner(&lock) == me, "not ours after OWNER_DIED");
    PC_CHECK(pc_rspin_trylock_robust(&lock, me) == PC_RSPIN_TIMEDOUT, "re-entry succeeded");
    pc_rspin_unlock(&lock);
    printf("validate_rspin: %d threads x %ld, dead owner taken over once\n", THREADS,
           iterations);
    return 0;
}
