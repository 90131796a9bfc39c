/*
 * pyglue/pc_mutex_py.h - pyconc.Mutex, pyconc.MutexGuard and pyconc.Condvar
 * as C types.
 *
 *   Mutex       pc_mutex_py_t: embeds its pc_mutex_t (pc_mutex.h: a pc_spin
 *               lock and a poison flag) and owns the protected value.
 *   MutexGuard  pc_mutex_py_guard_t: a strong reference to its Mutex and a
 *               state word (held / released / lost); made only by
 *               Mutex.lock() and try_lock().
 *   Condvar     pc_condvar_py_t: embeds its pc_condvar_t (pc_condvar.h,
 *               Rust's futex Condvar) and the Mutex it is bound to.
 *
 * Built as CPython's _thread.lock (Modules/_threadmodule.c): all work in
 * tp_new (no tp_init: calling __init__ again changes nothing, so a guard
 * never points at a lock that was freed under it), METH_NOARGS/METH_O/
 * METH_FASTCALL methods, and the uncontended lock() one C call that takes
 * the lock and makes the guard.  Every wait is pc_py_wait (pyglue/pc_py.h)
 * around a pc_* wait that takes the lock inside the wait, so a signal never
 * leaves a lock taken by nobody: the call either returns the guard or
 * raises without the lock.  Condvar.wait re-takes the Mutex without letting
 * a signal in (the handler runs once it is held again), so a guard never
 * leaves its block thinking it holds a lock that it does not.
 *
 * All three hold Python references (value, mutex, bound mutex): GC types.
 *
 * Length: three C types that must see each other's internals (a Condvar
 * wait releases and re-takes a guard's lock; the guard's free list), and
 * the accessors Rust's Mutex has (into_inner, get_mut, set, replace,
 * get_cloned), each with its poisoning rule.
 */
#ifndef PC_MUTEX_PY_H
#define PC_MUTEX_PY_H

#include "pc_mutex.h"
#include "pc_condvar.h"
#include "structmember.h"

typedef struct {
    PyObject_HEAD
    pc_mutex_t lock;          /* the lock word and the poison flag */
    PyObject *value;          /* the protected value; NULL once retired */
    PyObject *weakrefs;
    /* Two flags live in the lock's owner bits (pc_mutex.h), which keeps
     * the object at 64 bytes: PC_MUTEX_PY_RETIRED once into_inner() took
     * the value; PC_MUTEX_PY_NOPOISON for Mutex(..., poison=False), set in
     * tp_new (an exception leaving a with block then only unlocks). */
} pc_mutex_py_t;

#define PC_MUTEX_PY_RETIRED PC_MUTEX_OWNER_BITS
#define PC_MUTEX_PY_NOPOISON (PC_MUTEX_OWNER_BITS << 1)

/* A guard's state. */
enum {
    PC_MUTEX_PY_RELEASED = 0, /* its block is over: using it raises */
    PC_MUTEX_PY_HELD = 1,     /* it holds the lock */
    PC_MUTEX_PY_LOST = 2      /* a Condvar wait could not take the lock
                               * back (the Mutex was retired): leaving the
                               * block is silent */
};

typedef struct {
    PyObject_HEAD
    pc_mutex_py_t *mutex;   /* strong; NULL only after tp_clear */
    _Atomic uint32_t state; /* PC_MUTEX_PY_* */
} pc_mutex_py_guard_t;

typedef struct {
    PyObject_HEAD
    pc_condvar_t cv;
    PyObject *mutex;        /* the Mutex of the first wait; NULL before */
    PyObject *weakrefs;
} pc_condvar_py_t;

static PyTypeObject *pc_mutex_py_type;
static PyTypeObject *pc_mutex_py_guard_type;
static PyTypeObject *pc_condvar_py_type;

static const char pc_mutex_py_stale[] =
    "guard used outside its with block (the lock was already released)";
static const char pc_mutex_py_retired_msg[] = "Mutex was consumed by into_inner()";
static const char pc_mutex_py_poisoned_msg[] =
    "Mutex poisoned: a holder raised inside its with block";

/* ------------------------------------------------------------- waiting */

/* The relaxed loads of `retired`: it only tells a waiter to give up;
 * nothing is read on the strength of it. */
static inline int pc_mutex_py_is_retired(pc_mutex_py_t *m)
{
    return (pc_mutex_owner_flags(&m->lock) & PC_MUTEX_PY_RETIRED) != 0;
}

/* pc_py_wait's halves for the mutex: PC_OK or PC_POISONED once held
 * (poisoned: held all the same), PC_BUSY if retired (not held). */
static pc_status pc_mutex_py_try(void *self)
{
    pc_mutex_py_t *m = self;
    switch (pc_mutex_trylock(&m->lock)) {
    case PC_MUTEX_OK:
        return PC_OK;
    case PC_MUTEX_POISONED:
        return PC_POISONED;
    default:
        return pc_mutex_py_is_retired(m) ? PC_BUSY : PC_AGAIN;
    }
}

static pc_status pc_mutex_py_park(void *self, int64_t slice_ns)
{
    switch (pc_mutex_lock_timed(&((pc_mutex_py_t *)self)->lock, slice_ns)) {
    case PC_MUTEX_OK:
        return PC_OK;
    case PC_MUTEX_POISONED:
        return PC_POISONED;
    default:
        return PC_AGAIN;
    }
}

/* --------------------------------------------------------------- guard */

/*
 * A free list of guards, as CPython keeps for its own short-lived objects
 * (tuples, floats): `with m.lock() as g:` makes and drops one guard per
 * block, and reusing the memory of the last few saves an allocation and a
 * free per block.  The memory kept here is that of untracked, finalised
 * guards (GC header included), brought back to life with PyObject_Init,
 * as PyObject_GC_New would.  With a GIL only: the GIL guards the list.
 */
#ifndef Py_GIL_DISABLED
#define PC_MUTEX_PY_FREE_MAX 16
static PyObject *pc_mutex_py_free[PC_MUTEX_PY_FREE_MAX];
static int pc_mutex_py_nfree;
#endif

/* A guard for the lock the caller holds; if it cannot be made (no
 * memory), the lock is released, since nothing else could release it. */
