/*
 * cdef/channel_blocking.h - channel calls that may wait: called with the
 * GIL RELEASED.  (The channel's own waits are in pyglue/pc_chan_py.h,
 * through pc_py_wait.)
 */

/* C-only queue benchmark (pc_qbench.h): wall time in ns, or -1. */
int64_t pc_qbench_run(int kind, int producers, int64_t per_producer);
