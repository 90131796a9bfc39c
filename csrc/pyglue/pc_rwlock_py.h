/*
 * pyglue/pc_rwlock_py.h - pyconc.RwLock, RwLockReadGuard and
 * RwLockWriteGuard as C types over pc_rwlock_t (CPython C API).
 *
 * Built as CPython's _thread.lock is: the RwLock object embeds its
 * pc_rwlock_t and owns the protected value; read()/write() try the lock
 * with the GIL held (one C call), wait through pc_py_wait when it is
 * taken, and return a guard made in the same C call, so no Python code
 * runs between taking the lock and handing the guard back.  A signal
 * (Ctrl-C) during the wait either raises before the lock is taken or is
 * left for the caller once it holds the guard; a guard dropped before its
 * block (a KeyboardInterrupt between read() and __enter__) releases.
 *
 * The guards keep their RwLock alive (a strong reference, visited by the
 * cyclic GC: `rw.write().value = guard` style cycles are collected) and
 * hold the lock while `held` is 1.  `held` is cleared with one atomic
 * exchange, so a guard unlocks at most once, whoever leaves it.
 *
 * Without the GIL: the lock state is pc_rwlock_t's atomics; the value is
 * replaced only by a write guard's holder, and every read or write of
 * the value reference (guards, into_inner, repr, GC clear) is inside the
 * RwLock's critical section (PC_PY_BEGIN_CRITICAL), so a reference is
 * never read while another thread drops it.
 *
 * Length: three C types (the lock and its two guards, one of which
 * downgrades into the other) and the accessors and poisoning rules of
 * Rust's RwLock, as pc_mutex_py.h has them for Mutex.
 */
#ifndef PC_RWLOCK_PY_H
#define PC_RWLOCK_PY_H

#include <structmember.h>

#include "pc_rwlock.h"

typedef struct {
    PyObject_HEAD
    pc_rwlock_t lock;
    PyObject *value;    /* strong; NULL only after a GC clear */
    PyObject *weakrefs;
    uint32_t poisons;   /* 1: an exception leaving a write block poisons
                         * (the default); 0: RwLock(..., poison=False).
                         * Read-only after tp_new. */
} pc_rwlock_py_t;

typedef struct {
    PyObject_HEAD
    pc_rwlock_py_t *rw; /* strong, for the guard's whole life (NULL: cleared) */
    _Atomic int held;   /* PC_RWLOCK_PY_* */
} pc_rwlock_py_guard_t;

/* A guard's `held`. */
enum {
    PC_RWLOCK_PY_RELEASED = 0,  /* its block is over: using it raises */
    PC_RWLOCK_PY_HELD = 1,      /* it holds its lock */
    PC_RWLOCK_PY_DOWNGRADED = 2 /* a write guard that gave its lock to a
                                 * read guard (downgrade()): leaving its
                                 * block is silent */
};

static PyTypeObject *pc_rwlock_py_type;
static PyTypeObject *pc_rwlock_py_read_type;
static PyTypeObject *pc_rwlock_py_write_type;

static const char pc_rwlock_py_stale[] =
    "guard used outside its with block (the lock was already released)";
static const char pc_rwlock_py_poisoned[] =
    "RwLock poisoned: a writer raised inside its with block";

/* --------------------------------------------------------------- guards */

static int pc_rwlock_py_is_write(PyObject *g)
{
    return Py_TYPE(g) == pc_rwlock_py_write_type;
}

/*
 * Freed guards kept for reuse (both guard types have one layout), as
 * CPython keeps freed tuples and floats: a `with rw.read() as g:` block
 * then costs no allocation.  Only with a GIL, which serialises the list;
 * free-threaded builds allocate every guard.
 */
#ifndef Py_GIL_DISABLED
#define PC_RWLOCK_PY_FREELIST 16
static PyObject *pc_rwlock_py_freelist[PC_RWLOCK_PY_FREELIST];
static int pc_rwlock_py_nfree;
#endif

static pc_rwlock_py_guard_t *pc_rwlock_py_guard_alloc(PyTypeObject *tp)
{
#ifndef Py_GIL_DISABLED
    if (PC_LIKELY(pc_rwlock_py_nfree > 0))
        /* An untracked, dead guard of the same size: PyObject_Init gives
         * it its type (a new reference) and a reference count of 1. */
        return (pc_rwlock_py_guard_t *)PyObject_Init(
            pc_rwlock_py_freelist[--pc_rwlock_py_nfree], tp);
#endif
    return PyObject_GC_New(pc_rwlock_py_guard_t, tp);
}

/* A guard for a lock the caller holds (read or write, as tp says); if it
 * cannot be made, the lock is released, since nothing else could. */
static PyObject *pc_rwlock_py_guard(pc_rwlock_py_t *rw, PyTypeObject *tp)
{
    pc_rwlock_py_guard_t *g = pc_rwlock_py_guard_alloc(tp);
    if (g == NULL) {
        if (tp == pc_rwlock_py_write_type)
            pc_rwlock_write_unlock(&rw->lock, false);
        else
            pc_rwlock_read_unlock(&rw->lock);
        return NULL;
    }
    Py_INCREF(rw);
    g->rw = rw;
    /* relaxed: the guard is not shared yet. */
    atomic_store_explicit(&g->held, 1, memory_order_relaxed);
    PyObject_GC_Track((PyObject *)g);
    return (PyObject *)g;
}

