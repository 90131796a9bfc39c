/*
 * pyglue/pc_spin_py.h - pyconc.SpinLock as a C type, and its robust
 * process-shared variant (SpinLock.from_buffer, pyconc.ipc.SharedSpinLock).
 *
 * Built as CPython's _thread.lock (Modules/_threadmodule.c): the object
 * embeds its lock word (pc_spin_t, 4 bytes), acquire() and __enter__ are
 * the same C function, the uncontended acquire and release are one atomic
 * operation each with the GIL held, and a contended acquire waits through
 * pc_py_wait (pyglue/pc_py.h) around pc_spin_lock_timed, which takes the
 * lock inside the wait: a signal that arrives while the lock is being
 * taken either finds the call returning True or the lock not taken.
 *
 * Two types:
 *   SpinLock           pc_spin_py_t: the lock word inside the object; no
 *                      Python references, so no GC (the object is 32
 *                      bytes, smaller than threading.Lock's).
 *   _RobustSpinLock    pc_spin_py_robust_t, a subtype made only by
 *                      SpinLock.from_buffer(): a pc_rspin_t (pc_rspin.h)
 *                      in a caller's buffer, which it keeps exported (a
 *                      Py_buffer, so a GC type); the owner's pid is in
 *                      the lock word, and a waiter that finds the owner's
 *                      process dead takes the lock over and raises
 *                      OwnerDied.  pyconc.ipc.SharedSpinLock subclasses it
 *                      in Python (hence Py_TPFLAGS_BASETYPE on both).
 * The subtype has its own methods; SpinLock's C methods applied to it
 * explicitly (SpinLock.acquire(shared)) work on the unused embedded word:
 * wrong, but harmless.
 *
 * Length: two types (SpinLock and the robust process-shared lock) that share their
 * methods' shape but not their words; splitting them would split that shape.
 */
#ifndef PC_SPIN_PY_H
#define PC_SPIN_PY_H

#include "pc_spin.h"
#include "pc_rspin.h"
#include "structmember.h"

#ifndef _WIN32
#include <pthread.h>
#endif

typedef struct {
    PyObject_HEAD
    pc_spin_t lock;     /* SpinLock(): the lock word itself */
    PyObject *weakrefs; /* weak references (threading.Lock has them too) */
} pc_spin_py_t;

typedef struct {
    pc_spin_py_t base;  /* base.lock unused */
    pc_rspin_t *word;   /* in view's buffer; NULL once tp_clear ran */
    Py_buffer view;     /* the export that keeps the buffer alive */
} pc_spin_py_robust_t;

static PyTypeObject *pc_spin_py_type;
static PyTypeObject *pc_spin_py_robust_type;

/* This process's id, for the robust lock word: getpid() is a system call
 * on current glibc.  Written at init and in a fork child (one thread then),
 * read by every robust acquire. */
static uint32_t pc_spin_py_pid;

#ifndef _WIN32
static void pc_spin_py_after_fork(void)
{
    pc_spin_py_pid = pc_process_id();
}
#endif

static const char pc_spin_py_unlocked[] = "release unlocked lock";

/* ------------------------------------------------------------ SpinLock */

static pc_status pc_spin_py_try(void *self)
{
    return pc_spin_trylock(&((pc_spin_py_t *)self)->lock) ? PC_OK : PC_AGAIN;
}

static pc_status pc_spin_py_park(void *self, int64_t slice_ns)
{
    /* Takes the lock inside the wait when it can: PC_OK then. */
    return pc_spin_lock_timed(&((pc_spin_py_t *)self)->lock, slice_ns, false)
               ? PC_OK
               : PC_AGAIN;
}

/* acquire(blocking=True, timeout=-1) and __enter__: the arguments as
 * threading.Lock.acquire takes them (positional or keyword). */
static const char *const pc_spin_py_acquire_names[] = {"blocking", "timeout"};

static int pc_spin_py_parse(PyObject *const *args, Py_ssize_t nargs,
                            PyObject *kwnames, int64_t *ns)
{
    PyObject *a[2];
    if (pc_py_parse_args("acquire", args, nargs, kwnames, pc_spin_py_acquire_names,
                         2, 0, a) < 0)
        return -1;
    return pc_py_lock_timeout_ns(a[0], a[1], ns);
}