static PyObject *pc_mutex_py_guard_new(pc_mutex_py_t *m)
{
    pc_mutex_py_guard_t *g;
#ifndef Py_GIL_DISABLED
    if (PC_LIKELY(pc_mutex_py_nfree > 0))
        g = (pc_mutex_py_guard_t *)PyObject_Init(pc_mutex_py_free[--pc_mutex_py_nfree],
                                                 pc_mutex_py_guard_type);
    else
#endif
        g = PyObject_GC_New(pc_mutex_py_guard_t, pc_mutex_py_guard_type);
    if (PC_UNLIKELY(g == NULL)) {
        pc_mutex_unlock(&m->lock, false);
        return NULL;
    }
    Py_INCREF(m);
    g->mutex = m;
    /* relaxed: the guard is not shared yet. */
    atomic_store_explicit(&g->state, PC_MUTEX_PY_HELD, memory_order_relaxed);
    PyObject_GC_Track(g);
    return (PyObject *)g;
}

/* The guard for a lock taken with status st (PC_OK or PC_POISONED): the
 * guard, or PoisonError holding it. */
static PyObject *pc_mutex_py_guard_for(pc_mutex_py_t *m, pc_status st)
{
    PyObject *g = pc_mutex_py_guard_new(m);
    if (g == NULL || st == PC_OK)
        return g;
    pc_py_raise_value(PC_POISONED, g, pc_mutex_py_poisoned_msg);
    Py_DECREF(g); /* the PoisonError holds it (or, if that failed, it
                   * unlocks as it goes) */
    return NULL;
}

/* Take the guard's lock away from it: the state it had. */
static inline uint32_t pc_mutex_py_guard_take(pc_mutex_py_guard_t *g, uint32_t to)
{
    /* acq_rel: exactly one taker sees HELD, so two threads leaving one
     * guard cannot unlock twice. */
    return atomic_exchange_explicit(&g->state, to, memory_order_acq_rel);
}

/* The guard's Mutex if the guard holds it, else NULL with RuntimeError. */
static inline pc_mutex_py_t *pc_mutex_py_guard_live(pc_mutex_py_guard_t *g)
{
    /* relaxed: a check for the holder's own thread. */
    if (PC_UNLIKELY(atomic_load_explicit(&g->state, memory_order_relaxed) !=
                        PC_MUTEX_PY_HELD ||
                    g->mutex == NULL)) {
        PyErr_SetString(PyExc_RuntimeError, pc_mutex_py_stale);
        return NULL;
    }
    return g->mutex;
}

static PyObject *pc_mutex_py_guard_enter(PyObject *self, PyObject *unused)
{
    (void)unused;
    if (pc_mutex_py_guard_live((pc_mutex_py_guard_t *)self) == NULL)
        return NULL;
    Py_INCREF(self);
    return self;
}

static PyObject *pc_mutex_py_guard_exit(PyObject *self, PyObject *const *args,
                                        Py_ssize_t nargs)
{
    pc_mutex_py_guard_t *g = (pc_mutex_py_guard_t *)self;
    uint32_t prev;
    if (PC_UNLIKELY(g->mutex == NULL)) {
        PyErr_SetString(PyExc_RuntimeError, pc_mutex_py_stale);
        return NULL;
    }
    prev = pc_mutex_py_guard_take(g, PC_MUTEX_PY_RELEASED);
    if (PC_LIKELY(prev == PC_MUTEX_PY_HELD)) {
        /* Leaving by an exception poisons the mutex (unless it was made
         * with poison=False). */
        pc_mutex_unlock(&g->mutex->lock,
                        nargs > 0 && args[0] != Py_None &&
                            !(pc_mutex_owner_flags(&g->mutex->lock) & PC_MUTEX_PY_NOPOISON));
        Py_RETURN_NONE;
    }
    if (prev == PC_MUTEX_PY_LOST)
        Py_RETURN_NONE; /* the exception of the failed re-take propagates */
    PyErr_SetString(PyExc_RuntimeError, pc_mutex_py_stale);
    return NULL;
}

static PyObject *pc_mutex_py_guard_get_value(PyObject *self, void *closure)
{
    pc_mutex_py_t *m = pc_mutex_py_guard_live((pc_mutex_py_guard_t *)self);
    PyObject *v;
    (void)closure;
    if (m == NULL)
        return NULL;
    PC_PY_BEGIN_CRITICAL((PyObject *)m);
    v = m->value != NULL ? m->value : Py_None;
    Py_INCREF(v);
    PC_PY_END_CRITICAL();
    return v;
}

static int pc_mutex_py_guard_set_value(PyObject *self, PyObject *value, void *closure)
{
    pc_mutex_py_t *m;
    PyObject *old;
    (void)closure;
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "a guard's value cannot be deleted");
        return -1;
    }
    if ((m = pc_mutex_py_guard_live((pc_mutex_py_guard_t *)self)) == NULL)
        return -1;
    Py_INCREF(value);
    PC_PY_BEGIN_CRITICAL((PyObject *)m);
    old = m->value;
    m->value = value;
    PC_PY_END_CRITICAL();
    Py_XDECREF(old); /* outside the section: its __del__ may run anything */
    return 0;
}

/* `g.value` is the attribute a with block touches, twice for `+=`: test
 * for it first, by identity (attribute names in code are interned), before
 * the generic lookup through the type.  Measured: 0.88x -> see the
 * benchmark notes in the report of issue 11. */
static PyObject *pc_mutex_py_str_value;

static PyObject *pc_mutex_py_guard_getattro(PyObject *self, PyObject *name)
{
    if (PC_LIKELY(name == pc_mutex_py_str_value))
        return pc_mutex_py_guard_get_value(self, NULL);
    return PyObject_GenericGetAttr(self, name);
}

static int pc_mutex_py_guard_setattro(PyObject *self, PyObject *name, PyObject *value)
{
    if (PC_LIKELY(name == pc_mutex_py_str_value))
        return pc_mutex_py_guard_set_value(self, value, NULL);
    return PyObject_GenericSetAttr(self, name, value);
}

static PyObject *pc_mutex_py_guard_repr(PyObject *self)
{
    pc_mutex_py_guard_t *g = (pc_mutex_py_guard_t *)self;
    PyObject *v, *r;
    if (atomic_load_explicit(&g->state, memory_order_relaxed) != PC_MUTEX_PY_HELD ||
        g->mutex == NULL)
        return PyUnicode_FromFormat("<released pyconc.MutexGuard at %p>", self);
    if ((v = pc_mutex_py_guard_get_value(self, NULL)) == NULL)
        return NULL;
    r = PyUnicode_FromFormat("<pyconc.MutexGuard value=%R>", v);
    Py_DECREF(v);
    return r;
}