/* Release the guard's lock if it still holds it (poisoning a write lock
 * if asked and the RwLock poisons).  1 if it did or the guard was
 * downgraded, 0 if the guard was already released. */
static int pc_rwlock_py_release(pc_rwlock_py_guard_t *g, int poison)
{
    /* acq_rel: exactly one caller sees HELD and unlocks. */
    int prev = atomic_exchange_explicit(&g->held, PC_RWLOCK_PY_RELEASED, memory_order_acq_rel);
    if (prev != PC_RWLOCK_PY_HELD)
        return prev == PC_RWLOCK_PY_DOWNGRADED;
    if (pc_rwlock_py_is_write((PyObject *)g))
        pc_rwlock_write_unlock(&g->rw->lock, poison != 0 && g->rw->poisons);
    else
        pc_rwlock_read_unlock(&g->rw->lock); /* readers never poison (Rust) */
    return 1;
}

static int pc_rwlock_py_live(pc_rwlock_py_guard_t *g)
{
    /* relaxed: a check made by the holder's own thread. */
    if (g->rw == NULL ||
        atomic_load_explicit(&g->held, memory_order_relaxed) != PC_RWLOCK_PY_HELD) {
        PyErr_SetString(PyExc_RuntimeError, pc_rwlock_py_stale);
        return 0;
    }
    return 1;
}

static int pc_rwlock_py_guard_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(((pc_rwlock_py_guard_t *)self)->rw);
    return 0;
}

static int pc_rwlock_py_guard_clear(PyObject *self)
{
    pc_rwlock_py_guard_t *g = (pc_rwlock_py_guard_t *)self;
    /* A guard in a garbage cycle is dropped: release, as on dealloc. */
    if (g->rw != NULL)
        (void)pc_rwlock_py_release(g, 0);
    Py_CLEAR(g->rw);
    return 0;
}

static void pc_rwlock_py_guard_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    /* Dropped without leaving its block (never entered, inside a dropped
     * PoisonError, in the frame of a thread that died): release without
     * poisoning, as Rust's guard does on drop. */
    (void)pc_rwlock_py_guard_clear(self);
#ifndef Py_GIL_DISABLED
    if (pc_rwlock_py_nfree < PC_RWLOCK_PY_FREELIST) {
        pc_rwlock_py_freelist[pc_rwlock_py_nfree++] = self;
        Py_DECREF(tp);
        return;
    }
#endif
    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyObject *pc_rwlock_py_guard_enter(PyObject *self, PyObject *unused)
{
    (void)unused;
    if (!pc_rwlock_py_live((pc_rwlock_py_guard_t *)self))
        return NULL;
    Py_INCREF(self);
    return self;
}

static PyObject *pc_rwlock_py_guard_exit(PyObject *self, PyObject *const *args,
                                        Py_ssize_t nargs)
{
    pc_rwlock_py_guard_t *g = (pc_rwlock_py_guard_t *)self;
    /* Leaving a write block by an exception poisons the lock. */
    if (g->rw == NULL || !pc_rwlock_py_release(g, nargs > 0 && args[0] != Py_None)) {
        PyErr_SetString(PyExc_RuntimeError, pc_rwlock_py_stale);
        return NULL;
    }
    Py_RETURN_NONE;
}

/* The value reference (new), read in the critical section; None if cleared. */
static PyObject *pc_rwlock_py_value(pc_rwlock_py_t *rw)
{
    PyObject *v;
    PC_PY_BEGIN_CRITICAL((PyObject *)rw);
    v = rw->value != NULL ? rw->value : Py_None;
    Py_INCREF(v);
    PC_PY_END_CRITICAL();
    return v;
}

static PyObject *pc_rwlock_py_guard_get_value(PyObject *self, void *closure)
{
    pc_rwlock_py_guard_t *g = (pc_rwlock_py_guard_t *)self;
    (void)closure;
    if (!pc_rwlock_py_live(g))
        return NULL;
    return pc_rwlock_py_value(g->rw);
}

static int pc_rwlock_py_guard_set_value(PyObject *self, PyObject *value, void *closure)
{
    pc_rwlock_py_guard_t *g = (pc_rwlock_py_guard_t *)self;
    PyObject *old;
    (void)closure;
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "a guard's value cannot be deleted");
        return -1;
    }
    if (!pc_rwlock_py_live(g))
        return -1;
    Py_INCREF(value);
    PC_PY_BEGIN_CRITICAL((PyObject *)g->rw);
    old = g->rw->value;
    g->rw->value = value;
    PC_PY_END_CRITICAL();
    Py_XDECREF(old); /* outside: its __del__ may run Python */
    return 0;
}

