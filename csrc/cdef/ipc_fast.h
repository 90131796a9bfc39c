/*
 * cdef/ipc_fast.h - declarations for cffi of the cross-process primitives'
 * calls that never wait (called with the GIL HELD; see core_fast.h).  Some
 * make one or two non-waiting system calls: kill(pid, 0) and a read of
 * /proc to test a process's liveness, or one futex wake.
 */

/* Process liveness (pc_ipc.h). */
#define PC_IPC_PID_MASK ...
bool pc_ipc_pid_alive(uint32_t pid);
typedef struct { ...; } pc_ipc_user_t;
bool pc_ipc_users_add(pc_ipc_user_t *table, uint32_t n, uint32_t pid, int32_t delta);
uint32_t pc_ipc_users_live(pc_ipc_user_t *table, uint32_t n);

/* Robust spin lock for shared memory (pc_rspin.h). */
typedef struct { ...; } pc_rspin_t;
#define PC_RSPIN_WAITERS ...
#define PC_RSPIN_TIMEDOUT ...
#define PC_RSPIN_ACQUIRED ...
#define PC_RSPIN_OWNER_DIED ...
bool pc_rspin_trylock(pc_rspin_t *l, uint32_t pid);
/* Makes up to two system calls (liveness) when the lock is held. */
int pc_rspin_trylock_robust(pc_rspin_t *l, uint32_t pid);
uint32_t pc_rspin_unlock(pc_rspin_t *l);
uint32_t pc_rspin_owner(pc_rspin_t *l);

/* Shared-memory MPSC ring of byte records (pc_shring.h): the Python
 * handles are pyconc._core.IpcHandle (pyglue/pc_shring_py.h); cffi needs
 * only the sizes, for the segment layout. */
#define PC_SHRING_SLOTS ...
uint64_t pc_shring_cells_for(uint64_t capacity_bytes);
uint64_t pc_shring_bytes(uint64_t cells);
uint64_t pc_shring_max_payload(uint64_t cells);