static PyObject *pc_spin_py_acquire(PyObject *self, PyObject *const *args,
                                    Py_ssize_t nargs, PyObject *kwnames)
{
    pc_spin_py_t *s = (pc_spin_py_t *)self;
    int64_t ns = PC_PY_FOREVER;
    pc_status st;
    if (PC_UNLIKELY(nargs != 0 || kwnames != NULL) &&
        pc_spin_py_parse(args, nargs, kwnames, &ns) < 0)
        return NULL;
    if (PC_LIKELY(pc_spin_trylock(&s->lock)))
        Py_RETURN_TRUE;
    if (ns == 0)
        Py_RETURN_FALSE;
    st = pc_py_wait(s, pc_spin_py_try, pc_spin_py_park, ns, 1);
    if (st == PC_OK)
        Py_RETURN_TRUE;
    if (st == PC_TIMEOUT)
        Py_RETURN_FALSE;
    return pc_py_raise(st, NULL);
}

static PyObject *pc_spin_py_release(PyObject *self, PyObject *unused)
{
    (void)unused;
    if (PC_UNLIKELY(pc_spin_unlock(&((pc_spin_py_t *)self)->lock, false) ==
                    PC_SPIN_UNLOCKED)) {
        PyErr_SetString(PyExc_RuntimeError, pc_spin_py_unlocked);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *pc_spin_py_exit(PyObject *self, PyObject *const *args,
                                 Py_ssize_t nargs)
{
    (void)args;
    (void)nargs;
    return pc_spin_py_release(self, NULL);
}

static PyObject *pc_spin_py_locked(PyObject *self, PyObject *unused)
{
    (void)unused;
    return PyBool_FromLong(pc_spin_is_locked(&((pc_spin_py_t *)self)->lock));
}

static PyObject *pc_spin_py_repr(PyObject *self)
{
    return PyUnicode_FromFormat(
        "<%s pyconc.SpinLock at %p>",
        pc_spin_is_locked(&((pc_spin_py_t *)self)->lock) ? "locked" : "unlocked",
        self);
}

static PyObject *pc_spin_py_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    pc_spin_py_t *s;
    if (PyTuple_GET_SIZE(args) != 0 || (kw != NULL && PyDict_GET_SIZE(kw) != 0)) {
        PyErr_SetString(PyExc_TypeError, "SpinLock() takes no arguments");
        return NULL;
    }
    s = (pc_spin_py_t *)type->tp_alloc(type, 0);
    if (s == NULL)
        return NULL;
    pc_spin_init(&s->lock);
    s->weakrefs = NULL;
    return (PyObject *)s;
}

static void pc_spin_py_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    if (((pc_spin_py_t *)self)->weakrefs != NULL)
        PyObject_ClearWeakRefs(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

/* ------------------------------------------------- SpinLock.from_buffer */

/* from_buffer(buf, offset=0): a robust lock on the 4 bytes at offset of
 * the writable, C-contiguous buffer buf, 4-aligned there.  Makes an
 * instance of cls when cls is the robust type or a subclass of it
 * (SharedSpinLock), else of the robust type. */
static PyObject *pc_spin_py_from_buffer(PyObject *cls, PyObject *const *args,
                                        Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"buf", "offset"};
    PyObject *a[2], *buf, *off;
    Py_ssize_t offset = 0;
    PyTypeObject *type = (PyTypeObject *)cls;
    pc_spin_py_robust_t *r;
    Py_buffer view;
    uintptr_t addr;
    if (pc_py_parse_args("from_buffer", args, nargs, kwnames, names, 2, 0, a) < 0)
        return NULL;
    buf = a[0];
    off = a[1];
    if (buf == NULL) {
        PyErr_SetString(PyExc_TypeError,
                        "from_buffer() missing required argument 'buf'");
        return NULL;
    }
    if (off != NULL) {
        int overflow = 0;
        long long v;
        if (!PyLong_Check(off) || PyBool_Check(off)) {
            PyErr_Format(PyExc_TypeError, "offset must be an int, not %.100s",
                         Py_TYPE(off)->tp_name);
            return NULL;
        }
        v = PyLong_AsLongLongAndOverflow(off, &overflow);
        if (v == -1 && PyErr_Occurred())
            return NULL;
        if (overflow || v < 0 || v > PY_SSIZE_T_MAX - 4) {
            PyErr_Format(PyExc_ValueError,
                         "SpinLock needs 4 bytes at offset %R, which no buffer "
                         "holds", off);
            return NULL;
        }
        offset = (Py_ssize_t)v;
    }
    if (!PyObject_CheckBuffer(buf)) {
        PyErr_Format(PyExc_TypeError,
                     "SpinLock.from_buffer() needs an object supporting the "
                     "buffer protocol, not %.100s", Py_TYPE(buf)->tp_name);
        return NULL;
    }
    if (PyObject_GetBuffer(buf, &view, PyBUF_FULL_RO) < 0)
        return NULL;
    if (view.readonly) {
        PyErr_Format(PyExc_TypeError,
                     "SpinLock.from_buffer() needs a writable buffer; %.100s "
                     "is read-only", Py_TYPE(buf)->tp_name);
        goto fail;
    }
    if (!PyBuffer_IsContiguous(&view, 'C')) {
        PyErr_SetString(PyExc_ValueError,
                        "SpinLock.from_buffer() needs a C-contiguous buffer");
        goto fail;
    }
    if (offset + (Py_ssize_t)sizeof(pc_rspin_t) > view.len) {
        PyErr_Format(PyExc_ValueError,
                     "SpinLock needs %zd bytes at offset %zd, but the buffer "
                     "holds %zd", (Py_ssize_t)sizeof(pc_rspin_t), offset, view.len);
        goto fail;
    }
    addr = (uintptr_t)view.buf + (uintptr_t)offset;
    if (addr % _Alignof(pc_rspin_t)) {
        PyErr_Format(PyExc_ValueError,
                     "SpinLock needs %zd-byte alignment; the buffer's address "
                     "plus offset %zd is misaligned by %zd bytes",
                     (Py_ssize_t)_Alignof(pc_rspin_t), offset,
                     (Py_ssize_t)(addr % _Alignof(pc_rspin_t)));
        goto fail;
    }
    if (!PyType_IsSubtype(type, pc_spin_py_robust_type))
        type = pc_spin_py_robust_type;
    r = (pc_spin_py_robust_t *)type->tp_alloc(type, 0);
    if (r == NULL)
        goto fail;
    pc_spin_init(&r->base.lock);
    r->base.weakrefs = NULL;
    r->view = view; /* the object owns the export now */
    r->word = (pc_rspin_t *)addr; /* zeroed bytes are an unlocked lock */
    return (PyObject *)r;
fail:
    PyBuffer_Release(&view);
    return NULL;
}

/* ---------------------------------------------------- _RobustSpinLock */

/* pc_py_wait's state for a robust acquire. */
typedef struct {
    pc_rspin_t *word;
    uint32_t pid;
    uint32_t owner; /* the holder seen before the last park (OwnerDied) */
} pc_spin_py_rwait_t;

static pc_status pc_spin_py_rtry(void *arg)
{
    pc_spin_py_rwait_t *w = arg;
    return pc_rspin_trylock(w->word, w->pid) ? PC_OK : PC_AGAIN;
}

static pc_status pc_spin_py_rpark(void *arg, int64_t slice_ns)
{
    pc_spin_py_rwait_t *w = arg;
    w->owner = pc_rspin_owner(w->word);
    switch (pc_rspin_lock_timed(w->word, w->pid, slice_ns)) {
    case PC_RSPIN_ACQUIRED:
        return PC_OK;
    case PC_RSPIN_OWNER_DIED:
        return PC_OWNER_DIED; /* held by us now */
    default:
        return PC_AGAIN;
    }
}

static pc_rspin_t *pc_spin_py_word(PyObject *self)
{
    pc_rspin_t *w = ((pc_spin_py_robust_t *)self)->word;
    if (PC_UNLIKELY(w == NULL))
        PyErr_SetString(PyExc_ValueError,
                        "the SpinLock's buffer was released (garbage collection)");
    return w;
}

static PyObject *pc_spin_py_owner_died(PyObject *self, uint32_t dead)
{
    PyErr_Format(pc_py_exc[PC_OWNER_DIED],
                 "the process that held %R died (pid %u); the lock is now "
                 "held by this process: check the data it protects, then "
                 "release it",
                 self, (unsigned)dead);
    return NULL;
}

/* One attempt that also takes the lock over from a dead owner. */
static PyObject *pc_spin_py_rtry_robust(PyObject *self, pc_spin_py_rwait_t *w)
{
    uint32_t owner = pc_rspin_owner(w->word);
    switch (pc_rspin_trylock_robust(w->word, w->pid)) {
    case PC_RSPIN_ACQUIRED:
        Py_RETURN_TRUE;
    case PC_RSPIN_OWNER_DIED:
        return pc_spin_py_owner_died(self, owner);
    default:
        Py_RETURN_FALSE;
    }
}

static PyObject *pc_spin_py_racquire(PyObject *self, PyObject *const *args,
                                     Py_ssize_t nargs, PyObject *kwnames)
{
    pc_spin_py_rwait_t w;
    int64_t ns = PC_PY_FOREVER;
    pc_status st;
    if (PC_UNLIKELY(nargs != 0 || kwnames != NULL) &&
        pc_spin_py_parse(args, nargs, kwnames, &ns) < 0)
        return NULL;
    if ((w.word = pc_spin_py_word(self)) == NULL)
        return NULL;
    w.pid = pc_spin_py_pid;
    w.owner = 0;
    if (PC_LIKELY(pc_rspin_trylock(w.word, w.pid)))
        Py_RETURN_TRUE;
    if (ns == 0)
        return pc_spin_py_rtry_robust(self, &w);
    st = pc_py_wait(&w, pc_spin_py_rtry, pc_spin_py_rpark, ns, 1);
    switch (st) {
    case PC_OK:
        Py_RETURN_TRUE;
    case PC_TIMEOUT:
        return pc_spin_py_rtry_robust(self, &w); /* a last, robust try */
    case PC_OWNER_DIED:
        return pc_spin_py_owner_died(self, w.owner);
    default:
        return pc_py_raise(st, NULL);
    }
}

static PyObject *pc_spin_py_rrelease(PyObject *self, PyObject *unused)
{
    pc_rspin_t *w = pc_spin_py_word(self);
    (void)unused;
    if (w == NULL)
        return NULL;
    if (PC_UNLIKELY(pc_rspin_unlock(w) == 0)) {
        PyErr_SetString(PyExc_RuntimeError, pc_spin_py_unlocked);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *pc_spin_py_rexit(PyObject *self, PyObject *const *args,
                                  Py_ssize_t nargs)
{
    (void)args;
    (void)nargs;
    return pc_spin_py_rrelease(self, NULL);
}

static PyObject *pc_spin_py_rlocked(PyObject *self, PyObject *unused)
{
    pc_rspin_t *w = pc_spin_py_word(self);
    (void)unused;
    if (w == NULL)
        return NULL;
    return PyBool_FromLong(pc_rspin_owner(w) != 0);
}

static PyObject *pc_spin_py_rowner(PyObject *self, PyObject *unused)
{
    pc_rspin_t *w = pc_spin_py_word(self);
    uint32_t owner;
    (void)unused;
    if (w == NULL)
        return NULL;
    owner = pc_rspin_owner(w);
    if (owner == 0)
        Py_RETURN_NONE;
    return PyLong_FromUnsignedLong(owner);
}

static PyObject *pc_spin_py_rrepr(PyObject *self)
{
    pc_rspin_t *w = ((pc_spin_py_robust_t *)self)->word;
    return PyUnicode_FromFormat(
        "<%s shared pyconc.SpinLock at %p>",
        w == NULL ? "released" : pc_rspin_owner(w) ? "locked" : "unlocked", self);
}

static int pc_spin_py_rtraverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(((pc_spin_py_robust_t *)self)->view.obj);
    Py_VISIT(Py_TYPE(self));
    return 0;
}

/* Breaking a cycle through the buffer: the lock stops working (its methods
 * raise ValueError) before the export is given back. */
static int pc_spin_py_rclear(PyObject *self)
{
    pc_spin_py_robust_t *r = (pc_spin_py_robust_t *)self;
    if (r->word != NULL) {
        r->word = NULL;
        PyBuffer_Release(&r->view);
    }
    return 0;
}

static void pc_spin_py_rdealloc(PyObject *self)
{
    pc_py_gc_dealloc(self, ((pc_spin_py_t *)self)->weakrefs, pc_spin_py_rclear);
}

/* ----------------------------------------------------------- the types */

#define PC_SPIN_PY_ACQUIRE_DOC                                                \
    "acquire($self, /, blocking=True, timeout=-1)\n--\n\n"                    \
    "Acquire the lock.\n\n"                                                   \
    "When invoked with *blocking* true (the default), wait until the lock "   \
    "is\nunlocked, then lock it and return True.  With a positive "           \
    "*timeout*, wait\nat most *timeout* seconds and return False if the "     \
    "lock could not be\nacquired in that time; a *timeout* of -1 (the "       \
    "default) waits without\nlimit, and so does any timeout beyond what the " \
    "platform can wait\n(threading.TIMEOUT_MAX included).\n\n"                \
    "When invoked with *blocking* false, do not wait: lock it and return "    \
    "True\nif it is unlocked, else return False at once.  Passing a "         \
    "*timeout* as\nwell raises ValueError.\n\n"                               \
    "The wait releases the GIL and returns to the interpreter at least "      \
    "every\n50 ms, so Ctrl-C interrupts it with KeyboardInterrupt (in the "   \
    "main\nthread); an interrupted acquire has not taken the lock."

#define PC_SPIN_PY_ENTER_DOC                                                  \
    "__enter__($self, /, blocking=True, timeout=-1)\n--\n\n"                  \
    "acquire(): the with statement's entry (the same C function)."

#define PC_SPIN_PY_RELEASE_DOC                                                \
    "release($self, /)\n--\n\n"                                               \
    "Release the lock, waking one waiter if any is parked.  Any thread may\n" \
    "release it.  Raises RuntimeError if the lock is not locked."

#define PC_SPIN_PY_EXIT_DOC                                                   \
    "__exit__($self, /, *exc_info)\n--\n\nrelease(): the with statement's exit."

#define PC_SPIN_PY_LOCKED_DOC                                                 \
    "locked($self, /)\n--\n\n"                                                \
    "Return True if the lock is held (by any thread).  A snapshot: by the\n"  \
    "time it returns, another thread may have changed it."

#define PC_SPIN_PY_FROM_BUFFER_DOC                                            \
    "from_buffer($type, /, buf, offset=0)\n--\n\n"                            \
    "A SpinLock whose lock word is the 4 bytes at *offset* of *buf*, a\n"     \
    "writable buffer (``multiprocessing.shared_memory`` ``.buf``, mmap,\n"    \
    "bytearray), 4-byte aligned there.  Processes mapping the same memory\n"  \
    "share the lock; waiters park with a process-shared futex.  Zeroed\n"     \
    "bytes are an unlocked lock; nothing is written.  Raises TypeError\n"     \
    "for a read-only or non-buffer object, ValueError for a misaligned or\n"  \
    "too short one.  The buffer is kept alive (and exported) while the\n"     \
    "lock exists.\n\n"                                                        \
    "The lock is robust, like a POSIX robust mutex: the 32-bit word holds\n"  \
    "the owner's process id (bits 0-29; bit 31 says a waiter may be\n"        \
    "parked; 0 is unlocked), so a waiter notices when the owner's process\n"  \
    "has died (checked before a waiter first parks and then every 10 ms)\n"   \
    "and takes the lock over: ``acquire()`` then raises\n"                    \
    "``pyconc.errors.OwnerDied`` **with the lock held by the caller**,\n"     \
    "who must check the data it protects and ``release()`` it.  The\n"        \
    "liveness test is ``kill(pid, 0)`` (and, on Linux, not a zombie in\n"     \
    "/proc): a dead owner whose pid the system has already given to a\n"      \
    "new process looks alive, and processes in different pid namespaces\n"    \
    "must not share a lock.  Within one process the lock behaves as\n"        \
    "``SpinLock()`` (its threads share the pid), except that a contended\n"   \
    "acquire costs a liveness check now and then.  ``owner()`` returns\n"     \
    "the holder's pid."

static PyMethodDef pc_spin_py_methods[] = {
    {"acquire", (PyCFunction)(void (*)(void))pc_spin_py_acquire,
     METH_FASTCALL | METH_KEYWORDS, PC_SPIN_PY_ACQUIRE_DOC},
    /* The same C function as acquire, as _thread.lock's __enter__: no
     * Python frame between taking the lock and entering the block. */
    {"__enter__", (PyCFunction)(void (*)(void))pc_spin_py_acquire,
     METH_FASTCALL | METH_KEYWORDS, PC_SPIN_PY_ENTER_DOC},
    {"release", pc_spin_py_release, METH_NOARGS, PC_SPIN_PY_RELEASE_DOC},
    {"__exit__", (PyCFunction)(void (*)(void))pc_spin_py_exit, METH_FASTCALL,
     PC_SPIN_PY_EXIT_DOC},
    {"locked", pc_spin_py_locked, METH_NOARGS, PC_SPIN_PY_LOCKED_DOC},
    {"from_buffer", (PyCFunction)(void (*)(void))pc_spin_py_from_buffer,
     METH_FASTCALL | METH_KEYWORDS | METH_CLASS, PC_SPIN_PY_FROM_BUFFER_DOC},
    /* Refuses pickle, copy.copy and copy.deepcopy alike (they all end in
     * __reduce__); a subclass that shares the lock (SharedSpinLock)
     * defines its own. */
    {"__reduce__", pc_py_no_copy, METH_NOARGS, PC_PY_REDUCE_DOC},
    {NULL, NULL, 0, NULL}};

static PyMemberDef pc_spin_py_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(pc_spin_py_t, weakrefs), READONLY, NULL},
    {NULL, 0, 0, 0, NULL}};