static int pc_mutex_py_guard_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(((pc_mutex_py_guard_t *)self)->mutex);
    Py_VISIT(Py_TYPE(self));
    return 0;
}

/* A guard dropped while still holding its lock (never entered, inside a
 * dropped PoisonError, part of a garbage cycle) unlocks, as Rust's guard
 * does, without poisoning. */
static int pc_mutex_py_guard_clear(PyObject *self)
{
    pc_mutex_py_guard_t *g = (pc_mutex_py_guard_t *)self;
    /* relaxed load first: a guard whose block is over (the common case)
     * is dropped without a locked instruction. */
    if (g->mutex != NULL &&
        atomic_load_explicit(&g->state, memory_order_relaxed) == PC_MUTEX_PY_HELD &&
        pc_mutex_py_guard_take(g, PC_MUTEX_PY_RELEASED) == PC_MUTEX_PY_HELD)
        pc_mutex_unlock(&g->mutex->lock, false);
    Py_CLEAR(g->mutex);
    return 0;
}

static void pc_mutex_py_guard_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    (void)pc_mutex_py_guard_clear(self);
#ifndef Py_GIL_DISABLED
    if (pc_mutex_py_nfree < PC_MUTEX_PY_FREE_MAX) {
        pc_mutex_py_free[pc_mutex_py_nfree++] = self;
        Py_DECREF(tp); /* PyObject_Init takes it again on reuse */
        return;
    }
#endif
    PyObject_GC_Del(self);
    Py_DECREF(tp);
}

