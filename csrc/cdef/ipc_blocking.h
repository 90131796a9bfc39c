/*
 * cdef/ipc_blocking.h - the cross-process primitives' calls that may wait
 * (called with the GIL RELEASED; see core_blocking.h).  Each waits at most
 * the slice the Python layer passes in.
 */

int pc_rspin_lock_timed(pc_rspin_t *l, uint32_t pid, int64_t timeout_ns);
