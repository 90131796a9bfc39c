/*
 * validate_once.c - pc_once, the core of pyconc.Once, OnceLock and
 * JoinHandle's "finished" word.
 *
 * THREADS threads race through CELLS once-cells in the same order.  For
 * each cell exactly one thread at a time runs the initialiser; in a third
 * of the cells the first run fails (INCOMPLETE: the next caller retries),
 * in another third it poisons (callers passing ignore_poison run it again,
 * a caller without sees POISONED).  Checks: the number of runs per cell is
 * exact (1, or 2 after a failure), no two runs overlap, and every thread
 * that sees COMPLETE reads the initialiser's plain write (release/acquire
 * on the state word; TSan checks the pairing).
 */
#include "harness.h"

#define THREADS 8

static long cells;
static pc_once_t *once;
static long *data;         /* plain: written by the initialiser */
static int *runs;          /* plain: written by the runner (state RUNNING) */
static _Atomic int *running;
static _Atomic long waits, told_poisoned;

static void run_cell(int t, long c)
{
    bool ignore = (c % 3 != 2) || (t % 2 == 0); /* odd threads see poison */
    for (;;) {
        uint32_t s = pc_once_try_begin(&once[c], ignore);
        if (s == PC_ONCE_COMPLETE)
            break;
        if (s == PC_ONCE_INCOMPLETE || (s == PC_ONCE_POISONED && ignore)) {
            PC_CHECK(atomic_fetch_add(&running[c], 1) == 0, "cell %ld: two runners", c);
            PC_CHECK(pc_once_state(&once[c]) == PC_ONCE_RUNNING, "runner but not RUNNING");
            int attempt = ++runs[c];
            atomic_fetch_sub(&running[c], 1);
            if (attempt == 1 && c % 3 != 0) {
                pc_once_finish(&once[c], c % 3 == 1 ? PC_ONCE_INCOMPLETE : PC_ONCE_POISONED);
                continue;
            }
            data[c] = c * 7 + 1;
            pc_once_finish(&once[c], PC_ONCE_COMPLETE);
            break;
        }
        if (s == PC_ONCE_POISONED) {
            atomic_fetch_add_explicit(&told_poisoned, 1, memory_order_relaxed);
            pc_thread_yield(); /* a caller that ignores it will complete it */
            continue;
        }
        PC_CHECK(s == PC_ONCE_RUNNING, "cell %ld: state %u", c, s);
        atomic_fetch_add_explicit(&waits, 1, memory_order_relaxed);
        while (pc_once_wait(&once[c], 1000000) == PC_ONCE_RUNNING)
            ;
    }
    PC_CHECK(pc_once_state(&once[c]) == PC_ONCE_COMPLETE, "cell %ld not complete", c);
    PC_CHECK(data[c] == c * 7 + 1, "thread %d: cell %ld complete but data %ld", t, c, data[c]);
}

static void body(int t, void *arg)
{
    (void)arg;
    for (long c = 0; c < cells; c++)
        run_cell(t, c);
}

/* Waiters for completion (pc_once_wait_done): thread 0 fails once
 * (POISONED), then completes with ignore_poison; the others wait, those
 * with ignore_poison through the poison.  Each round a fresh word. */
static pc_once_t done_word;
static long done_data;            /* plain: written by the initialiser */
static _Atomic long done_round, done_seen, done_poisoned;
static long done_rounds;

static void done_body(int t, void *arg)
{
    (void)arg;
    for (long r = 1; r <= done_rounds; r++) {
        if (t == 0) {
            pc_once_init(&done_word);
            done_data = 0;
            atomic_store_explicit(&done_round, r, memory_order_release);
            PC_CHECK(pc_once_try_begin(&done_word, false) == PC_ONCE_INCOMPLETE, "begin");
            pc_once_finish(&done_word, PC_ONCE_POISONED);
            PC_CHECK(pc_once_try_begin(&done_word, true) == PC_ONCE_POISONED, "force");
            done_data = r;
            pc_once_finish(&done_word, PC_ONCE_COMPLETE);
            while (atomic_load_explicit(&done_seen, memory_order_acquire) != r * 3)
                pc_thread_yield();
        } else {
            bool force = t % 2 == 0;
            uint32_t s;
            while (atomic_load_explicit(&done_round, memory_order_acquire) != r)
                pc_thread_yield();
            while ((s = pc_once_wait_done(&done_word, 2000000, force)) != PC_ONCE_COMPLETE &&
                   !(s == PC_ONCE_POISONED && !force))
                ;
            if (s == PC_ONCE_COMPLETE)
                PC_CHECK(done_data == r, "round %ld: the initialiser's write not seen", r);
            else
                atomic_fetch_add_explicit(&done_poisoned, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&done_seen, 1, memory_order_release);
        }
    }
}

int main(void)
{
    cells = pc_scaled(20000);
    once = calloc((size_t)cells, sizeof *once);
    data = calloc((size_t)cells, sizeof *data);
    runs = calloc((size_t)cells, sizeof *runs);
    running = calloc((size_t)cells, sizeof *running);
    PC_CHECK(once && data && runs && running, "out of memory");
    for (long c = 0; c < cells; c++)
        pc_once_init(&once[c]);
    pc_run_threads(THREADS, body, NULL);
    for (long c = 0; c < cells; c++)
        PC_CHECK(runs[c] == (c % 3 == 0 ? 1 : 2), "cell %ld ran %d times", c, runs[c]);

    /* Sequential: poison is reported to a caller without ignore_poison,
     * and the state is left as it was. */
    pc_once_t o;
    pc_once_init(&o);
    PC_CHECK(pc_once_try_begin(&o, false) == PC_ONCE_INCOMPLETE, "begin");
    PC_CHECK(pc_once_try_begin(&o, false) == PC_ONCE_RUNNING, "second begin while running");
    PC_CHECK(pc_once_wait(&o, 1000000) == PC_ONCE_RUNNING, "wait timed out");
    pc_once_finish(&o, PC_ONCE_POISONED);
    PC_CHECK(pc_once_try_begin(&o, false) == PC_ONCE_POISONED, "poison not reported");
    PC_CHECK(pc_once_state(&o) == PC_ONCE_POISONED, "state changed by a refused begin");
    PC_CHECK(pc_once_try_begin(&o, true) == PC_ONCE_POISONED, "ignore_poison did not run");
    pc_once_finish(&o, PC_ONCE_COMPLETE);
    PC_CHECK(pc_once_try_begin(&o, true) == PC_ONCE_COMPLETE, "ran a complete once");

    done_rounds = pc_scaled(2000);
    pc_run_threads(4, done_body, NULL);

    printf("validate_once: OK (%d threads x %ld cells, runs exact; %ld waits on a runner, "
           "%ld poisoned sightings; %ld rounds of completion waiters, %ld saw the poison)\n",
           THREADS, cells, (long)atomic_load(&waits), (long)atomic_load(&told_poisoned),
           done_rounds, (long)atomic_load(&done_poisoned));
    free(once);
    free(data);
    free(runs);
    free(running);
    return 0;
}