static PyMethodDef pc_mutex_py_guard_methods[] = {
    {"__enter__", pc_mutex_py_guard_enter, METH_NOARGS,
     "__enter__($self, /)\n--\n\nThe guard itself, for ``with m.lock() as g:``."},
    {"__exit__", (PyCFunction)(void (*)(void))pc_mutex_py_guard_exit, METH_FASTCALL,
     "__exit__($self, /, *exc_info)\n--\n\n"
     "Unlock the mutex; leaving by an exception also poisons it."},
    {"__reduce__", pc_py_no_copy, METH_NOARGS, PC_PY_REDUCE_DOC},
    {"__class_getitem__", Py_GenericAlias, METH_O | METH_CLASS, PC_PY_CLASS_GETITEM_DOC},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef pc_mutex_py_guard_getset[] = {
    {"value", pc_mutex_py_guard_get_value, pc_mutex_py_guard_set_value,
     "The protected value (read, or replace by assigning); only inside the "
     "guard's with block.",
     NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyType_Slot pc_mutex_py_guard_slots[] = {
    {Py_tp_dealloc, (void *)pc_mutex_py_guard_dealloc},
    {Py_tp_traverse, (void *)pc_mutex_py_guard_traverse},
    {Py_tp_clear, (void *)pc_mutex_py_guard_clear},
    {Py_tp_methods, pc_mutex_py_guard_methods},
    {Py_tp_getset, pc_mutex_py_guard_getset},
    {Py_tp_repr, (void *)pc_mutex_py_guard_repr},
    {Py_tp_getattro, (void *)pc_mutex_py_guard_getattro},
    {Py_tp_setattro, (void *)pc_mutex_py_guard_setattro},
    {Py_tp_doc,
     (void *)"The proof that a thread holds a Mutex; made by Mutex.lock().\n\n"
             "Use it only as ``with m.lock() as g:``.  Inside the block "
             "``g.value`` reads the\nprotected value and ``g.value = x`` "
             "replaces it.  Leaving the block unlocks\nthe mutex; leaving it "
             "by an exception also poisons it.  After the block the\nguard "
             "is dead: using it raises RuntimeError.  A guard dropped "
             "unused unlocks.\n\nThread safety without the GIL: a guard "
             "belongs to the thread that locked;\nits state word is taken "
             "with an atomic exchange, so it unlocks at most once;\nthe value "
             "is read and replaced in a critical section on the Mutex."},
    {0, NULL}};

static PyType_Spec pc_mutex_py_guard_spec = {
    "pyconc.MutexGuard", sizeof(pc_mutex_py_guard_t), 0,
    PC_PY_TPFLAGS | Py_TPFLAGS_HAVE_GC |
        Py_TPFLAGS_DISALLOW_INSTANTIATION, /* Mutex.lock() makes them */
    pc_mutex_py_guard_slots};

/* --------------------------------------------------------------- Mutex */

static PyObject *pc_mutex_py_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"value", "poison", NULL};
    PyObject *value = Py_None;
    int poison = 1;
    pc_mutex_py_t *m;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O$p:Mutex", kwlist, &value, &poison))
        return NULL;
    m = (pc_mutex_py_t *)type->tp_alloc(type, 0);
    if (m == NULL)
        return NULL;
    pc_mutex_init(&m->lock);
    Py_INCREF(value);
    m->value = value;
    m->weakrefs = NULL;
    if (!poison)
        pc_mutex_owner_set(&m->lock, PC_MUTEX_PY_NOPOISON);
    return (PyObject *)m;
}

static PyObject *pc_mutex_py_timed_out(PyObject *timeout)
{
    PyErr_Format(pc_py_exc[PC_TIMEOUT], "Mutex.lock() timed out after %R s", timeout);
    return NULL;
}

/* lock(timeout=None) */
static PyObject *pc_mutex_py_lock(PyObject *self, PyObject *const *args,
                                  Py_ssize_t nargs, PyObject *kwnames)
{
    pc_mutex_py_t *m = (pc_mutex_py_t *)self;
    PyObject *timeout = NULL;
    int64_t ns = PC_PY_FOREVER;
    pc_status st;
    if (PC_LIKELY(nargs == 0 && kwnames == NULL)) {
        /* The fast path: free and not poisoned, one call. */
        int r = pc_mutex_trylock(&m->lock);
        if (PC_LIKELY(r == PC_MUTEX_OK))
            return pc_mutex_py_guard_new(m);
        if (r == PC_MUTEX_POISONED) /* held: the guard goes in the error */
            return pc_mutex_py_guard_for(m, PC_POISONED);
    } else {
        if (nargs > 1 || (kwnames != NULL && (nargs + PyTuple_GET_SIZE(kwnames) != 1 ||
                                              PyUnicode_CompareWithASCIIString(
                                                  PyTuple_GET_ITEM(kwnames, 0),
                                                  "timeout") != 0))) {
            PyErr_SetString(PyExc_TypeError,
                            "lock() takes one optional argument, timeout");
            return NULL;
        }
        timeout = args[0];
        if (pc_py_timeout_ns(timeout, &ns) < 0)
            return NULL;
    }
    st = pc_py_wait(m, pc_mutex_py_try, pc_mutex_py_park, ns, 1);
    switch (st) {
    case PC_OK:
    case PC_POISONED:
        return pc_mutex_py_guard_for(m, st);
    case PC_TIMEOUT:
        return pc_mutex_py_timed_out(timeout);
    case PC_BUSY:
        PyErr_SetString(PyExc_RuntimeError, pc_mutex_py_retired_msg);
        return NULL;
    default:
        return pc_py_raise(st, NULL);
    }
}

static PyObject *pc_mutex_py_try_lock(PyObject *self, PyObject *unused)
{
    pc_mutex_py_t *m = (pc_mutex_py_t *)self;
    pc_status st = pc_mutex_py_try(m);
    (void)unused;
    switch (st) {
    case PC_OK:
    case PC_POISONED:
        return pc_mutex_py_guard_for(m, st);
    case PC_BUSY:
        PyErr_SetString(PyExc_RuntimeError, pc_mutex_py_retired_msg);
        return NULL;
    default:
        return pc_py_raise(PC_AGAIN, "Mutex is locked");
    }
}

static PyObject *pc_mutex_py_is_poisoned(PyObject *self, PyObject *unused)
{
    (void)unused;
    return PyBool_FromLong(pc_mutex_is_poisoned(&((pc_mutex_py_t *)self)->lock));
}

static PyObject *pc_mutex_py_clear_poison(PyObject *self, PyObject *unused)
{
    (void)unused;
    pc_mutex_clear_poison(&((pc_mutex_py_t *)self)->lock);
    Py_RETURN_NONE;
}

/* Lock for into_inner and the accessors (set, replace, get_cloned),
 * waiting interruptibly:
 * PC_OK or PC_POISONED with the lock held; else -1 with an error set. */
static int pc_mutex_py_lock_for(pc_mutex_py_t *m, pc_status *st)
{
    if (pc_mutex_py_is_retired(m)) {
        PyErr_SetString(PyExc_RuntimeError, pc_mutex_py_retired_msg);
        return -1;
    }
    *st = pc_py_wait(m, pc_mutex_py_try, pc_mutex_py_park, PC_PY_FOREVER, 1);
    if (*st == PC_BUSY) {
        PyErr_SetString(PyExc_RuntimeError, pc_mutex_py_retired_msg);
        return -1;
    }
    if (*st != PC_OK && *st != PC_POISONED) {
        pc_py_raise(*st, NULL);
        return -1;
    }
    return 0;
}

static PyObject *pc_mutex_py_into_inner(PyObject *self, PyObject *unused)
{
    pc_mutex_py_t *m = (pc_mutex_py_t *)self;
    PyObject *value;
    pc_status st;
    (void)unused;
    if (pc_mutex_py_lock_for(m, &st) < 0)
        return NULL;
    /* Held for good: later lock() calls find it retired.  relaxed: the
     * flag only tells waiters to give up. */
    pc_mutex_owner_set(&m->lock, PC_MUTEX_PY_RETIRED);
    PC_PY_BEGIN_CRITICAL((PyObject *)m);
    value = m->value;
    m->value = NULL;
    PC_PY_END_CRITICAL();
    if (value == NULL)
        value = Py_NewRef(Py_None);
    if (st == PC_POISONED) {
        pc_py_raise_value(PC_POISONED, value, pc_mutex_py_poisoned_msg);
        Py_DECREF(value);
        return NULL;
    }
    return value;
}

static PyObject *pc_mutex_py_get_mut(PyObject *self, PyObject *unused)
{
    pc_mutex_py_t *m = (pc_mutex_py_t *)self;
    PyObject *v;
    (void)unused;
    if (pc_mutex_py_is_retired(m)) {
        PyErr_SetString(PyExc_RuntimeError, pc_mutex_py_retired_msg);
        return NULL;
    }
    PC_PY_BEGIN_CRITICAL((PyObject *)m);
    v = m->value != NULL ? m->value : Py_None;
    Py_INCREF(v);
    PC_PY_END_CRITICAL();
    /* As Rust's get_mut: a poisoned mutex gives its value only through
     * the error.  (A snapshot: nobody else holds the lock, by contract.) */
    if (pc_mutex_is_poisoned(&m->lock)) {
        pc_py_raise_value(PC_POISONED, v, pc_mutex_py_poisoned_msg);
        Py_DECREF(v);
        return NULL;
    }
    return v;
}

/* set() and replace(): store value under the lock; the old value, or
 * NULL with PoisonError holding *value* (not stored) if poisoned. */
static PyObject *pc_mutex_py_swap_value(pc_mutex_py_t *m, PyObject *value)
{
    PyObject *old;
    pc_status st;
    if (pc_mutex_py_lock_for(m, &st) < 0)
        return NULL;
    if (st == PC_POISONED) {
        pc_mutex_unlock(&m->lock, false);
        pc_py_raise_value(PC_POISONED, value, pc_mutex_py_poisoned_msg);
        return NULL;
    }
    Py_INCREF(value);
    PC_PY_BEGIN_CRITICAL((PyObject *)m);
    old = m->value;
    m->value = value;
    PC_PY_END_CRITICAL();
    pc_mutex_unlock(&m->lock, false);
    return old != NULL ? old : Py_NewRef(Py_None);
}

static PyObject *pc_mutex_py_set(PyObject *self, PyObject *value)
{
    PyObject *old = pc_mutex_py_swap_value((pc_mutex_py_t *)self, value);
    if (old == NULL)
        return NULL;
    Py_DECREF(old); /* after the unlock: its __del__ may lock the mutex */
    Py_RETURN_NONE;
}

static PyObject *pc_mutex_py_replace(PyObject *self, PyObject *value)
{
    return pc_mutex_py_swap_value((pc_mutex_py_t *)self, value);
}

static PyObject *pc_mutex_py_get_cloned(PyObject *self, PyObject *unused)
{
    pc_mutex_py_t *m = (pc_mutex_py_t *)self;
    PyObject *v, *c;
    pc_status st;
    (void)unused;
    if (pc_mutex_py_lock_for(m, &st) < 0)
        return NULL;
    PC_PY_BEGIN_CRITICAL((PyObject *)m);
    v = m->value != NULL ? m->value : Py_None;
    Py_INCREF(v);
    PC_PY_END_CRITICAL();
    c = pc_py_copy_of(v);
    pc_mutex_unlock(&m->lock, false); /* a failed copy does not poison */
    Py_DECREF(v);
    if (c != NULL && st == PC_POISONED) {
        pc_py_raise_value(PC_POISONED, c, pc_mutex_py_poisoned_msg);
        Py_CLEAR(c);
    }
    return c;
}

/* `with m:` -- a Mutex is not a context manager: its guard is. */
static const char pc_mutex_py_not_cm[] =
    "a Mutex is not itself a context manager: write `with m.lock() as g:` "
    "and use g.value";

static PyObject *pc_mutex_py_enter(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    PyErr_SetString(PyExc_TypeError, pc_mutex_py_not_cm);
    return NULL;
}

static PyObject *pc_mutex_py_exit(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    (void)args;
    (void)nargs;
    PyErr_SetString(PyExc_TypeError, pc_mutex_py_not_cm);
    return NULL;
}

static PyObject *pc_mutex_py_repr(PyObject *self)
{
    pc_mutex_py_t *m = (pc_mutex_py_t *)self;
    if (pc_mutex_py_is_retired(m))
        return PyUnicode_FromFormat("<retired pyconc.Mutex at %p>", self);
    return PyUnicode_FromFormat("<%s%s pyconc.Mutex at %p>",
                                pc_mutex_is_locked(&m->lock) ? "locked" : "unlocked",
                                pc_mutex_is_poisoned(&m->lock) ? " poisoned" : "",
                                self);
}

static int pc_mutex_py_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(((pc_mutex_py_t *)self)->value);
    Py_VISIT(Py_TYPE(self));
    return 0;
}

