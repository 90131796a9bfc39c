/*
 * cdef/core_blocking.h - declarations for cffi of calls that may wait.  cffi
 * calls these with the GIL RELEASED, as it does by default.  Each one
 * waits for a bounded slice at most, which the Python layer passes in, so
 * that the calling thread comes back to the interpreter often enough for
 * signal handlers (Ctrl-C) to run.
 */

bool pc_spin_lock_timed(pc_spin_t *l, int64_t timeout_ns, bool shared);

/* C-level benchmark loops (pc_cbench.h). */
#define PC_CBENCH_SPIN ...
#define PC_CBENCH_OS_MUTEX ...
#define PC_CBENCH_FETCH_ADD ...
int64_t pc_cbench_run(int kind, int threads, int64_t iterations);

/* GIL probe: PyGILState_Check() from inside a call declared in this file
 * (expected 0: released). */
int pc_gil_probe_blocking(void);
