/*
 * cdef/sync_fast.h - Rust's std::sync types and the broadcast channel:
 * the calls that never wait, called with the GIL HELD (see core_fast.h).
 * Unlocks and notifies may make one wake-up system call, which does not
 * wait.
 */

/* Mutex (pc_mutex.h). */
typedef struct { ...; } pc_mutex_t;
#define PC_MUTEX_OK ...
#define PC_MUTEX_POISONED ...
#define PC_MUTEX_BUSY ...
void pc_mutex_init(pc_mutex_t *m);
int pc_mutex_trylock(pc_mutex_t *m);
uint32_t pc_mutex_unlock(pc_mutex_t *m, bool poison);
bool pc_mutex_is_poisoned(pc_mutex_t *m);
void pc_mutex_clear_poison(pc_mutex_t *m);
bool pc_mutex_is_locked(pc_mutex_t *m);

/* Condvar (pc_condvar.h). */
typedef struct { ...; } pc_condvar_t;
#define PC_CONDVAR_NOTIFIED ...
#define PC_CONDVAR_PENDING ...
void pc_condvar_init(pc_condvar_t *cv);
uint32_t pc_condvar_unlock_prepare(pc_condvar_t *cv, pc_mutex_t *m);
void pc_condvar_notify_one(pc_condvar_t *cv);
void pc_condvar_notify_all(pc_condvar_t *cv);

/* RwLock (pc_rwlock.h). */
typedef struct { ...; } pc_rwlock_t;
#define PC_RWLOCK_OK ...
#define PC_RWLOCK_POISONED ...
#define PC_RWLOCK_BUSY ...
void pc_rwlock_init(pc_rwlock_t *rw);
int pc_rwlock_try_read(pc_rwlock_t *rw);
int pc_rwlock_try_write(pc_rwlock_t *rw);
void pc_rwlock_write_abandon(pc_rwlock_t *rw);
void pc_rwlock_read_unlock(pc_rwlock_t *rw);
void pc_rwlock_write_unlock(pc_rwlock_t *rw, bool poison);
bool pc_rwlock_is_poisoned(pc_rwlock_t *rw);
void pc_rwlock_clear_poison(pc_rwlock_t *rw);
int64_t pc_rwlock_holders(pc_rwlock_t *rw);

/* Once (pc_once.h). */
typedef struct { ...; } pc_once_t;
#define PC_ONCE_INCOMPLETE ...
#define PC_ONCE_RUNNING ...
#define PC_ONCE_COMPLETE ...
#define PC_ONCE_POISONED ...
void pc_once_init(pc_once_t *o);
uint32_t pc_once_state(pc_once_t *o);
uint32_t pc_once_try_begin(pc_once_t *o, bool ignore_poison);
void pc_once_finish(pc_once_t *o, uint32_t state);

/* Barrier (pc_barrier.h). */
typedef struct { ...; } pc_barrier_t;
#define PC_BARRIER_LEADER ...
void pc_barrier_init(pc_barrier_t *b, uint32_t n);
int64_t pc_barrier_arrive(pc_barrier_t *b);
bool pc_barrier_leave(pc_barrier_t *b, uint32_t round);