static int pc_mutex_py_clear(PyObject *self)
{
    Py_CLEAR(((pc_mutex_py_t *)self)->value);
    return 0;
}

static void pc_mutex_py_dealloc(PyObject *self)
{
    /* No coroutine waits: each waiter holds a reference to the Mutex. */
    pc_mutex_destroy(&((pc_mutex_py_t *)self)->lock);
    pc_py_gc_dealloc(self, ((pc_mutex_py_t *)self)->weakrefs, pc_mutex_py_clear);
}

static PyMethodDef pc_mutex_py_methods[] = {
    {"lock", (PyCFunction)(void (*)(void))pc_mutex_py_lock,
     METH_FASTCALL | METH_KEYWORDS,
     "lock($self, /, timeout=None)\n--\n\n"
     "Wait until the mutex is free, lock it and return its guard (use it\n"
     "as ``with m.lock() as g:``).  With *timeout* (seconds), raise\n"
     "pyconc.Timeout (a TimeoutError) if the mutex is still held after that\n"
     "long; a timeout of 0 tries once; None, or any timeout beyond what the\n"
     "platform can wait, waits without limit.  Raises PoisonError, holding\n"
     "the locked guard, if the mutex is poisoned.\n\n"
     "The wait releases the GIL and returns to the interpreter at least\n"
     "every 50 ms, so Ctrl-C interrupts it with KeyboardInterrupt (in the\n"
     "main thread); an interrupted lock() has not taken the mutex."},
    {"try_lock", pc_mutex_py_try_lock, METH_NOARGS,
     "try_lock($self, /)\n--\n\n"
     "Lock the mutex if it is free and return its guard; never waits.\n"
     "Raises WouldBlock if another thread holds it, PoisonError (holding\n"
     "the locked guard) if it is poisoned."},
    {"is_poisoned", pc_mutex_py_is_poisoned, METH_NOARGS,
     "is_poisoned($self, /)\n--\n\n"
     "True if a holder left its ``with`` block by an exception (and the\n"
     "poison was not cleared since).  A snapshot."},
    {"clear_poison", pc_mutex_py_clear_poison, METH_NOARGS,
     "clear_poison($self, /)\n--\n\n"
     "Mark the mutex healthy again (after repairing its value)."},
    {"into_inner", pc_mutex_py_into_inner, METH_NOARGS,
     "into_inner($self, /)\n--\n\n"
     "Lock the mutex (waiting, if needed, for its holder to release it),\n"
     "return the value and retire the mutex: any later use raises\n"
     "RuntimeError.  If the mutex is poisoned, raise PoisonError whose\n"
     "``into_inner()`` is the value (Rust's ``Mutex::into_inner``)."},
    {"get_mut", pc_mutex_py_get_mut, METH_NOARGS,
     "get_mut($self, /)\n--\n\n"
     "The value, without locking: for a thread that knows no other\n"
     "thread can reach the mutex (Rust's ``get_mut``, which the borrow\n"
     "checker proves; here it is the caller's promise).  If the mutex is\n"
     "poisoned, raise PoisonError whose ``into_inner()`` is the value."},
    {"set", pc_mutex_py_set, METH_O,
     "set($self, value, /)\n--\n\n"
     "Lock, replace the value with *value*, unlock (Rust's ``Mutex::set``).\n"
     "The old value is dropped after the unlock.  If the mutex is poisoned,\n"
     "store nothing and raise PoisonError whose ``into_inner()`` is *value*."},
    {"replace", pc_mutex_py_replace, METH_O,
     "replace($self, value, /)\n--\n\n"
     "Lock, replace the value with *value*, unlock, and return the old\n"
     "value (Rust's ``Mutex::replace``).  If the mutex is poisoned, store\n"
     "nothing and raise PoisonError whose ``into_inner()`` is *value*."},
    {"get_cloned", pc_mutex_py_get_cloned, METH_NOARGS,
     "get_cloned($self, /)\n--\n\n"
     "``copy.copy()`` of the value, made under the lock, so that it is of\n"
     "one state (Rust's ``Mutex::get_cloned``).  If the mutex is poisoned,\n"
     "raise PoisonError whose ``into_inner()`` is the copy (Rust's carries\n"
     "nothing; a Python caller may want to look).  A copy that raises\n"
     "does not poison the mutex."},
    {"__enter__", pc_mutex_py_enter, METH_NOARGS,
     "__enter__($self, /)\n--\n\nTypeError: lock with ``with m.lock() as g:``."},
    {"__exit__", (PyCFunction)(void (*)(void))pc_mutex_py_exit, METH_FASTCALL,
     "__exit__($self, /, *exc_info)\n--\n\nTypeError (see __enter__)."},
    {"__reduce__", pc_py_no_copy, METH_NOARGS, PC_PY_REDUCE_DOC},
    {"__class_getitem__", Py_GenericAlias, METH_O | METH_CLASS,
     "__class_getitem__($cls, item, /)\n--\n\n"
     "Mutex[T]: the type of a Mutex that holds a T (for type hints)."},
    {NULL, NULL, 0, NULL}};

