/*
 * validate_parker.c - pc_parker, the token under pyconc.Parker and
 * pyconc.thread.park (Rust's park/unpark, crossbeam's Parker).
 *
 * 1. Nothing lost: unparkers bump a counter, then unpark; the parker parks
 *    (sliced, as the Python layer waits) until it has seen every bump.  A
 *    lost wake-up hangs (the alarm fails the run).
 * 2. Ping-pong: two threads, each with its own parker, hand a turn back
 *    and forth: exactly one of them runs at a time (plain counter), every
 *    turn is taken once.
 * 3. Tokens do not pile up: after many unparks with nobody parked, one
 *    park succeeds at once and the next times out.
 */
#include "harness.h"


#define UNPARKERS 3

static pc_parker_t p;
static _Atomic long bumps;
static long per;
static _Atomic long woken_slices, timed_out_slices;

static void phase1(int t, void *arg)
{
    (void)arg;
    if (t < UNPARKERS) {
        for (long i = 0; i < per; i++) {
            /* release: the parker's acquire of the token orders the read. */
            atomic_fetch_add_explicit(&bumps, 1, memory_order_release);
            pc_parker_unpark(&p);
            if (i % 64 == 0)
                pc_thread_yield();
        }
        return;
    }
    for (;;) {
        /* acquire: pairs with the bump's release. */
        if (atomic_load_explicit(&bumps, memory_order_acquire) == UNPARKERS * per)
            break;
        if (pc_parker_park_timed(&p, 20000000))
            atomic_fetch_add_explicit(&woken_slices, 1, memory_order_relaxed);
        else
            atomic_fetch_add_explicit(&timed_out_slices, 1, memory_order_relaxed);
    }
}

static pc_parker_t turn[2];
static long rounds;
static long plain_turns;         /* written only by the thread whose turn it is */
static _Atomic int inside;

static void phase2(int t, void *arg)
{
    (void)arg;
    /* Thread 0 has the first turn; thread 1 starts by waiting. */
    for (long i = 0; i < rounds; i++) {
        if (!(t == 0 && i == 0))
            while (!pc_parker_park_timed(&turn[t], 50000000))
                ;
        PC_CHECK(atomic_fetch_add_explicit(&inside, 1, memory_order_relaxed) == 0,
                 "two threads had the turn at once");
        plain_turns++;
        atomic_fetch_sub_explicit(&inside, 1, memory_order_relaxed);
        pc_parker_unpark(&turn[1 - t]);
    }
}


int main(void)
{
    pc_watchdog("validate_parker: FAILED: hung (a lost wake-up)\n", 600);

    per = pc_scaled(20000);
    pc_parker_init(&p);
    pc_run_threads(UNPARKERS + 1, phase1, NULL);
    PC_CHECK(atomic_load(&bumps) == UNPARKERS * per, "bumps %ld", (long)atomic_load(&bumps));

    rounds = pc_scaled(20000);
    pc_parker_init(&turn[0]);
    pc_parker_init(&turn[1]);
    pc_run_threads(2, phase2, NULL);
    PC_CHECK(plain_turns == 2 * rounds, "turns %ld, want %ld", plain_turns, 2 * rounds);

    /* Tokens do not accumulate; a timed-out park leaves no state behind. */
    pc_parker_init(&p);
    for (int k = 0; k < 100; k++)
        pc_parker_unpark(&p);
    PC_CHECK(pc_parker_park_timed(&p, 1000000), "the token was lost");
    PC_CHECK(!pc_parker_park_timed(&p, 1000000), "two tokens from many unparks");
    PC_CHECK(!pc_parker_try_park(&p), "a token after a timeout");
    PC_CHECK(atomic_load(&p.state) == PC_PARKER_EMPTY, "state left at %u",
             atomic_load(&p.state));
    pc_parker_unpark(&p);
    PC_CHECK(pc_parker_try_park(&p), "try_park missed a token");

    printf("validate_parker: OK (%d unparkers x %ld, %ld woken and %ld timed-out slices; "
           "%ld ping-pong turns)\n",
           UNPARKERS, per, (long)atomic_load(&woken_slices),
           (long)atomic_load(&timed_out_slices), 2 * rounds);
    return 0;
}
