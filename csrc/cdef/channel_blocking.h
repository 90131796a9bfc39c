/*
 * cdef/channel_blocking.h - channel calls that may wait: called with the
 * GIL RELEASED.  Each waits at most timeout_ns (the Python layer passes
 * pyconc._timeout.SLICE_NS or less) and may return early; callers re-check.
 */

/* Receiver: until a value may be there, every sender is gone, or the
 * receiver is closed.  PC_CHAN_READY or PC_CHAN_TIMEDOUT. */
int pc_chan_recv_wait(pc_chan_t *c, int64_t timeout_ns);

/* Sender: pos < 0, until a bounded channel has room; pos >= 0, until the
 * rendezvous value pushed at pos is taken.  Also returns on close. */
int pc_chan_send_wait(pc_chan_t *c, int64_t pos, int64_t timeout_ns);

/* C-only queue benchmark (pc_qbench.h): wall time in ns, or -1. */
int64_t pc_qbench_run(int kind, int producers, int64_t per_producer);