static PyType_Slot pc_spin_py_slots[] = {
    {Py_tp_new, (void *)pc_spin_py_new},
    {Py_tp_dealloc, (void *)pc_spin_py_dealloc},
    {Py_tp_repr, (void *)pc_spin_py_repr},
    {Py_tp_methods, pc_spin_py_methods},
    {Py_tp_members, pc_spin_py_members},
    {Py_tp_doc,
     (void *)"SpinLock()\n--\n\n"
             "A mutual-exclusion lock with the interface of ``threading.Lock``, "
             "built\nfor short critical sections.  Acquiring an unlocked "
             "SpinLock is one\natomic compare-and-swap with the GIL held.  A "
             "contended acquire waits in\nC with the GIL released: it spins on "
             "the lock word with the CPU's pause\nhint and exponential backoff, "
             "then yields its time slice, and finally\nparks in the kernel (a "
             "futex), so a waiter never burns a core for long.\n\n"
             "Like ``threading.Lock`` (and unlike ``threading.RLock``), a "
             "SpinLock has\nno owner: any thread may release it, and a thread "
             "that acquires it twice\nwithout releasing deadlocks (until its "
             "timeout).  ``__enter__`` is\n``acquire`` itself, so a signal "
             "cannot land between taking the lock and\nentering the block.  "
             "Cannot be pickled or copied (see from_buffer() to\nshare one "
             "between processes).\n\n"
             "Thread safety without the GIL: all state is the C lock word "
             "(pc_spin_t),\nchanged only by atomic operations; the object "
             "holds no Python references."},
    {0, NULL}};

