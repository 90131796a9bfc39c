/*
 * cdef/core_fast.h - declarations for cffi (no #include, no #ifdef: cdef
 * accepts neither).  Every function here returns in bounded time without
 * waiting for another thread, so build.py makes cffi call it with the GIL
 * HELD: releasing and retaking the GIL would cost more than the call, and
 * under contention hands the GIL to another thread on every call.
 * Anything that can wait goes in a *_blocking.h file.
 */

/* Orderings (pc_config.h). */
#define PC_RELAXED ...
#define PC_ACQUIRE ...
#define PC_RELEASE ...
#define PC_ACQ_REL ...
#define PC_SEQ_CST ...

/* Layouts are the compiler's: cffi learns sizes at build time. */
typedef struct { ...; } pc_atomic_i64_t;
typedef struct { ...; } pc_atomic_u64_t;
typedef struct { ...; } pc_atomic_bool_t;
typedef struct { int64_t previous; bool ok; ...; } pc_cas_i64_t;
typedef struct { uint64_t previous; bool ok; ...; } pc_cas_u64_t;
typedef struct { bool previous; bool ok; ...; } pc_cas_bool_t;

int64_t pc_atomic_i64_load(pc_atomic_i64_t *a, int order);
void pc_atomic_i64_store(pc_atomic_i64_t *a, int64_t v, int order);
int64_t pc_atomic_i64_swap(pc_atomic_i64_t *a, int64_t v, int order);
int64_t pc_atomic_i64_fetch_add(pc_atomic_i64_t *a, int64_t v, int order);
int64_t pc_atomic_i64_fetch_sub(pc_atomic_i64_t *a, int64_t v, int order);
int64_t pc_atomic_i64_fetch_and(pc_atomic_i64_t *a, int64_t v, int order);
int64_t pc_atomic_i64_fetch_or(pc_atomic_i64_t *a, int64_t v, int order);
int64_t pc_atomic_i64_fetch_xor(pc_atomic_i64_t *a, int64_t v, int order);
int64_t pc_atomic_i64_fetch_nand(pc_atomic_i64_t *a, int64_t v, int order);
int64_t pc_atomic_i64_fetch_max(pc_atomic_i64_t *a, int64_t v, int order);
int64_t pc_atomic_i64_fetch_min(pc_atomic_i64_t *a, int64_t v, int order);
int64_t pc_atomic_i64_compare_exchange(pc_atomic_i64_t *a, int64_t expected,
                                       int64_t desired, int success, int failure);
pc_cas_i64_t pc_atomic_i64_compare_exchange_weak(pc_atomic_i64_t *a,
                                                 int64_t expected, int64_t desired,
                                                 int success, int failure);

uint64_t pc_atomic_u64_load(pc_atomic_u64_t *a, int order);
void pc_atomic_u64_store(pc_atomic_u64_t *a, uint64_t v, int order);
uint64_t pc_atomic_u64_swap(pc_atomic_u64_t *a, uint64_t v, int order);
uint64_t pc_atomic_u64_fetch_add(pc_atomic_u64_t *a, uint64_t v, int order);
uint64_t pc_atomic_u64_fetch_sub(pc_atomic_u64_t *a, uint64_t v, int order);
uint64_t pc_atomic_u64_fetch_and(pc_atomic_u64_t *a, uint64_t v, int order);
uint64_t pc_atomic_u64_fetch_or(pc_atomic_u64_t *a, uint64_t v, int order);
uint64_t pc_atomic_u64_fetch_xor(pc_atomic_u64_t *a, uint64_t v, int order);
uint64_t pc_atomic_u64_fetch_nand(pc_atomic_u64_t *a, uint64_t v, int order);
uint64_t pc_atomic_u64_fetch_max(pc_atomic_u64_t *a, uint64_t v, int order);
uint64_t pc_atomic_u64_fetch_min(pc_atomic_u64_t *a, uint64_t v, int order);
uint64_t pc_atomic_u64_compare_exchange(pc_atomic_u64_t *a, uint64_t expected,
                                        uint64_t desired, int success, int failure);
pc_cas_u64_t pc_atomic_u64_compare_exchange_weak(pc_atomic_u64_t *a,
                                                 uint64_t expected, uint64_t desired,
                                                 int success, int failure);

bool pc_atomic_bool_load(pc_atomic_bool_t *a, int order);
void pc_atomic_bool_store(pc_atomic_bool_t *a, bool v, int order);
bool pc_atomic_bool_swap(pc_atomic_bool_t *a, bool v, int order);
bool pc_atomic_bool_fetch_and(pc_atomic_bool_t *a, bool v, int order);
bool pc_atomic_bool_fetch_or(pc_atomic_bool_t *a, bool v, int order);
bool pc_atomic_bool_fetch_xor(pc_atomic_bool_t *a, bool v, int order);
bool pc_atomic_bool_fetch_nand(pc_atomic_bool_t *a, bool v, int order);
bool pc_atomic_bool_compare_exchange(pc_atomic_bool_t *a, bool expected,
                                     bool desired, int success, int failure);
pc_cas_bool_t pc_atomic_bool_compare_exchange_weak(pc_atomic_bool_t *a,
                                                   bool expected, bool desired,
                                                   int success, int failure);

void pc_atomic_fence(int order);

/* Spin lock (pc_spin.h): the non-waiting half. */
typedef struct { ...; } pc_spin_t;
#define PC_SPIN_UNLOCKED ...
#define PC_SPIN_LOCKED ...
#define PC_SPIN_CONTENDED ...
void pc_spin_init(pc_spin_t *l);
bool pc_spin_trylock(pc_spin_t *l);
/* May make one wake-up system call, which does not wait. */
uint32_t pc_spin_unlock(pc_spin_t *l, bool shared);
bool pc_spin_is_locked(pc_spin_t *l);

/* Platform facts. */
const char *pc_park_backend(void);
int64_t pc_now_ns(void);

/* GIL probe (defined in build.py's preamble): PyGILState_Check() as seen
 * from inside a call declared in this file.  Tests use it to prove that
 * the build kept the GIL for this file's functions. */
int pc_gil_probe_fast(void);

/* The longest single wait for Python (pc_config.h). */
#define PC_WAIT_SLICE_NS ...

/* Hand-off (pc_handoff.h): spin windows and the GIL hint. */
void pc_handoff_enable(bool on);
bool pc_handoff_enabled(void);
uint32_t pc_handoff_max_spinners(void);
