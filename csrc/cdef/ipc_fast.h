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

/* Shared-memory MPSC ring of byte records (pc_shring.h). */
typedef struct { ...; } pc_shring_t;
#define PC_SHRING_SLOTS ...
#define PC_SHRING_OK ...
#define PC_SHRING_FULL ...
#define PC_SHRING_DISCONNECTED ...
#define PC_SHRING_TOO_BIG ...
#define PC_SHRING_EMPTY ...
#define PC_SHRING_BUSY ...
#define PC_SHRING_TOO_SMALL ...
uint64_t pc_shring_cells_for(uint64_t capacity_bytes);
uint64_t pc_shring_bytes(uint64_t cells);
uint64_t pc_shring_max_payload(uint64_t cells);
void pc_shring_init(pc_shring_t *r, uint64_t cells, uint32_t rx_pid);
int pc_shring_check(pc_shring_t *r, uint64_t size);
uint64_t pc_shring_cells(pc_shring_t *r);
int pc_shring_register(pc_shring_t *r, uint32_t pid);
bool pc_shring_handles_add(pc_shring_t *r, int slot, uint32_t pid, int delta);
uint32_t pc_shring_senders(pc_shring_t *r, bool alive);
int pc_shring_try_send(pc_shring_t *r, int slot, const char *data, uint64_t len);
/* For tests: what a producer killed mid-send leaves (pc_shring.h). */
int pc_shring_debug_abandon(pc_shring_t *r, int slot, uint64_t len);
int64_t pc_shring_try_recv(pc_shring_t *r, uint32_t pid, char *buf,
                           uint64_t bufsize, int64_t *lens, int64_t maxn);
int64_t pc_shring_try_recv1(pc_shring_t *r, uint32_t pid, char *buf, uint64_t bufsize);
typedef struct {
    pc_shring_t *ring;
    char *buf;
    uint64_t bufsize;
    uint32_t pid;
    int32_t slot;
    ...;
} pc_shring_end_t;
int pc_shring_end_send(pc_shring_end_t *e, const char *data, uint64_t len);
int64_t pc_shring_end_recv1(pc_shring_end_t *e);
int64_t pc_shring_end_recv(pc_shring_end_t *e, int64_t *lens, int64_t maxn);
void pc_shring_end_done(pc_shring_end_t *e);
bool pc_shring_is_empty(pc_shring_t *r);
uint64_t pc_shring_len(pc_shring_t *r);
void pc_shring_set_receiver(pc_shring_t *r, uint32_t pid);
uint32_t pc_shring_receiver(pc_shring_t *r);
void pc_shring_close_receiver(pc_shring_t *r);
bool pc_shring_receiver_gone(pc_shring_t *r, bool check_alive);
void pc_shring_stats(pc_shring_t *r, uint64_t *out);