static PyObject *pc_rwlock_py_guard_repr(PyObject *self)
{
    pc_rwlock_py_guard_t *g = (pc_rwlock_py_guard_t *)self;
    const char *name = pc_rwlock_py_is_write(self) ? "RwLockWriteGuard" : "RwLockReadGuard";
    PyObject *v, *r;
    /* relaxed: a snapshot for repr(). */
    if (g->rw == NULL ||
        atomic_load_explicit(&g->held, memory_order_relaxed) != PC_RWLOCK_PY_HELD)
        return PyUnicode_FromFormat("<released pyconc.%s at %p>", name, self);
    v = pc_rwlock_py_value(g->rw);
    r = PyUnicode_FromFormat("<pyconc.%s value=%R>", name, v);
    Py_DECREF(v);
    return r;
}

/* write_guard.downgrade(): the read guard that now holds the lock. */
static PyObject *pc_rwlock_py_downgrade(PyObject *self, PyObject *unused)
{
    pc_rwlock_py_guard_t *g = (pc_rwlock_py_guard_t *)self, *r;
    int expected = PC_RWLOCK_PY_HELD;
    (void)unused;
    if (!pc_rwlock_py_live(g))
        return NULL;
    /* Made first, so that nothing can fail once the lock is handed on. */
    r = pc_rwlock_py_guard_alloc(pc_rwlock_py_read_type);
    if (r == NULL)
        return NULL;
    r->rw = NULL;
    atomic_store_explicit(&r->held, PC_RWLOCK_PY_RELEASED, memory_order_relaxed);
    /* acq_rel: as pc_rwlock_py_release's exchange; only one of a downgrade
     * and an exit racing on one guard wins the lock. */
    if (!atomic_compare_exchange_strong_explicit(&g->held, &expected, PC_RWLOCK_PY_DOWNGRADED,
                                                 memory_order_acq_rel,
                                                 memory_order_relaxed)) {
        Py_DECREF(r);
        PyErr_SetString(PyExc_RuntimeError, pc_rwlock_py_stale);
        return NULL;
    }
    pc_rwlock_downgrade(&g->rw->lock);
    Py_INCREF(g->rw);
    r->rw = g->rw;
    /* relaxed: the new guard is not shared yet. */
    atomic_store_explicit(&r->held, PC_RWLOCK_PY_HELD, memory_order_relaxed);
    PyObject_GC_Track((PyObject *)r);
    return (PyObject *)r;
}

static PyMethodDef pc_rwlock_py_write_guard_methods[] = {
    {"__enter__", pc_rwlock_py_guard_enter, METH_NOARGS,
     "__enter__($self, /)\n--\n\nThe guard itself (RuntimeError once released)."},
    {"__exit__", (PyCFunction)(void (*)(void))pc_rwlock_py_guard_exit, METH_FASTCALL,
     "__exit__($self, /, *exc_info)\n--\n\nRelease the lock; leaving a write "
     "block by an exception poisons it (unless the RwLock was made with "
     "poison=False, or the guard was downgraded)."},
    {"downgrade", pc_rwlock_py_downgrade, METH_NOARGS,
     "downgrade($self, /)\n--\n\n"
     "Turn the write lock into a read lock, atomically: no writer can take\n"
     "the lock in between (Rust's ``RwLockWriteGuard::downgrade``).  Return\n"
     "the read guard that now holds it (``with w.downgrade() as r:``); this\n"
     "guard is then dead, and leaving its block is silent (and does not\n"
     "poison).  Readers waiting are let in, unless a writer waits."},
    PC_PY_NO_COPY_METHODS,
    {"__class_getitem__", Py_GenericAlias, METH_O | METH_CLASS, PC_PY_CLASS_GETITEM_DOC},
    {NULL, NULL, 0, NULL}};

