/*
 * pc_config.h - the one place where pyconc meets the compiler and the CPU.
 *
 * Everything platform-specific that is not waiting (see pc_park.h) lives
 * here: the atomics header, cache-line padding, the spin-wait hint and a
 * monotonic clock.  The rest of csrc/ is written against these names only.
 */
#ifndef PC_CONFIG_H
#define PC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Atomics: C11 <stdatomic.h> everywhere.  gcc and clang have it natively;
 * MSVC has it since Visual Studio 2022 17.5 behind /experimental:c11atomics
 * (build.py passes that flag, together with /std:c11, on Windows).
 */
#include <stdatomic.h>

/*
 * Cache-line padding.  Fields written by different threads are kept
 * PC_CACHELINE bytes apart.  128 rather than 64 on x86-64 and aarch64:
 * Intel's spatial prefetcher pulls cache lines in adjacent pairs, and Apple's
 * and many Arm server cores have 128-byte lines, so 64-byte padding still
 * lets two "separate" fields share a prefetch unit (crossbeam-utils'
 * CachePadded makes the same choice for the same reason).
 */
#if defined(__x86_64__) || defined(_M_X64) || defined(__aarch64__) || \
    defined(_M_ARM64) || defined(__powerpc64__)
#define PC_CACHELINE 128
#else
#define PC_CACHELINE 64
#endif

/* PC_COLD: a slow path kept out of line, so that the fast path it leaves
 * is a small function (no frame to build for the common call). */
#if defined(_MSC_VER) && !defined(__clang__)
#define PC_ALIGNED(n) __declspec(align(n))
#define PC_INLINE static __forceinline
#define PC_COLD static __declspec(noinline)
#define PC_LIKELY(x) (x)
#define PC_UNLIKELY(x) (x)
#else
#define PC_ALIGNED(n) __attribute__((aligned(n)))
#define PC_INLINE static inline __attribute__((always_inline))
#define PC_COLD static __attribute__((noinline, cold))
#define PC_LIKELY(x) __builtin_expect(!!(x), 1)
#define PC_UNLIKELY(x) __builtin_expect(!!(x), 0)
#endif

/* The spin-wait hint: tells the core we are busy-waiting, which saves
 * power, frees the sibling hyperthread, and avoids the memory-order
 * mis-speculation penalty when the awaited line finally changes. */
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#if defined(_M_X64) || defined(_M_IX86)
#define pc_cpu_relax() _mm_pause()
#elif defined(_M_ARM64) || defined(_M_ARM)
#define pc_cpu_relax() __yield()
#else
#define pc_cpu_relax() ((void)0)
#endif
#elif defined(__x86_64__) || defined(__i386__)
#define pc_cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__) || (defined(__arm__) && __ARM_ARCH >= 7)
#define pc_cpu_relax() __asm__ __volatile__("yield" ::: "memory")
#elif defined(__powerpc__) || defined(__powerpc64__)
#define pc_cpu_relax() __asm__ __volatile__("or 27,27,27" ::: "memory")
#elif defined(__riscv)
/* "pause" from Zihintpause, encoded so that older assemblers accept it. */
#define pc_cpu_relax() __asm__ __volatile__(".insn i 0x0F, 0, x0, x0, 0x010")
#else
#define pc_cpu_relax() atomic_signal_fence(memory_order_seq_cst)
#endif

/* Give the rest of this time slice to another runnable thread. */
void pc_thread_yield(void);

/* Monotonic time in nanoseconds, for deadlines. */
int64_t pc_now_ns(void);

/* The longest a wait made for Python lasts before it returns to the
 * interpreter, which then runs signal handlers (Ctrl-C) and checks its
 * deadline.  pyconc._timeout.SLICE_NS reads it from here. */
#define PC_WAIT_SLICE_NS 50000000

/* Online CPUs (at least 1). */
uint32_t pc_cpu_count(void);

/* The calling process's id (for diagnostics and ownership records). */
uint32_t pc_process_id(void);

/*
 * pyconc's memory orderings, as passed from Python.  Their values are ours
 * (the numeric values of C's memory_order are implementation-defined), and
 * every operation maps them to the C11 constant with a switch, so that the
 * compiler sees a constant order and emits exactly the fence it asks for.
 */
enum {
    PC_RELAXED = 0,
    PC_ACQUIRE = 1,
    PC_RELEASE = 2,
    PC_ACQ_REL = 3,
    PC_SEQ_CST = 4
};

/*
 * A thread-local variable read on a hot path.  In a shared library (the
 * extension module) the default TLS model calls __tls_get_addr on every
 * access; the initial-exec model reads a static TLS slot instead (glibc
 * keeps a surplus of static TLS for libraries loaded later, ample for the
 * few words pyconc uses).
 */
#if defined(_MSC_VER)
#define PC_THREAD_LOCAL_FAST __declspec(thread)
#elif defined(__GNUC__) && defined(__ELF__)
#define PC_THREAD_LOCAL_FAST _Thread_local __attribute__((tls_model("initial-exec")))
#else
#define PC_THREAD_LOCAL_FAST _Thread_local
#endif

/*
 * PC_FENCE_SEQ_CST(): a seq_cst fence, for the Dekker pairs between a
 * waiter's registration and its re-check.  ThreadSanitizer does not model
 * fences (gcc refuses them under -fsanitize=thread -Werror): there a
 * seq_cst read-modify-write of a private word stands in, a full barrier
 * on x86, where the sanitizer runs.
 */
#if defined(__SANITIZE_THREAD__)
#define PC_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PC_TSAN 1
#endif
#endif
#ifdef PC_TSAN
PC_INLINE void pc_tsan_fence(void)
{
    static _Atomic uint32_t word;
    (void)atomic_fetch_add_explicit(&word, 0, memory_order_seq_cst);
}
#define PC_FENCE_SEQ_CST() pc_tsan_fence()
#else
#define PC_FENCE_SEQ_CST() atomic_thread_fence(memory_order_seq_cst)
#endif

#endif /* PC_CONFIG_H */