static PyMemberDef pc_mutex_py_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(pc_mutex_py_t, weakrefs), READONLY, NULL},
    {NULL, 0, 0, 0, NULL}};

static PyType_Slot pc_mutex_py_slots[] = {
    {Py_tp_new, (void *)pc_mutex_py_new},
    {Py_tp_dealloc, (void *)pc_mutex_py_dealloc},
    {Py_tp_traverse, (void *)pc_mutex_py_traverse},
    {Py_tp_clear, (void *)pc_mutex_py_clear},
    {Py_tp_repr, (void *)pc_mutex_py_repr},
    {Py_tp_methods, pc_mutex_py_methods},
    {Py_tp_members, pc_mutex_py_members},
    {Py_tp_doc,
     (void *)"Mutex(value=None, *, poison=True)\n--\n\n"
             "A mutual-exclusion lock that owns *value*, as Rust's\n"
             "``std::sync::Mutex<T>``::\n\n"
             "    counter = Mutex(0)\n"
             "    with counter.lock() as g:\n"
             "        g.value += 1\n\n"
             "``lock()`` blocks until the mutex is free and returns a guard;\n"
             "``try_lock()`` does not wait.  If an exception leaves a ``with`` "
             "block\nholding the guard, the mutex is *poisoned*: later "
             "``lock()`` and\n``try_lock()`` calls raise PoisonError, whose "
             "``into_inner()`` is the\nguard (the lock is held), so the value "
             "can still be inspected, repaired\nand the poison cleared::\n\n"
             "    try:\n"
             "        with m.lock() as g:\n"
             "            use(g.value)\n"
             "    except PoisonError as e:\n"
             "        with e.into_inner() as g:\n"
             "            g.value = repaired(g.value)\n"
             "        m.clear_poison()\n\n"
             "With ``poison=False`` an exception leaving the block only unlocks\n"
             "(parking_lot's Mutex, Rust's ``std::sync::nonpoison``): for code\n"
             "whose blocks raise routinely (a KeyError from a lookup) and leave\n"
             "the value consistent.  Just as fast.\n\n"
             "Not reentrant: a thread that locks a Mutex it holds deadlocks "
             "(until\nits timeout).  A guard that is dropped without its block "
             "(a signal\nbetween lock() and the block, a dropped PoisonError) "
             "unlocks.\n\n"
             "Thread safety without the GIL: the lock word and the poison flag "
             "are C\natomics (``pc_mutex_t``); the value is read and replaced "
             "by the lock's\nholder, in a critical section on the Mutex (free-"
             "threaded builds), so\nthat even a guard shared against the rules "
             "cannot free it twice."},
    {0, NULL}};

static PyType_Spec pc_mutex_py_spec = {
    "pyconc.Mutex", sizeof(pc_mutex_py_t), 0,
    PC_PY_TPFLAGS | Py_TPFLAGS_HAVE_GC, pc_mutex_py_slots};

/* ------------------------------------------------------------- Condvar */

/* The Mutex of a guard handed to a wait, binding the Condvar to it on
 * first use; NULL with TypeError, RuntimeError or ValueError set. */
static pc_mutex_py_t *pc_condvar_py_check(pc_condvar_py_t *cv, PyObject *guard)
{
    pc_mutex_py_t *m;
    int other = 0;
    if (!Py_IS_TYPE(guard, pc_mutex_py_guard_type)) {
        PyErr_Format(PyExc_TypeError,
                     "Condvar waits take a MutexGuard (from Mutex.lock()), not %.100s",
                     Py_TYPE(guard)->tp_name);
        return NULL;
    }
    if ((m = pc_mutex_py_guard_live((pc_mutex_py_guard_t *)guard)) == NULL)
        return NULL;
    if (PC_LIKELY(cv->mutex == (PyObject *)m))
        return m; /* set once, never changed: a stale read only misses this */
    PC_PY_BEGIN_CRITICAL((PyObject *)cv);
    if (cv->mutex == NULL) {
        Py_INCREF(m);
        cv->mutex = (PyObject *)m;
    } else if (cv->mutex != (PyObject *)m) {
        other = 1;
    }
    PC_PY_END_CRITICAL();
    if (other) {
        PyErr_SetString(PyExc_ValueError, "a Condvar is used with one Mutex only");
        return NULL;
    }
    return m;
}

/* pc_py_wait's halves for the wait itself: the try always says "not yet"
 * (the park re-checks the counter before it sleeps); PC_OK once the
 * counter moved. */
typedef struct {
    pc_condvar_t *cv;
    uint32_t seq;
} pc_condvar_py_wait_t;

static pc_status pc_condvar_py_try(void *arg)
{
    (void)arg;
    return PC_AGAIN;
}

static pc_status pc_condvar_py_park(void *arg, int64_t slice_ns)
{
    pc_condvar_py_wait_t *w = arg;
    return pc_condvar_wait(w->cv, w->seq, slice_ns) == PC_CONDVAR_NOTIFIED ? PC_OK
                                                                            : PC_AGAIN;
}

/*
 * One wait: unlock the guard's mutex, sleep until notified, for at most
 * ns (PC_PY_FOREVER: no limit; 0: not at all), then re-take the mutex.
 * Returns 0 (notified, or spuriously), 1 (timed out), -1 with an error
 * set.  On every return the guard's state is true: it holds the mutex,
 * or (only if the mutex was retired meanwhile) is marked lost.  A signal
 * during the sleep ends it; the mutex is re-taken before its exception
 * propagates, without letting another signal in.
 */
