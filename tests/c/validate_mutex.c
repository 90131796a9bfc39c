/*
 * validate_mutex.c - pc_mutex and pc_condvar, the cores of pyconc.Mutex
 * and pyconc.Condvar.
 *
 *  1. Mutual exclusion: threads take the mutex by trylock, timed and
 *     unbounded waits, and increment a plain counter; an occupancy flag
 *     catches two holders at once (and TSan the unordered accesses).
 *  2. Poison hand-over: a holder writes a value and unlocks, poisoning on
 *     odd rounds; the next holder must see the value and exactly that
 *     poison state, then clears it.
 *  3. Condvar: a bounded buffer of 4 slots under the mutex, with the
 *     not_full / not_empty pair; producers and consumers wait with the
 *     sliced protocol of the Python layer (prepare, wait, cancel on a
 *     short "timeout", relock).  Every value arrives exactly once, each
 *     producer's values in order per consumer, and no long wait ever ends
 *     without a notify (that would be a lost wake-up).
 */
#include "harness.h"

#define THREADS 8

static pc_mutex_t m;
static pc_exclusion_t excl; /* the harness's counter and occupancy flag */
static long iterations;
static _Atomic long timeouts;

static void lock_somehow(int t, long i)
{
    int r;
    switch ((t + i) % 3) {
    case 0:
        r = pc_mutex_lock_timed(&m, -1);
        PC_CHECK(r == PC_MUTEX_OK, "unbounded lock returned %d", r);
        break;
    case 1:
        while ((r = pc_mutex_lock_timed(&m, 2000)) == PC_MUTEX_BUSY) /* 2 us */
            atomic_fetch_add_explicit(&timeouts, 1, memory_order_relaxed);
        PC_CHECK(r == PC_MUTEX_OK, "timed lock returned %d", r);
        break;
    default:
        while ((r = pc_mutex_trylock(&m)) == PC_MUTEX_BUSY)
            pc_cpu_relax();
        PC_CHECK(r == PC_MUTEX_OK, "trylock returned %d", r);
    }
}

PC_EXCLUSION_BODY(exclusion_body, excl, iterations,
                  {
                      lock_somehow(t, i);
                      PC_CHECK(pc_mutex_is_locked(&m), "held but not locked");
                  },
                  PC_CHECK(pc_mutex_unlock(&m, false) != PC_SPIN_UNLOCKED,
                           "unlock of an unlocked mutex"))

/* 2: poison hand-over between two threads, turn by turn. */
static _Atomic long turn;
static long handed; /* plain: written under m */

static void poison_body(int t, void *arg)
{
    (void)arg;
    for (long k = 0; k < iterations; k++) {
        /* acquire: only a turn counter; the mutex orders the data. */
        while (atomic_load_explicit(&turn, memory_order_acquire) != 2 * k + t)
            pc_thread_yield();
        int r = pc_mutex_lock_timed(&m, -1);
        if (t == 0) {
            PC_CHECK(r == PC_MUTEX_OK, "round %ld: poisoned before the poisoning", k);
            handed = k;
            pc_mutex_unlock(&m, k % 2 == 1); /* leave "by an exception" on odd rounds */
        } else {
            int want = k % 2 == 1 ? PC_MUTEX_POISONED : PC_MUTEX_OK;
            PC_CHECK(r == want, "round %ld: lock returned %d, want %d", k, r, want);
            PC_CHECK(handed == k, "round %ld: saw the value of round %ld", k, handed);
            PC_CHECK(pc_mutex_is_poisoned(&m) == (k % 2 == 1), "round %ld: is_poisoned", k);
            pc_mutex_clear_poison(&m);
            pc_mutex_unlock(&m, false);
        }
        atomic_store_explicit(&turn, 2 * k + t + 1, memory_order_release);
    }
}

/* 3: bounded buffer on a mutex and two condvars. */
#define PRODUCERS 3
#define CONSUMERS 3
#define SLOTS 4
#define LONG_SLICE 5000000000LL /* 5 s: ending without a notify = lost wake-up */

static pc_condvar_t not_full, not_empty;
static uint64_t buf[SLOTS]; /* plain: under m */
static int buf_head, buf_count, producers_done;
static long per_producer;
static _Atomic uint32_t *seen; /* seen[p * per_producer + i] */
static _Atomic long lost_wakeups, short_waits;

/* Wait on cv with the mutex held; returns with it held again.  Every
 * fifth wait gives up after a short slice (a Python timeout), the others
 * wait one long slice, as the Python layer's loop would. */