/* A subclass is needed: the robust variant (and SharedSpinLock on it). */
static PyType_Spec pc_spin_py_spec = {
    "pyconc.SpinLock", sizeof(pc_spin_py_t), 0,
    PC_PY_TPFLAGS | Py_TPFLAGS_BASETYPE, pc_spin_py_slots};

static PyMethodDef pc_spin_py_rmethods[] = {
    {"acquire", (PyCFunction)(void (*)(void))pc_spin_py_racquire,
     METH_FASTCALL | METH_KEYWORDS,
     PC_SPIN_PY_ACQUIRE_DOC "\n\nShared (robust) lock: raises OwnerDied, with the "
                            "lock now held by\nthe caller, when the process "
                            "that held it has died."},
    {"__enter__", (PyCFunction)(void (*)(void))pc_spin_py_racquire,
     METH_FASTCALL | METH_KEYWORDS, PC_SPIN_PY_ENTER_DOC},
    {"release", pc_spin_py_rrelease, METH_NOARGS,
     "release($self, /)\n--\n\n"
     "Release the lock, waking one waiter if any is parked.  Any thread of "
     "any\nprocess may release it.  Raises RuntimeError if the lock is not "
     "locked."},
    {"__exit__", (PyCFunction)(void (*)(void))pc_spin_py_rexit, METH_FASTCALL,
     PC_SPIN_PY_EXIT_DOC},
    {"locked", pc_spin_py_rlocked, METH_NOARGS,
     "locked($self, /)\n--\n\n"
     "Return True if the lock is held (by any thread of any process).  A "
     "snapshot."},
    {"owner", pc_spin_py_rowner, METH_NOARGS,
     "owner($self, /)\n--\n\n"
     "The process id of the lock's holder, or None if it is unlocked (a\n"
     "snapshot)."},
    {NULL, NULL, 0, NULL}};

