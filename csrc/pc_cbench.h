/*
 * pc_cbench.h - benchmark loops that run entirely in C.
 *
 * They measure the primitives without Python, beside the operating
 * system's own (pthread_mutex on POSIX, SRWLOCK on Windows) as the
 * baseline, with the same threads and the same loop.  Exposed through the
 * compiled module so that `python -m pyconc bench` can report them on any
 * machine the wheel installs on, with no compiler.
 */
#ifndef PC_CBENCH_H
#define PC_CBENCH_H

#include "pc_config.h"

enum {
    PC_CBENCH_SPIN = 0,      /* pc_spin lock; counter++; unlock */
    PC_CBENCH_OS_MUTEX = 1,  /* pthread_mutex / SRWLOCK, the same loop */
    PC_CBENCH_FETCH_ADD = 2  /* pc_atomic_i64_fetch_add(counter, 1) */
};

/*
 * Run `threads` threads, each doing `iterations` operations of `kind` on
 * one shared counter, started together.  Returns the wall time in
 * nanoseconds from the common start to the last thread's end, or -1 if the
 * arguments are bad, a thread could not be started, or the final count is
 * wrong (which would mean the primitive is broken).
 */
int64_t pc_cbench_run(int kind, int threads, int64_t iterations);

#endif /* PC_CBENCH_H */