static int pc_condvar_py_wait1(pc_condvar_py_t *cv, pc_mutex_py_guard_t *g,
                               pc_mutex_py_t *m, int64_t ns)
{
    pc_condvar_py_wait_t w;
    PyObject *et = NULL, *ev = NULL, *etb = NULL;
    pc_status st, relock;
    if (pc_mutex_py_guard_live(g) == NULL) /* a predicate may have left it */
        return -1;
    w.cv = &cv->cv;
    w.seq = pc_condvar_unlock_prepare(&cv->cv, &m->lock);
    st = pc_py_wait(&w, pc_condvar_py_try, pc_condvar_py_park, ns, 1);
    if (st == PC_INTERRUPTED)
        PyErr_Fetch(&et, &ev, &etb);
    /* Re-take: with the GIL held first (see pc_condvar.h), then waiting,
     * deaf to signals (their handlers run once we hold it). */
    relock = pc_py_wait(m, pc_mutex_py_try, pc_mutex_py_park, PC_PY_FOREVER, 0);
    if (relock == PC_BUSY) {
        /* Retired by into_inner() while we slept: not ours any more. */
        (void)pc_mutex_py_guard_take(g, PC_MUTEX_PY_LOST);
        if (st != PC_INTERRUPTED)
            PyErr_SetString(PyExc_RuntimeError, pc_mutex_py_retired_msg);
    }
    if (st == PC_INTERRUPTED) {
        PyErr_Restore(et, ev, etb);
        return -1;
    }
    if (relock == PC_BUSY)
        return -1;
    if (relock == PC_POISONED) {
        pc_py_raise_value(PC_POISONED, (PyObject *)g,
                          "Mutex poisoned while waiting on a Condvar");
        return -1;
    }
    if (st != PC_OK && st != PC_TIMEOUT) {
        pc_py_raise(st, NULL);
        return -1;
    }
    return st == PC_TIMEOUT;
}

/* The value a predicate is called with, and the call: 1 (true), 0, -1. */
static int pc_condvar_py_pred(pc_mutex_py_t *m, PyObject *predicate)
{
    PyObject *v, *r;
    int t;
    PC_PY_BEGIN_CRITICAL((PyObject *)m);
    v = m->value != NULL ? m->value : Py_None;
    Py_INCREF(v);
    PC_PY_END_CRITICAL();
    r = PyObject_CallOneArg(predicate, v);
    Py_DECREF(v);
    if (r == NULL)
        return -1;
    t = PyObject_IsTrue(r);
    Py_DECREF(r);
    return t;
}

static PyObject *pc_condvar_py_pair(PyObject *guard, int timed_out)
{
    return Py_BuildValue("(OO)", guard, timed_out ? Py_True : Py_False);
}

static PyObject *pc_condvar_py_wait(PyObject *self, PyObject *guard)
{
    pc_condvar_py_t *cv = (pc_condvar_py_t *)self;
    pc_mutex_py_t *m = pc_condvar_py_check(cv, guard);
    if (m == NULL || pc_condvar_py_wait1(cv, (pc_mutex_py_guard_t *)guard, m,
                                         PC_PY_FOREVER) < 0)
        return NULL;
    Py_INCREF(guard);
    return guard;
}

static int pc_condvar_py_args(PyObject *const *args, Py_ssize_t nargs,
                              Py_ssize_t want, const char *sig)
{
    if (nargs != want) {
        PyErr_Format(PyExc_TypeError, "%s takes %zd arguments (%zd given)", sig,
                     want, nargs);
        return -1;
    }
    (void)args;
    return 0;
}

static PyObject *pc_condvar_py_wait_while(PyObject *self, PyObject *const *args,
                                          Py_ssize_t nargs)
{
    pc_condvar_py_t *cv = (pc_condvar_py_t *)self;
    pc_mutex_py_t *m;
    int t;
    if (pc_condvar_py_args(args, nargs, 2, "wait_while(guard, predicate)") < 0 ||
        (m = pc_condvar_py_check(cv, args[0])) == NULL)
        return NULL;
    while ((t = pc_condvar_py_pred(m, args[1])) > 0)
        if (pc_condvar_py_wait1(cv, (pc_mutex_py_guard_t *)args[0], m, PC_PY_FOREVER) < 0)
            return NULL;
    if (t < 0)
        return NULL;
    Py_INCREF(args[0]);
    return args[0];
}

static PyObject *pc_condvar_py_wait_timeout(PyObject *self, PyObject *const *args,
                                            Py_ssize_t nargs)
{
    pc_condvar_py_t *cv = (pc_condvar_py_t *)self;
    pc_mutex_py_t *m;
    int64_t ns;
    int r;
    if (pc_condvar_py_args(args, nargs, 2, "wait_timeout(guard, timeout)") < 0 ||
        (m = pc_condvar_py_check(cv, args[0])) == NULL ||
        pc_py_seconds_ns(args[1], 0, &ns) < 0)
        return NULL;
    if ((r = pc_condvar_py_wait1(cv, (pc_mutex_py_guard_t *)args[0], m, ns)) < 0)
        return NULL;
    return pc_condvar_py_pair(args[0], r);
}

static PyObject *pc_condvar_py_wait_timeout_while(PyObject *self, PyObject *const *args,
                                                  Py_ssize_t nargs)
{
    pc_condvar_py_t *cv = (pc_condvar_py_t *)self;
    pc_mutex_py_t *m;
    int64_t ns, deadline = -1;
    int t;
    if (pc_condvar_py_args(args, nargs, 3,
                           "wait_timeout_while(guard, timeout, predicate)") < 0 ||
        (m = pc_condvar_py_check(cv, args[0])) == NULL ||
        pc_py_seconds_ns(args[1], 0, &ns) < 0)
        return NULL;
    if (ns != PC_PY_FOREVER)
        deadline = pc_now_ns() + ns;
    while ((t = pc_condvar_py_pred(m, args[2])) > 0) {
        int64_t left = PC_PY_FOREVER;
        if (deadline >= 0 && (left = deadline - pc_now_ns()) <= 0)
            return pc_condvar_py_pair(args[0], 1);
        if (pc_condvar_py_wait1(cv, (pc_mutex_py_guard_t *)args[0], m, left) < 0)
            return NULL;
    }
    if (t < 0)
        return NULL;
    return pc_condvar_py_pair(args[0], 0);
}

static PyObject *pc_condvar_py_notify_one(PyObject *self, PyObject *unused)
{
    (void)unused;
    pc_condvar_notify_one(&((pc_condvar_py_t *)self)->cv);
    Py_RETURN_NONE;
}

static PyObject *pc_condvar_py_notify_all(PyObject *self, PyObject *unused)
{
    (void)unused;
    pc_condvar_notify_all(&((pc_condvar_py_t *)self)->cv);
    Py_RETURN_NONE;
}