static PyType_Slot pc_spin_py_rslots[] = {
    {Py_tp_dealloc, (void *)pc_spin_py_rdealloc},
    {Py_tp_traverse, (void *)pc_spin_py_rtraverse},
    {Py_tp_clear, (void *)pc_spin_py_rclear},
    {Py_tp_repr, (void *)pc_spin_py_rrepr},
    {Py_tp_methods, pc_spin_py_rmethods},
    {Py_tp_doc,
     (void *)"A SpinLock in a buffer shared between processes: see "
             "SpinLock.from_buffer().\n\n"
             "Thread and process safety without the GIL: all state is the "
             "lock word in\nthe buffer, changed only by atomic operations; "
             "the buffer export is set\nonce, at creation."},
    {0, NULL}};

/* Made only by SpinLock.from_buffer() (no tp_new of its own: calling the
 * type raises TypeError); subclassed by pyconc.ipc.SharedSpinLock. */
static PyType_Spec pc_spin_py_rspec = {
    "pyconc.spinlock._RobustSpinLock", sizeof(pc_spin_py_robust_t), 0,
    PC_PY_TPFLAGS | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC |
        Py_TPFLAGS_DISALLOW_INSTANTIATION,
    pc_spin_py_rslots};

static int pc_spin_py_init(PyObject *m)
{
    PyObject *bases;
    pc_spin_py_pid = pc_process_id();
#ifndef _WIN32
    if (pthread_atfork(NULL, NULL, pc_spin_py_after_fork) != 0) {
        PyErr_SetString(PyExc_RuntimeError, "pthread_atfork failed");
        return -1;
    }
#endif
    if ((pc_spin_py_type = pc_py_add_type(m, &pc_spin_py_spec)) == NULL)
        return -1;
    bases = PyTuple_Pack(1, (PyObject *)pc_spin_py_type);
    if (bases == NULL)
        return -1;
    pc_spin_py_robust_type =
        (PyTypeObject *)PyType_FromSpecWithBases(&pc_spin_py_rspec, bases);
    Py_DECREF(bases);
    if (pc_spin_py_robust_type == NULL)
        return -1;
    if (PyModule_AddObject(m, "_RobustSpinLock", (PyObject *)pc_spin_py_robust_type) < 0) {
        Py_DECREF(pc_spin_py_robust_type);
        return -1;
    }
    return 0;
}

#endif /* PC_SPIN_PY_H */
