/*
 * validate_rwlock.c - pc_rwlock, the core of pyconc.RwLock (Rust's futex
 * RwLock with timeouts).
 *
 * Readers and writers mixed on one lock, taking it by try, by sliced timed
 * waits (the Python layer's loop, with `waited` set after the first
 * slice), and giving up (a writer that times out calls
 * pc_rwlock_write_abandon).  Checks: a writer is alone (no reader, no
 * other writer: counted on entry), readers see a consistent pair of plain
 * fields written by writers, the writers' plain counter is exact, readers
 * do get in while writers keep coming, and the state word ends at zero
 * (no stray waiting bit).  Every third write is downgraded to a read
 * (pc_rwlock_downgrade) and checked: no writer gets in before its read
 * unlock.  Then a poison hand-over: a writer poisons, the
 * next reader and writer see it and the value it wrote.
 */
#include "harness.h"


#define THREADS 8
#define WRITERS 3

static pc_rwlock_t rw;
static long a, b;               /* plain: written by writers, a == b always */
static _Atomic int readers_in;  /* readers inside */
static _Atomic int writers_in;  /* writers inside */
static long iterations;
static _Atomic long reads, gave_up, busy_slices, downgrades;

/* Stay inside a moment, so that the others pile up and wait. */
static void hold(void)
{
    for (int s = 0; s < 64; s++)
        pc_cpu_relax();
}

static int read_lock(int t, long i)
{
    int r;
    if ((t + i) % 4 == 0) {
        while ((r = pc_rwlock_try_read(&rw)) == PC_RWLOCK_BUSY)
            pc_thread_yield();
        return r;
    }
    /* Sliced, as RwLock._wait_read: 20 us slices until it is held. */
    while ((r = pc_rwlock_read_timed(&rw, 20000)) == PC_RWLOCK_BUSY)
        atomic_fetch_add_explicit(&busy_slices, 1, memory_order_relaxed);
    return r;
}

/* Returns PC_RWLOCK_BUSY if it gave up (after abandoning). */
static int write_lock(int t, long i)
{
    int r;
    bool waited = false;
    if ((t + i) % 4 == 0) {
        while ((r = pc_rwlock_try_write(&rw)) == PC_RWLOCK_BUSY)
            pc_thread_yield();
        return r;
    }
    for (int slice = 0;; slice++) {
        r = pc_rwlock_write_timed(&rw, (t + i) % 7 == 1 ? 1000 : 50000, waited);
        if (r != PC_RWLOCK_BUSY)
            return r;
        atomic_fetch_add_explicit(&busy_slices, 1, memory_order_relaxed);
        waited = true;
        if ((t + i) % 7 == 1 && slice == 2) {
            /* A timeout: the writer gives up, as RwLock._wait_write's
             * except clause does. */
            pc_rwlock_write_abandon(&rw);
            atomic_fetch_add_explicit(&gave_up, 1, memory_order_relaxed);
            return PC_RWLOCK_BUSY;
        }
    }
}

static void body(int t, void *arg)
{
    (void)arg;
    for (long i = 0; i < iterations; i++) {
        if (t < WRITERS) {
            int r = write_lock(t, i);
            if (r == PC_RWLOCK_BUSY) {
                i--; /* try this increment again */
                continue;
            }
            PC_CHECK(r == PC_RWLOCK_OK, "write lock returned %d", r);
            PC_CHECK(pc_rwlock_holders(&rw) == -1, "write-locked but holders = %lld",
                     (long long)pc_rwlock_holders(&rw));
            /* relaxed: counts only; the lock is what is being checked. */
            int w = atomic_fetch_add_explicit(&writers_in, 1, memory_order_relaxed);
            int rd = atomic_load_explicit(&readers_in, memory_order_relaxed);
            PC_CHECK(w == 0 && rd == 0, "a writer got in beside %d writers and %d readers", w, rd);
            a++;
            hold();
            b++;
            atomic_fetch_sub_explicit(&writers_in, 1, memory_order_relaxed);
            if (i % 3 == 2) {
                /* Downgrade: keep reading what we wrote; no writer may get
                 * in before our read unlock (their a++ would show). */
                long x = a;
                atomic_fetch_add_explicit(&readers_in, 1, memory_order_relaxed);
                pc_rwlock_downgrade(&rw);
                PC_CHECK(pc_rwlock_holders(&rw) >= 1, "downgraded but holders = %lld",
                         (long long)pc_rwlock_holders(&rw));
                hold();
                PC_CHECK(a == x && b == x, "a writer got in during a downgrade: %ld/%ld, want %ld",
                         a, b, x);
                atomic_fetch_sub_explicit(&readers_in, 1, memory_order_relaxed);
                atomic_fetch_add_explicit(&downgrades, 1, memory_order_relaxed);
                pc_rwlock_read_unlock(&rw);
                continue;
            }
            pc_rwlock_write_unlock(&rw, false);
        } else {
            int r = read_lock(t, i);
            PC_CHECK(r == PC_RWLOCK_OK, "read lock returned %d", r);
            atomic_fetch_add_explicit(&readers_in, 1, memory_order_relaxed);
            int w = atomic_load_explicit(&writers_in, memory_order_relaxed);
            PC_CHECK(w == 0, "a reader got in beside a writer");
            long x = a;
            hold();
            long y = b;
            PC_CHECK(x == y, "reader saw a torn write: a=%ld b=%ld", x, y);
            atomic_fetch_sub_explicit(&readers_in, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&reads, 1, memory_order_relaxed);
            pc_rwlock_read_unlock(&rw);
        }
    }
}