static PyMethodDef pc_rwlock_py_guard_methods[] = {
    {"__enter__", pc_rwlock_py_guard_enter, METH_NOARGS,
     "__enter__($self, /)\n--\n\nThe guard itself (RuntimeError once released)."},
    {"__exit__", (PyCFunction)(void (*)(void))pc_rwlock_py_guard_exit, METH_FASTCALL,
     "__exit__($self, /, *exc_info)\n--\n\nRelease the lock; leaving a write "
     "block by an exception poisons it."},
    PC_PY_NO_COPY_METHODS,
    {"__class_getitem__", Py_GenericAlias, METH_O | METH_CLASS, PC_PY_CLASS_GETITEM_DOC},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef pc_rwlock_py_read_getset[] = {
    {"value", pc_rwlock_py_guard_get_value, NULL,
     "The protected value (read only: other readers are looking at it); "
     "only inside the guard's with block.",
     NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyGetSetDef pc_rwlock_py_write_getset[] = {
    {"value", pc_rwlock_py_guard_get_value, pc_rwlock_py_guard_set_value,
     "The protected value (read, or replace by assigning); only inside the "
     "guard's with block.",
     NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static const char pc_rwlock_py_read_doc[] =
    "A shared hold on an RwLock, from RwLock.read() or try_read().\n\n"
    "Use it as ``with rw.read() as g:``: ``g.value`` reads the protected "
    "value (it\ncannot be replaced through a read guard; do not mutate it "
    "either: other\nreaders are looking at it).  Leaving the block releases "
    "the hold (readers\nnever poison).  After the block the guard is dead: "
    "using it raises\nRuntimeError.  A guard dropped unused releases.\n\n"
    "Thread safety without the GIL: the hold is released with one atomic\n"
    "exchange (at most once); the value is read in the RwLock's critical\n"
    "section.";

static PyType_Slot pc_rwlock_py_read_slots[] = {
    {Py_tp_dealloc, (void *)pc_rwlock_py_guard_dealloc},
    {Py_tp_traverse, (void *)pc_rwlock_py_guard_traverse},
    {Py_tp_clear, (void *)pc_rwlock_py_guard_clear},
    {Py_tp_methods, pc_rwlock_py_guard_methods},
    {Py_tp_getset, pc_rwlock_py_read_getset},
    {Py_tp_repr, (void *)pc_rwlock_py_guard_repr},
    {Py_tp_doc, (void *)pc_rwlock_py_read_doc},
    {0, NULL}};

static const char pc_rwlock_py_write_doc[] =
    "The exclusive hold on an RwLock, from RwLock.write() or try_write().\n\n"
    "Use it as ``with rw.write() as g:``: ``g.value`` reads and ``g.value = "
    "x``\nreplaces the protected value.  Leaving the block releases the "
    "lock;\nleaving it by an exception also poisons it.  After the block "
    "the guard is\ndead: using it raises RuntimeError.  A guard dropped "
    "unused releases\n(without poisoning).\n\n"
    "Thread safety without the GIL: the lock is released with one atomic\n"
    "exchange (at most once); the value is read and replaced in the "
    "RwLock's\ncritical section.";

static PyType_Slot pc_rwlock_py_write_slots[] = {
    {Py_tp_dealloc, (void *)pc_rwlock_py_guard_dealloc},
    {Py_tp_traverse, (void *)pc_rwlock_py_guard_traverse},
    {Py_tp_clear, (void *)pc_rwlock_py_guard_clear},
    {Py_tp_methods, pc_rwlock_py_write_guard_methods},
    {Py_tp_getset, pc_rwlock_py_write_getset},
    {Py_tp_repr, (void *)pc_rwlock_py_guard_repr},
    {Py_tp_doc, (void *)pc_rwlock_py_write_doc},
    {0, NULL}};

static PyType_Spec pc_rwlock_py_read_spec = {
    "pyconc.RwLockReadGuard", sizeof(pc_rwlock_py_guard_t), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    pc_rwlock_py_read_slots};

static PyType_Spec pc_rwlock_py_write_spec = {
    "pyconc.RwLockWriteGuard", sizeof(pc_rwlock_py_guard_t), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    pc_rwlock_py_write_slots};

/* --------------------------------------------------------------- waiting */

static pc_status pc_rwlock_py_status(int r)
{
    /* PC_POISONED, as PC_OK, means the lock is now held. */
    return r == PC_RWLOCK_OK ? PC_OK : r == PC_RWLOCK_POISONED ? PC_POISONED : PC_AGAIN;
}

static pc_status pc_rwlock_py_try_read(void *self)
{
    return pc_rwlock_py_status(pc_rwlock_try_read((pc_rwlock_t *)self));
}

static pc_status pc_rwlock_py_park_read(void *self, int64_t slice_ns)
{
    return pc_rwlock_py_status(pc_rwlock_read_timed((pc_rwlock_t *)self, slice_ns));
}

/* A writer's wait: `waited` once it may have set the writers-waiting bit
 * (pc_rwlock.h: later slices keep it; giving up calls abandon). */
typedef struct {
    pc_rwlock_t *lock;
    bool waited;
} pc_rwlock_py_writer_t;

static pc_status pc_rwlock_py_try_write(void *self)
{
    return pc_rwlock_py_status(pc_rwlock_try_write(((pc_rwlock_py_writer_t *)self)->lock));
}

static pc_status pc_rwlock_py_park_write(void *self, int64_t slice_ns)
{
    pc_rwlock_py_writer_t *w = (pc_rwlock_py_writer_t *)self;
    int r = pc_rwlock_write_timed(w->lock, slice_ns, w->waited);
    if (r == PC_RWLOCK_BUSY)
        w->waited = true;
    return pc_rwlock_py_status(r);
}

/* Take the lock (write or read), waiting up to timeout_ns.  PC_OK or
 * PC_POISONED with it held; else not held (an error set for
 * PC_INTERRUPTED). */
/* One attempt, never waits: PC_OK, PC_AGAIN or PC_POISONED. */
static pc_status pc_rwlock_py_try_take(pc_rwlock_py_t *rw, int write)
{
    pc_rwlock_py_writer_t w = {&rw->lock, false};
    return write ? pc_rwlock_py_try_write(&w) : pc_rwlock_py_try_read(&rw->lock);
}

static pc_status pc_rwlock_py_take(pc_rwlock_py_t *rw, int write, int64_t timeout_ns)
{
    pc_status st;
    if (!write) {
        st = pc_rwlock_py_try_read(&rw->lock);
        if (PC_LIKELY(st != PC_AGAIN) || timeout_ns == 0)
            return st == PC_AGAIN ? PC_TIMEOUT : st;
        return pc_py_wait(&rw->lock, pc_rwlock_py_try_read, pc_rwlock_py_park_read,
                          timeout_ns, 1);
    } else {
        pc_rwlock_py_writer_t w = {&rw->lock, false};
        st = pc_rwlock_py_try_write(&w);
        if (PC_LIKELY(st != PC_AGAIN) || timeout_ns == 0)
            return st == PC_AGAIN ? PC_TIMEOUT : st;
        st = pc_py_wait(&w, pc_rwlock_py_try_write, pc_rwlock_py_park_write, timeout_ns, 1);
        if (st != PC_OK && st != PC_POISONED && w.waited)
            /* Gave up (timeout, Ctrl-C) after announcing ourselves: do not
             * leave readers blocked behind a writer that is gone. */
            pc_rwlock_write_abandon(&rw->lock);
        return st;
    }
}

/* The guard for a lock taken with status st, or the error. */
static PyObject *pc_rwlock_py_result(pc_rwlock_py_t *rw, int write, pc_status st,
                                     PyObject *timeout, const char *what)
{
    PyObject *g;
    if (st == PC_OK)
        return pc_rwlock_py_guard(rw, write ? pc_rwlock_py_write_type : pc_rwlock_py_read_type);
    if (st == PC_POISONED) {
        g = pc_rwlock_py_guard(rw, write ? pc_rwlock_py_write_type : pc_rwlock_py_read_type);
        if (g == NULL)
            return NULL;
        pc_py_raise_value(PC_POISONED, g, pc_rwlock_py_poisoned);
        Py_DECREF(g); /* the PoisonError holds it: into_inner() gives it */
        return NULL;
    }
    if (st == PC_TIMEOUT) {
        if (timeout == NULL)
            PyErr_Format(pc_py_exc[PC_TIMEOUT], "%s: the RwLock is locked", what);
        else
            PyErr_Format(pc_py_exc[PC_TIMEOUT], "%s timed out after %R s", what, timeout);
        return NULL;
    }
    return pc_py_raise(st, NULL);
}

/* ------------------------------------------------------------- RwLock */

static PyObject *pc_rwlock_py_new(PyTypeObject *tp, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"value", "poison", NULL};
    PyObject *value = Py_None;
    int poison = 1;
    pc_rwlock_py_t *rw;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O$p:RwLock", kwlist, &value, &poison))
        return NULL;
    rw = (pc_rwlock_py_t *)tp->tp_alloc(tp, 0);
    if (rw == NULL)
        return NULL;
    pc_rwlock_init(&rw->lock);
    Py_INCREF(value);
    rw->value = value;
    rw->weakrefs = NULL;
    rw->poisons = poison != 0;
    return (PyObject *)rw;
}

static int pc_rwlock_py_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(((pc_rwlock_py_t *)self)->value);
    return 0;
}

static int pc_rwlock_py_clear(PyObject *self)
{
    pc_rwlock_py_t *rw = (pc_rwlock_py_t *)self;
    PyObject *old;
    PC_PY_BEGIN_CRITICAL(self);
    old = rw->value;
    rw->value = NULL;
    PC_PY_END_CRITICAL();
    Py_XDECREF(old);
    return 0;
}

static void pc_rwlock_py_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    /* No coroutine waits: each waiter holds a reference to the RwLock. */
    pc_rwlock_destroy(&((pc_rwlock_py_t *)self)->lock);
    if (((pc_rwlock_py_t *)self)->weakrefs != NULL)
        PyObject_ClearWeakRefs(self);
    (void)pc_rwlock_py_clear(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

/* read()/write() after an uncontended try failed or with arguments: st is
 * that try's status, or PC_AGAIN if it was not made. */
static PyObject *pc_rwlock_py_lock(PyObject *self, PyObject *const *args,
                                   Py_ssize_t nargs, PyObject *kwnames, int write,
                                   pc_status st)
{
    pc_rwlock_py_t *rw = (pc_rwlock_py_t *)self;
    const char *what = write ? "RwLock.write()" : "RwLock.read()";
    PyObject *timeout = NULL;
    int64_t ns = PC_PY_FOREVER;
    if (nargs != 0 || kwnames != NULL) {
        if (pc_py_one_arg(args, nargs, kwnames, write ? "write" : "read", "timeout", 0,
                          &timeout) < 0)
            return NULL;
        if (timeout == Py_None)
            timeout = NULL;
        if (pc_py_timeout_ns(timeout, &ns) < 0)
            return NULL;
    }
    if (st == PC_AGAIN)
        st = pc_rwlock_py_take(rw, write, ns);
    return pc_rwlock_py_result(rw, write, st, st == PC_TIMEOUT ? timeout : NULL, what);
}

static PyObject *pc_rwlock_py_read(PyObject *self, PyObject *const *args,
                                   Py_ssize_t nargs, PyObject *kwnames)
{
    pc_rwlock_py_t *rw = (pc_rwlock_py_t *)self;
    pc_status st = PC_AGAIN;
    /* The uncontended read: one try, one guard. */
    if (PC_LIKELY(nargs == 0 && kwnames == NULL)) {
        st = pc_rwlock_py_try_read(&rw->lock);
        if (PC_LIKELY(st == PC_OK))
            return pc_rwlock_py_guard(rw, pc_rwlock_py_read_type);
    }
    return pc_rwlock_py_lock(self, args, nargs, kwnames, 0, st);
}

static PyObject *pc_rwlock_py_write(PyObject *self, PyObject *const *args,
                                    Py_ssize_t nargs, PyObject *kwnames)
{
    pc_rwlock_py_t *rw = (pc_rwlock_py_t *)self;
    pc_status st = PC_AGAIN;
    if (PC_LIKELY(nargs == 0 && kwnames == NULL)) {
        st = pc_rwlock_py_status(pc_rwlock_try_write(&rw->lock));
        if (PC_LIKELY(st == PC_OK))
            return pc_rwlock_py_guard(rw, pc_rwlock_py_write_type);
    }
    return pc_rwlock_py_lock(self, args, nargs, kwnames, 1, st);
}

static PyObject *pc_rwlock_py_try(PyObject *self, int write)
{
    pc_rwlock_py_t *rw = (pc_rwlock_py_t *)self;
    pc_status st = pc_rwlock_py_try_take(rw, write);
    if (st == PC_AGAIN) {
        PyErr_SetString(pc_py_exc[PC_AGAIN], write ? "RwLock is locked"
                                                   : "RwLock is write-locked or a writer is waiting");
        return NULL;
    }
    return pc_rwlock_py_result(rw, write, st, NULL, write ? "RwLock.try_write()"
                                                         : "RwLock.try_read()");
}

static PyObject *pc_rwlock_py_try_read_m(PyObject *self, PyObject *unused)
{
    (void)unused;
    return pc_rwlock_py_try(self, 0);
}

static PyObject *pc_rwlock_py_try_write_m(PyObject *self, PyObject *unused)
{
    (void)unused;
    return pc_rwlock_py_try(self, 1);
}

static PyObject *pc_rwlock_py_is_poisoned(PyObject *self, PyObject *unused)
{
    (void)unused;
    return PyBool_FromLong(pc_rwlock_is_poisoned(&((pc_rwlock_py_t *)self)->lock));
}

static PyObject *pc_rwlock_py_clear_poison(PyObject *self, PyObject *unused)
{
    (void)unused;
    pc_rwlock_clear_poison(&((pc_rwlock_py_t *)self)->lock);
    Py_RETURN_NONE;
}

static PyObject *pc_rwlock_py_into_inner(PyObject *self, PyObject *unused)
{
    pc_rwlock_py_t *rw = (pc_rwlock_py_t *)self;
    pc_status st = pc_rwlock_py_take(rw, 1, PC_PY_FOREVER);
    PyObject *value;
    (void)unused;
    if (st != PC_OK && st != PC_POISONED)
        return pc_py_raise(st, NULL);
    /* Under the write lock: take the value, leave None. */
    Py_INCREF(Py_None);
    PC_PY_BEGIN_CRITICAL(self);
    value = rw->value;
    rw->value = Py_None;
    PC_PY_END_CRITICAL();
    if (value == NULL) {
        Py_INCREF(Py_None);
        value = Py_None;
    }
    pc_rwlock_write_unlock(&rw->lock, false);
    if (st == PC_POISONED) {
        pc_py_raise_value(PC_POISONED, value, pc_rwlock_py_poisoned);
        Py_DECREF(value);
        return NULL;
    }
    return value;
}

static PyObject *pc_rwlock_py_get_mut(PyObject *self, PyObject *unused)
{
    pc_rwlock_py_t *rw = (pc_rwlock_py_t *)self;
    PyObject *v = pc_rwlock_py_value(rw);
    (void)unused;
    /* As Rust's get_mut: a poisoned lock gives its value only through the
     * error. */
    if (pc_rwlock_is_poisoned(&rw->lock)) {
        pc_py_raise_value(PC_POISONED, v, pc_rwlock_py_poisoned);
        Py_DECREF(v);
        return NULL;
    }
    return v;
}

/* set() and replace(): store value under the write lock; the old value, or
 * NULL with PoisonError holding *value* (not stored) if poisoned. */
static PyObject *pc_rwlock_py_swap_value(pc_rwlock_py_t *rw, PyObject *value)
{
    PyObject *old;
    pc_status st = pc_rwlock_py_take(rw, 1, PC_PY_FOREVER);
    if (st != PC_OK && st != PC_POISONED)
        return pc_py_raise(st, NULL);
    if (st == PC_POISONED) {
        pc_rwlock_write_unlock(&rw->lock, false);
        pc_py_raise_value(PC_POISONED, value, pc_rwlock_py_poisoned);
        return NULL;
    }
    Py_INCREF(value);
    PC_PY_BEGIN_CRITICAL((PyObject *)rw);
    old = rw->value;
    rw->value = value;
    PC_PY_END_CRITICAL();
    pc_rwlock_write_unlock(&rw->lock, false);
    return old != NULL ? old : Py_NewRef(Py_None);
}

static PyObject *pc_rwlock_py_set(PyObject *self, PyObject *value)
{
    PyObject *old = pc_rwlock_py_swap_value((pc_rwlock_py_t *)self, value);
    if (old == NULL)
        return NULL;
    Py_DECREF(old); /* after the unlock: its __del__ may take the lock */
    Py_RETURN_NONE;
}

static PyObject *pc_rwlock_py_replace(PyObject *self, PyObject *value)
{
    return pc_rwlock_py_swap_value((pc_rwlock_py_t *)self, value);
}

static PyObject *pc_rwlock_py_get_cloned(PyObject *self, PyObject *unused)
{
    pc_rwlock_py_t *rw = (pc_rwlock_py_t *)self;
    PyObject *v, *c;
    pc_status st = pc_rwlock_py_take(rw, 0, PC_PY_FOREVER);
    (void)unused;
    if (st != PC_OK && st != PC_POISONED)
        return pc_py_raise(st, NULL);
    v = pc_rwlock_py_value(rw);
    c = pc_py_copy_of(v);
    pc_rwlock_read_unlock(&rw->lock);
    Py_DECREF(v);
    if (c != NULL && st == PC_POISONED) {
        pc_py_raise_value(PC_POISONED, c, pc_rwlock_py_poisoned);
        Py_CLEAR(c);
    }
    return c;
}

static const char pc_rwlock_py_not_cm[] =
    "an RwLock is not itself a context manager: write `with rw.read() as g:` "
    "or `with rw.write() as g:`";

static PyObject *pc_rwlock_py_enter(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    PyErr_SetString(PyExc_TypeError, pc_rwlock_py_not_cm);
    return NULL;
}

static PyObject *pc_rwlock_py_exit(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    (void)args;
    (void)nargs;
    PyErr_SetString(PyExc_TypeError, pc_rwlock_py_not_cm);
    return NULL;
}

static PyObject *pc_rwlock_py_repr(PyObject *self)
{
    pc_rwlock_py_t *rw = (pc_rwlock_py_t *)self;
    int64_t n = pc_rwlock_holders(&rw->lock);
    const char *poisoned = pc_rwlock_is_poisoned(&rw->lock) ? " poisoned" : "";
    if (n < 0)
        return PyUnicode_FromFormat("<write-locked%s pyconc.RwLock at %p>", poisoned, self);
    if (n > 0)
        return PyUnicode_FromFormat("<read-locked by %lld%s pyconc.RwLock at %p>",
                                    (long long)n, poisoned, self);
    return PyUnicode_FromFormat("<unlocked%s pyconc.RwLock at %p>", poisoned, self);
}

static PyMethodDef pc_rwlock_py_methods[] = {
    {"read", (PyCFunction)(void (*)(void))pc_rwlock_py_read, METH_FASTCALL | METH_KEYWORDS,
     "read($self, /, timeout=None)\n--\n\n"
     "Wait for shared access and return a read guard (use it as\n"
     "``with rw.read() as g:``).  With *timeout* (seconds), raise\n"
     "pyconc.Timeout (a TimeoutError) if it is not granted in that time; a\n"
     "timeout of 0 tries once.  Raises PoisonError, holding the read guard,\n"
     "if the lock is poisoned.\n\n"
     "The wait releases the GIL and returns to the interpreter at least\n"
     "every 50 ms, so Ctrl-C interrupts it with KeyboardInterrupt (in the\n"
     "main thread); an interrupted call holds nothing."},
    {"write", (PyCFunction)(void (*)(void))pc_rwlock_py_write, METH_FASTCALL | METH_KEYWORDS,
     "write($self, /, timeout=None)\n--\n\n"
     "Wait for exclusive access and return a write guard (use it as\n"
     "``with rw.write() as g:``).  With *timeout* (seconds), raise\n"
     "pyconc.Timeout (a TimeoutError) if it is not granted in that time; a\n"
     "timeout of 0 tries once.  Raises PoisonError, holding the write guard,\n"
     "if the lock is poisoned.\n\n"
     "The wait releases the GIL and is interruptible by Ctrl-C; a writer\n"
     "that gives up (timeout, Ctrl-C) holds nothing and no longer keeps\n"
     "readers out."},
    {"try_read", pc_rwlock_py_try_read_m, METH_NOARGS,
     "try_read($self, /)\n--\n\n"
     "Shared access without waiting: a read guard, or WouldBlock if a\n"
     "writer holds or waits for the lock.  PoisonError (holding the guard)\n"
     "if poisoned."},
    {"try_write", pc_rwlock_py_try_write_m, METH_NOARGS,
     "try_write($self, /)\n--\n\n"
     "Exclusive access without waiting: a write guard, or WouldBlock if\n"
     "anybody holds the lock.  PoisonError (holding the guard) if poisoned."},
    {"is_poisoned", pc_rwlock_py_is_poisoned, METH_NOARGS,
     "is_poisoned($self, /)\n--\n\n"
     "True if a writer left its block by an exception (and the poison was\n"
     "not cleared since).  A snapshot."},
    {"clear_poison", pc_rwlock_py_clear_poison, METH_NOARGS,
     "clear_poison($self, /)\n--\n\nMark the lock healthy again."},
    {"into_inner", pc_rwlock_py_into_inner, METH_NOARGS,
     "into_inner($self, /)\n--\n\n"
     "The value, taken under a write lock (waiting for it, interruptibly);\n"
     "the RwLock keeps it no longer (later guards see None).  Raises\n"
     "PoisonError, whose ``into_inner()`` is the value, if poisoned."},
    {"get_mut", pc_rwlock_py_get_mut, METH_NOARGS,
     "get_mut($self, /)\n--\n\n"
     "The value, without locking: for a thread that knows no other thread\n"
     "can reach the lock (Rust's ``get_mut``; here the caller's promise).\n"
     "PoisonError, whose ``into_inner()`` is the value, if poisoned."},
    {"set", pc_rwlock_py_set, METH_O,
     "set($self, value, /)\n--\n\n"
     "Replace the value under the write lock (Rust's ``RwLock::set``); the\n"
     "old value is dropped after the unlock.  If poisoned, store nothing and\n"
     "raise PoisonError whose ``into_inner()`` is *value*."},
    {"replace", pc_rwlock_py_replace, METH_O,
     "replace($self, value, /)\n--\n\n"
     "Replace the value under the write lock and return the old one\n"
     "(Rust's ``RwLock::replace``).  If poisoned, store nothing and raise\n"
     "PoisonError whose ``into_inner()`` is *value*."},
    {"get_cloned", pc_rwlock_py_get_cloned, METH_NOARGS,
     "get_cloned($self, /)\n--\n\n"
     "``copy.copy()`` of the value, made under a read lock (Rust's\n"
     "``RwLock::get_cloned``).  If poisoned, raise PoisonError whose\n"
     "``into_inner()`` is the copy."},
    {"__enter__", pc_rwlock_py_enter, METH_NOARGS,
     "__enter__($self, /)\n--\n\nTypeError: use ``with rw.read() as g:`` or "
     "``with rw.write() as g:``."},
    {"__exit__", (PyCFunction)(void (*)(void))pc_rwlock_py_exit, METH_FASTCALL,
     "__exit__($self, /, *exc_info)\n--\n\nTypeError (see __enter__)."},
    PC_PY_NO_COPY_METHODS,
    {"__class_getitem__", Py_GenericAlias, METH_O | METH_CLASS, PC_PY_CLASS_GETITEM_DOC},
    {NULL, NULL, 0, NULL}};

static PyMemberDef pc_rwlock_py_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(pc_rwlock_py_t, weakrefs), READONLY, NULL},
    {NULL, 0, 0, 0, NULL}};

static PyType_Slot pc_rwlock_py_slots[] = {
    {Py_tp_new, (void *)pc_rwlock_py_new},
    {Py_tp_dealloc, (void *)pc_rwlock_py_dealloc},
    {Py_tp_traverse, (void *)pc_rwlock_py_traverse},
    {Py_tp_clear, (void *)pc_rwlock_py_clear},
    {Py_tp_methods, pc_rwlock_py_methods},
    {Py_tp_members, pc_rwlock_py_members},
    {Py_tp_repr, (void *)pc_rwlock_py_repr},
    {Py_tp_doc,
     (void *)"RwLock(value=None, *, poison=True)\n--\n\n"
             "A reader-writer lock that owns *value*, as Rust's\n"
             "``std::sync::RwLock<T>``: many readers at once (``with rw.read() as\n"
             "g:``) or one writer (``with rw.write() as g:``).  Writers are\n"
             "preferred: once a writer waits, new readers wait behind it, so a\n"
             "stream of readers cannot starve it.  An exception leaving a write\n"
             "block poisons the lock; read()/write() then raise PoisonError\n"
             "holding the (locked) guard; with ``poison=False`` it only unlocks\n"
             "(parking_lot's choice, Rust's ``std::sync::nonpoison``).\n\n"
             "read()/write() wait (with an optional *timeout*, raising\n"
             "pyconc.Timeout), try_read()/try_write() raise WouldBlock instead.\n"
             "Waits release the GIL and are interruptible by Ctrl-C: a call\n"
             "either returns holding the lock or raises without it.  Not\n"
             "reentrant: a thread holding a read lock that asks for another may\n"
             "deadlock behind a waiting writer.\n\n"
             "Thread safety without the GIL: the lock state is C atomics\n"
             "(``pc_rwlock_t``, Rust's futex RwLock); the value is replaced only\n"
             "by the writer, and every access to the value reference is inside\n"
             "the RwLock's critical section."},
    {0, NULL}};

static PyType_Spec pc_rwlock_py_spec = {
    "pyconc.RwLock", sizeof(pc_rwlock_py_t), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC, pc_rwlock_py_slots};

/* Add RwLock, RwLockReadGuard and RwLockWriteGuard to the module. */
static int pc_rwlock_py_init(PyObject *m)
{
    if ((pc_rwlock_py_read_type = pc_py_add_type(m, &pc_rwlock_py_read_spec)) == NULL ||
        (pc_rwlock_py_write_type = pc_py_add_type(m, &pc_rwlock_py_write_spec)) == NULL ||
        (pc_rwlock_py_type = pc_py_add_type(m, &pc_rwlock_py_spec)) == NULL)
        return -1;
    return 0;
}

#endif /* PC_RWLOCK_PY_H */
