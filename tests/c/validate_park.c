/*
 * validate_park.c - pc_park: no lost wake-ups, timeouts honoured.
 *
 * Ping-pong: two threads hand a turn back and forth through one word,
 * each parking until the word shows its turn; a lost wake-up hangs (the
 * harness's alarm turns that into a failure).  Then many waiters on one
 * word, all released by one wake_all.  Then a timed wait with no waker
 * must time out, and not before its time.
 */
#include "harness.h"


static _Atomic uint32_t turn;
static long rounds;

static void body_ping_pong(int t, void *arg)
{
    (void)arg;
    for (long r = 0; r < rounds; r++) {
        uint32_t mine = (uint32_t)(2 * r + t); /* thread 0 even, 1 odd */
        uint32_t seen;
        /* acquire: the turn carries no data here, but this is the pattern
         * a real hand-off uses, and TSan checks it. */
        while ((seen = atomic_load_explicit(&turn, memory_order_acquire)) != mine) {
            PC_CHECK(seen < mine, "turn ran ahead: %u > %u", seen, mine);
            pc_park_wait(&turn, seen, -1, false);
        }
        atomic_store_explicit(&turn, mine + 1, memory_order_release); /* hand over */
        pc_park_wake_one(&turn, false);
    }
}

static _Atomic uint32_t gate;
static _Atomic int passed;

static void body_gate(int t, void *arg)
{
    (void)t;
    (void)arg;
    while (atomic_load_explicit(&gate, memory_order_acquire) == 0)
        pc_park_wait(&gate, 0, -1, false);
    atomic_fetch_add_explicit(&passed, 1, memory_order_relaxed);
}

static void body_opener(int t, void *arg)
{
    (void)arg;
    if (t != 0) {
        body_gate(t, arg);
        return;
    }
    struct timespec ts = {0, 20000000}; /* let the others park first */
    nanosleep(&ts, NULL);
    atomic_store_explicit(&gate, 1, memory_order_release);
    pc_park_wake_all(&gate, false);
}


int main(void)
{
    pc_watchdog("validate_park: FAILED: hung (a lost wake-up)\n", 120);
    rounds = pc_scaled(20000);

    pc_run_threads(2, body_ping_pong, NULL);
    PC_CHECK(atomic_load(&turn) == (uint32_t)(2 * rounds), "ping-pong ended at %u",
             atomic_load(&turn));

    pc_run_threads(8, body_opener, NULL);
    PC_CHECK(atomic_load(&passed) == 7, "wake_all released %d of 7 waiters",
             atomic_load(&passed));

    _Atomic uint32_t never = 5;
    int64_t t0 = pc_now_ns();
    int r = PC_PARK_WOKEN;
    while (r == PC_PARK_WOKEN && pc_now_ns() - t0 < 30000000)
        r = pc_park_wait(&never, 5, 30000000 - (pc_now_ns() - t0), false);
    int64_t waited = pc_now_ns() - t0;
    PC_CHECK(waited >= 29000000, "timed wait returned after %lld ns", (long long)waited);
    PC_CHECK(pc_park_wait(&never, 4, 1000000000, false) != PC_PARK_TIMEDOUT,
             "a wait on a changed value must return at once");

    printf("validate_park: OK (%ld ping-pong rounds, wake_all of 7, timeout %lld ms; backend %s)\n",
           rounds, (long long)(waited / 1000000), pc_park_backend());
    return 0;
}