/* Poison hand-over, turn by turn: thread 0 writes and poisons on odd
 * rounds; thread 1 reads, then writes and clears. */
static _Atomic long turn;
static long rounds;

static void poison_body(int t, void *arg)
{
    (void)arg;
    for (long k = 0; k < rounds; k++) {
        while (atomic_load_explicit(&turn, memory_order_acquire) != 2 * k + t)
            pc_thread_yield();
        bool odd = k % 2 == 1;
        if (t == 0) {
            int r = pc_rwlock_write_timed(&rw, 1000000000, false);
            PC_CHECK(r == PC_RWLOCK_OK, "round %ld: writer saw %d", k, r);
            a = b = k;
            pc_rwlock_write_unlock(&rw, odd);
        } else {
            int want = odd ? PC_RWLOCK_POISONED : PC_RWLOCK_OK;
            int r = pc_rwlock_read_timed(&rw, 1000000000);
            PC_CHECK(r == want, "round %ld: reader saw %d, want %d", k, r, want);
            PC_CHECK(a == k && b == k, "round %ld: reader saw round %ld", k, a);
            pc_rwlock_read_unlock(&rw); /* a reader never poisons */
            r = pc_rwlock_try_write(&rw);
            PC_CHECK(r == want, "round %ld: next writer saw %d, want %d", k, r, want);
            PC_CHECK(pc_rwlock_is_poisoned(&rw) == odd, "round %ld: is_poisoned", k);
            pc_rwlock_clear_poison(&rw);
            pc_rwlock_write_unlock(&rw, false);
        }
        atomic_store_explicit(&turn, 2 * k + t + 1, memory_order_release);
    }
}


int main(void)
{
    pc_watchdog("validate_rwlock: FAILED: hung (a lost wake-up or a stuck bit)\n", 600);
    iterations = pc_scaled(20000);
    pc_rwlock_init(&rw);
    pc_run_threads(THREADS, body, NULL);
    PC_CHECK(a == WRITERS * iterations && b == a, "writers' counter %ld/%ld, want %ld", a, b,
             (long)WRITERS * iterations);
    PC_CHECK(atomic_load(&reads) == (THREADS - WRITERS) * iterations, "reads %ld",
             (long)atomic_load(&reads));
    PC_CHECK(atomic_load(&rw.state) == 0, "state word left at %#x", atomic_load(&rw.state));
    PC_CHECK(atomic_load(&rw.writers_parked) == 0, "writers_parked left at %u",
             atomic_load(&rw.writers_parked));

    rounds = pc_scaled(5000);
    pc_run_threads(2, poison_body, NULL);
    PC_CHECK(!pc_rwlock_is_poisoned(&rw) && atomic_load(&rw.state) == 0, "left poisoned or held");

    /* Read lock is shared: many readers at once, and a writer is refused. */
    for (int k = 0; k < 100; k++)
        PC_CHECK(pc_rwlock_try_read(&rw) == PC_RWLOCK_OK, "reader %d refused", k);
    PC_CHECK(pc_rwlock_holders(&rw) == 100, "holders %lld", (long long)pc_rwlock_holders(&rw));
    PC_CHECK(pc_rwlock_try_write(&rw) == PC_RWLOCK_BUSY, "a writer beside readers");
    PC_CHECK(pc_rwlock_write_timed(&rw, 1000000, false) == PC_RWLOCK_BUSY, "timed writer");
    pc_rwlock_write_abandon(&rw);
    PC_CHECK(pc_rwlock_try_read(&rw) == PC_RWLOCK_OK, "a reader refused after an abandon");
    for (int k = 0; k < 101; k++)
        pc_rwlock_read_unlock(&rw);
    PC_CHECK(atomic_load(&rw.state) == 0, "state word left at %#x", atomic_load(&rw.state));

    printf("validate_rwlock: OK (%d writers + %d readers x %ld; %ld reads, %ld busy slices, "
           "%ld writers gave up, %ld downgrades; %ld poison hand-overs)\n",
           WRITERS, THREADS - WRITERS, iterations, (long)atomic_load(&reads),
           (long)atomic_load(&busy_slices), (long)atomic_load(&gave_up),
           (long)atomic_load(&downgrades), rounds);
    return 0;
}
