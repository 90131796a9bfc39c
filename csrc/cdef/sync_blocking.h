/*
 * cdef/sync_blocking.h - Rust's std::sync types:
 * the calls that may wait, called with the GIL RELEASED (see
 * core_blocking.h).  Each waits at most the slice it is given and returns
 * early when a signal interrupts it.
 */

int pc_mutex_lock_timed(pc_mutex_t *m, int64_t timeout_ns);
int pc_condvar_wait(pc_condvar_t *cv, uint32_t seq, int64_t timeout_ns);
int pc_rwlock_read_timed(pc_rwlock_t *rw, int64_t timeout_ns);
int pc_rwlock_write_timed(pc_rwlock_t *rw, int64_t timeout_ns, bool waited);
uint32_t pc_once_wait(pc_once_t *o, int64_t timeout_ns);
bool pc_barrier_wait(pc_barrier_t *b, uint32_t round, int64_t timeout_ns);