static PyObject *pc_condvar_py_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    pc_condvar_py_t *cv;
    if (PyTuple_GET_SIZE(args) != 0 || (kw != NULL && PyDict_GET_SIZE(kw) != 0)) {
        PyErr_SetString(PyExc_TypeError, "Condvar() takes no arguments");
        return NULL;
    }
    cv = (pc_condvar_py_t *)type->tp_alloc(type, 0);
    if (cv == NULL)
        return NULL;
    pc_condvar_init(&cv->cv);
    cv->mutex = NULL;
    cv->weakrefs = NULL;
    return (PyObject *)cv;
}

static PyObject *pc_condvar_py_repr(PyObject *self)
{
    return PyUnicode_FromFormat("<pyconc.Condvar at %p>", self);
}

static int pc_condvar_py_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(((pc_condvar_py_t *)self)->mutex);
    Py_VISIT(Py_TYPE(self));
    return 0;
}

static int pc_condvar_py_clear(PyObject *self)
{
    Py_CLEAR(((pc_condvar_py_t *)self)->mutex);
    return 0;
}

static void pc_condvar_py_dealloc(PyObject *self)
{
    /* No coroutine waits: each waiter holds a reference to the Condvar. */
    pc_condvar_destroy(&((pc_condvar_py_t *)self)->cv);
    pc_py_gc_dealloc(self, ((pc_condvar_py_t *)self)->weakrefs, pc_condvar_py_clear);
}

static PyMethodDef pc_condvar_py_methods[] = {
    {"wait", pc_condvar_py_wait, METH_O,
     "wait($self, guard, /)\n--\n\n"
     "Unlock the guard's mutex, sleep until notified, relock it and\n"
     "return the guard.  May return spuriously.  Interruptible by Ctrl-C\n"
     "(the mutex is relocked before KeyboardInterrupt propagates)."},
    {"wait_while", (PyCFunction)(void (*)(void))pc_condvar_py_wait_while, METH_FASTCALL,
     "wait_while($self, guard, predicate, /)\n--\n\n"
     "Wait while ``predicate(value)`` is true, *value* being the\n"
     "protected value (called with the mutex held); return the guard\n"
     "once it is false."},
    {"wait_timeout", (PyCFunction)(void (*)(void))pc_condvar_py_wait_timeout,
     METH_FASTCALL,
     "wait_timeout($self, guard, timeout, /)\n--\n\n"
     "As wait(), for at most *timeout* seconds; returns (guard, timed_out),\n"
     "*timed_out* being True if the time ran out without a notification."},
    {"wait_timeout_while",
     (PyCFunction)(void (*)(void))pc_condvar_py_wait_timeout_while, METH_FASTCALL,
     "wait_timeout_while($self, guard, timeout, predicate, /)\n--\n\n"
     "As wait_while(), for at most *timeout* seconds in all; returns\n"
     "(guard, timed_out), *timed_out* being True if the predicate was\n"
     "still true when the time ran out."},
    {"notify_one", pc_condvar_py_notify_one, METH_NOARGS,
     "notify_one($self, /)\n--\n\n"
     "Wake one thread waiting on this Condvar, if any (Rust's futex\n"
     "Condvar may wake more than one; they re-check their conditions).\n"
     "Needs no lock; costs no system call when nobody waits."},
    {"notify_all", pc_condvar_py_notify_all, METH_NOARGS,
     "notify_all($self, /)\n--\n\nWake every thread waiting on this Condvar."},
    {"__reduce__", pc_py_no_copy, METH_NOARGS, PC_PY_REDUCE_DOC},
    {NULL, NULL, 0, NULL}};

static PyMemberDef pc_condvar_py_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(pc_condvar_py_t, weakrefs), READONLY, NULL},
    {NULL, 0, 0, 0, NULL}};

static PyType_Slot pc_condvar_py_slots[] = {
    {Py_tp_new, (void *)pc_condvar_py_new},
    {Py_tp_dealloc, (void *)pc_condvar_py_dealloc},
    {Py_tp_traverse, (void *)pc_condvar_py_traverse},
    {Py_tp_clear, (void *)pc_condvar_py_clear},
    {Py_tp_repr, (void *)pc_condvar_py_repr},
    {Py_tp_methods, pc_condvar_py_methods},
    {Py_tp_members, pc_condvar_py_members},
    {Py_tp_doc,
     (void *)"Condvar()\n--\n\n"
             "A condition variable, used with a Mutex's guard, as Rust's\n"
             "``std::sync::Condvar``::\n\n"
             "    with m.lock() as g:\n"
             "        cv.wait_while(g, lambda queue: not queue)   # until non-empty\n"
             "        item = g.value.pop()\n\n"
             "``wait(guard)`` unlocks the guard's mutex, sleeps until "
             "notified, and\nlocks it again before returning the same guard.  "
             "Like Rust's (and\nPOSIX's), a wait may return without a "
             "notification (\"spuriously\"), so\nwait in a loop on a condition, "
             "or use ``wait_while``.  A Condvar is\nused with one Mutex only; "
             "a second one raises ValueError.\n\n"
             "Waits raise PoisonError (whose ``into_inner()`` is the guard, "
             "still\nheld) if the mutex was poisoned while they slept.  A wait "
             "interrupted\nby Ctrl-C re-takes the mutex before "
             "KeyboardInterrupt propagates.\n\n"
             "Thread safety without the GIL: the counter and waiter count are "
             "C\natomics (``pc_condvar_t``, Rust's futex Condvar algorithm); "
             "the bound\nmutex is set once, in a critical section on the "
             "Condvar, and a second\nmutex is reported."},
    {0, NULL}};

static PyType_Spec pc_condvar_py_spec = {
    "pyconc.Condvar", sizeof(pc_condvar_py_t), 0,
    PC_PY_TPFLAGS | Py_TPFLAGS_HAVE_GC, pc_condvar_py_slots};

/* Add Mutex, MutexGuard and Condvar to the module. */
static int pc_mutex_py_init(PyObject *m)
{
    if ((pc_mutex_py_str_value = PyUnicode_InternFromString("value")) == NULL)
        return -1;
    if ((pc_mutex_py_type = pc_py_add_type(m, &pc_mutex_py_spec)) == NULL ||
        (pc_mutex_py_guard_type = pc_py_add_type(m, &pc_mutex_py_guard_spec)) == NULL ||
        (pc_condvar_py_type = pc_py_add_type(m, &pc_condvar_py_spec)) == NULL)
        return -1;
    return 0;
}

#endif /* PC_MUTEX_PY_H */