static void cv_wait(pc_condvar_t *cv, long k)
{
    uint32_t seq = pc_condvar_unlock_prepare(cv, &m);
    if (k % 5 == 4) {
        if (pc_condvar_wait(cv, seq, 1000) == PC_CONDVAR_PENDING)
            atomic_fetch_add_explicit(&short_waits, 1, memory_order_relaxed);
    } else if (pc_condvar_wait(cv, seq, LONG_SLICE) == PC_CONDVAR_PENDING) {
        atomic_fetch_add_explicit(&lost_wakeups, 1, memory_order_relaxed);
    }
    while (pc_mutex_trylock(&m) == PC_MUTEX_BUSY) /* the GIL-held try first */
        if (pc_mutex_lock_timed(&m, 1000000) != PC_MUTEX_BUSY)
            break;
}

static void buffer_body(int t, void *arg)
{
    (void)arg;
    long waits = 0;
    if (t < PRODUCERS) {
        for (long i = 0; i < per_producer; i++) {
            pc_mutex_lock_timed(&m, -1);
            while (buf_count == SLOTS)
                cv_wait(&not_full, waits++);
            buf[(buf_head + buf_count) % SLOTS] = ((uint64_t)t << 40) | (uint64_t)i;
            buf_count++;
            pc_mutex_unlock(&m, false);
            pc_condvar_notify_one(&not_empty);
        }
        pc_mutex_lock_timed(&m, -1);
        producers_done++;
        pc_mutex_unlock(&m, false);
        pc_condvar_notify_all(&not_empty);
        return;
    }
    long last[PRODUCERS];
    for (int p = 0; p < PRODUCERS; p++)
        last[p] = -1;
    for (;;) {
        pc_mutex_lock_timed(&m, -1);
        while (buf_count == 0 && producers_done < PRODUCERS)
            cv_wait(&not_empty, waits++);
        if (buf_count == 0) {
            pc_mutex_unlock(&m, false);
            return;
        }
        uint64_t x = buf[buf_head];
        buf_head = (buf_head + 1) % SLOTS;
        buf_count--;
        pc_mutex_unlock(&m, false);
        pc_condvar_notify_one(&not_full);
        int p = (int)(x >> 40);
        long i = (long)(x & (((uint64_t)1 << 40) - 1));
        PC_CHECK(p < PRODUCERS && i < per_producer, "a value from nowhere");
        PC_CHECK(i > last[p], "consumer %d: producer %d's %ld after %ld", t, p, i, last[p]);
        last[p] = i;
        uint32_t was = atomic_fetch_add_explicit(&seen[p * per_producer + i], 1,
                                                 memory_order_relaxed);
        PC_CHECK(was == 0, "producer %d's value %ld received twice", p, i);
    }
}

int main(void)
{
    iterations = pc_scaled(50000);
    pc_mutex_init(&m);
    pc_run_threads(THREADS, exclusion_body, NULL);
    PC_EXCLUSION_CHECK(excl, THREADS * iterations);
    PC_CHECK(!pc_mutex_is_locked(&m) && !pc_mutex_is_poisoned(&m), "left locked or poisoned");

    long exclusion = iterations;
    iterations = pc_scaled(5000);
    pc_run_threads(2, poison_body, NULL);
    PC_CHECK(!pc_mutex_is_poisoned(&m), "poison not cleared");

    per_producer = pc_scaled(20000);
    seen = calloc((size_t)(PRODUCERS * per_producer), sizeof *seen);
    PC_CHECK(seen != NULL, "out of memory");
    pc_condvar_init(&not_full);
    pc_condvar_init(&not_empty);
    pc_run_threads(PRODUCERS + CONSUMERS, buffer_body, NULL);
    for (long k = 0; k < PRODUCERS * per_producer; k++)
        PC_CHECK(atomic_load(&seen[k]) == 1, "producer %ld's value %ld received %u times",
                 k / per_producer, k % per_producer, atomic_load(&seen[k]));
    PC_CHECK(atomic_load(&lost_wakeups) == 0, "%ld condvar waits ended without a notify",
             (long)atomic_load(&lost_wakeups));
    PC_CHECK(atomic_load(&not_full.waiters) == 0 && atomic_load(&not_empty.waiters) == 0,
             "condvar waiters left registered: %u, %u", atomic_load(&not_full.waiters),
             atomic_load(&not_empty.waiters));
    free((void *)seen);

    printf("validate_mutex: OK (%d threads x %ld locks, %ld timed-out tries; %ld poison "
           "hand-overs; condvar buffer %dx%ld through %d slots, %ld short waits given up)\n",
           THREADS, exclusion, (long)atomic_load(&timeouts), iterations, PRODUCERS,
           per_producer, SLOTS, (long)atomic_load(&short_waits));
    return 0;
}
