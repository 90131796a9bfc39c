/*
 * validate_barrier.c - pc_barrier, the core of pyconc.Barrier.
 *
 * THREADS threads run many rounds.  In each round every thread writes its
 * slot (plain memory) before the barrier and, after it, reads everybody's:
 * the barrier's acq_rel arrival and release/acquire on `rounds` must make
 * every write visible (a stale slot fails, and TSan reports an unordered
 * pair).  Exactly one leader per round.  Some arrivals give up after a
 * tiny wait and take their arrival back (pc_barrier_leave, as an
 * interrupted Python wait does) and arrive again: the round still counts
 * each thread once, and never completes without everybody.
 */
#include "harness.h"

#define THREADS 6

static pc_barrier_t bar;
static long rounds;
static long slot[2][THREADS]; /* plain: [round parity][thread] */
static _Atomic long leaders, left_back, left_too_late;
static _Atomic long inside[2]; /* arrivals counted per round parity */

static bool pass(int t, long r)
{
    int64_t a = pc_barrier_arrive(&bar);
    if (a == PC_BARRIER_LEADER)
        return true;
    uint32_t round = (uint32_t)a;
    PC_CHECK(round == (uint32_t)r, "thread %d arrived in round %u during round %ld", t, round, r);
    if ((t + r) % 5 == 0) {
        /* Wait a moment only, then take the arrival back and re-arrive. */
        if (!pc_barrier_wait(&bar, round, 1000)) {
            if (pc_barrier_leave(&bar, round)) {
                atomic_fetch_add_explicit(&left_back, 1, memory_order_relaxed);
                return pass(t, r);
            }
            atomic_fetch_add_explicit(&left_too_late, 1, memory_order_relaxed);
        }
    }
    while (!pc_barrier_wait(&bar, round, 50000000))
        ;
    return false;
}

static void body(int t, void *arg)
{
    (void)arg;
    for (long r = 0; r < rounds; r++) {
        int par = (int)(r % 2);
        slot[par][t] = r;
        atomic_fetch_add_explicit(&inside[par], 1, memory_order_relaxed);
        if (pass(t, r))
            atomic_fetch_add_explicit(&leaders, 1, memory_order_relaxed);
        /* Everyone of round r has arrived: all of them counted in, and
         * their slots written. */
        long in = atomic_load_explicit(&inside[par], memory_order_relaxed);
        PC_CHECK(in >= (r / 2 + 1) * THREADS, "round %ld passed with %ld of %ld arrivals", r,
                 in, (r / 2 + 1) * THREADS);
        for (int k = 0; k < THREADS; k++)
            PC_CHECK(slot[par][k] == r, "round %ld: thread %d saw thread %d's slot at %ld", r,
                     t, k, slot[par][k]);
    }
}

int main(void)
{
    rounds = pc_scaled(20000);
    pc_barrier_init(&bar, THREADS);
    pc_run_threads(THREADS, body, NULL);
    PC_CHECK(atomic_load(&leaders) == rounds, "%ld leaders for %ld rounds",
             (long)atomic_load(&leaders), rounds);
    PC_CHECK(atomic_load(&bar.rounds) == (uint32_t)rounds, "rounds word %u",
             atomic_load(&bar.rounds));
    PC_CHECK(atomic_load(&bar.state) == ((uint64_t)rounds << 32), "state %#llx",
             (unsigned long long)atomic_load(&bar.state));

    /* The leader's window, deterministically: the n-th arrival is counted
     * (its fetch_add) but the leader has not yet opened the next round
     * (its second fetch_add).  The round is complete: an arrival of it
     * must not be taken back.  (Before the fix, leave succeeded here, the
     * leader's subtraction of n then borrowed from the round number, and
     * later rounds were garbage; TSan's scheduling found it in the stress
     * part above.) */
    pc_barrier_t w;
    pc_barrier_init(&w, 2);
    int64_t r0 = pc_barrier_arrive(&w);
    PC_CHECK(r0 == 0, "first arrival in round %lld", (long long)r0);
    atomic_fetch_add_explicit(&w.state, 1, memory_order_acq_rel); /* the leader's arrival */
    PC_CHECK(!pc_barrier_leave(&w, 0), "an arrival taken back from a completed round "
             "(the leader was between its two steps)");
    atomic_fetch_add_explicit(&w.state, ((uint64_t)1 << 32) - 2, memory_order_acq_rel);
    PC_CHECK(atomic_load(&w.state) == (uint64_t)1 << 32, "state %#llx after the window",
             (unsigned long long)atomic_load(&w.state));

    /* A barrier of one: every arrival leads. */
    pc_barrier_t one;
    pc_barrier_init(&one, 1);
    for (int k = 0; k < 10; k++)
        PC_CHECK(pc_barrier_arrive(&one) == PC_BARRIER_LEADER, "a barrier of 1 waited");

    printf("validate_barrier: OK (%d threads x %ld rounds, one leader each; %ld arrivals "
           "taken back, %ld too late to take back)\n",
           THREADS, rounds, (long)atomic_load(&left_back), (long)atomic_load(&left_too_late));
    return 0;
}
