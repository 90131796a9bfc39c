/*
 * validate_waitgroup.c - pc_waitgroup, the core of pyconc.WaitGroup.
 *
 * Rounds: a group of THREADS workers plus the waiter; each worker writes
 * its slot (plain memory), then is done; the waiter, done itself, waits
 * (sliced, as the Python layer does) and must then see every slot of the
 * round.  Workers add members on the fly (a clone) in some rounds.  A lost
 * wake-up hangs (the alarm fails the run).  Then: a timed wait times out
 * while a member is left, and returns at once once it is done.
 */
#include "harness.h"


#define THREADS 5

static pc_waitgroup_t wg;
static long rounds;
static long slot[THREADS + 1];   /* plain: written by members, read by the waiter */
static _Atomic long round_no;    /* the round the members are in (set by the waiter) */
static _Atomic long started;     /* members that saw the round start */
static _Atomic long slices;

static void body(int t, void *arg)
{
    (void)arg;
    for (long r = 1; r <= rounds; r++) {
        if (t == 0) {
            /* The waiter: open the round for THREADS members and itself. */
            pc_waitgroup_init(&wg, THREADS + 1);
            for (int k = 0; k <= THREADS; k++)
                slot[k] = 0;
            /* release: the members see the reset group and slots. */
            atomic_store_explicit(&round_no, r, memory_order_release);
            pc_waitgroup_done(&wg);
            while (!pc_waitgroup_wait_timed(&wg, (r % 3) ? 20000000 : 1000))
                atomic_fetch_add_explicit(&slices, 1, memory_order_relaxed);
            for (int k = 1; k <= THREADS; k++)
                PC_CHECK(slot[k] == r * (r % 4 == 0 ? 2 : 1),
                         "round %ld: member %d's write not visible (%ld)", r, k, slot[k]);
            /* Wait until every member has left the round before reusing wg. */
            while (atomic_load_explicit(&started, memory_order_acquire) != r * THREADS)
                pc_thread_yield();
        } else {
            /* acquire: pairs with the waiter's release of the round. */
            while (atomic_load_explicit(&round_no, memory_order_acquire) != r)
                pc_thread_yield();
            if (r % 4 == 0) {
                /* A clone: one more member, done by this thread too. */
                pc_waitgroup_add(&wg);
                slot[t] = r;
                pc_waitgroup_done(&wg);
                slot[t] += r;
            } else {
                slot[t] = r;
            }
            atomic_fetch_add_explicit(&started, 1, memory_order_release);
            pc_waitgroup_done(&wg);
        }
    }
}


int main(void)
{
    pc_watchdog("validate_waitgroup: FAILED: hung (a lost wake-up)\n", 600);
    rounds = pc_scaled(5000);
    pc_run_threads(THREADS + 1, body, NULL);

    pc_waitgroup_init(&wg, 1);
    PC_CHECK(!pc_waitgroup_wait_timed(&wg, 1000000), "waited past a member left");
    pc_waitgroup_done(&wg);
    PC_CHECK(pc_waitgroup_wait_timed(&wg, 0) && pc_waitgroup_is_zero(&wg), "not zero");

    printf("validate_waitgroup: OK (%ld rounds of %d members, %ld busy slices)\n", rounds,
           THREADS, (long)atomic_load(&slices));
    return 0;
}
