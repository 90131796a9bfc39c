/*
 * pyglue/pc_mutex_py.h - pyconc.MutexGuard as a C type (CPython C API).
 *
 * Included only by build.py's preamble, i.e. only into the compiled
 * module, where Python.h is available; the C core (csrc/pc_*.c) stays free
 * of the Python API.  Why a C type: `with m.lock() as g:` runs lock(),
 * __enter__ and __exit__ on every use, and as Python functions they cost
 * more than twice `with threading.Lock():`.  Here __enter__ and __exit__
 * are C methods and lock()'s fast path is one C call that takes the lock
 * and makes the guard.
 *
 * pc_pyguard_install() (declared in cdef/sync_fast.h, called once by
 * pyconc/sync.py) adds to the module pyconc._core:
 *   MutexGuard                 the guard type
 *   mutex_lock_fast(m, addr)   trylock the pc_mutex_t at addr; a guard if
 *                              it was free and not poisoned, else None
 *                              (nothing held)
 *   mutex_guard(m, addr)       a guard for a lock the caller already holds
 *                              (released again if the guard cannot be made)
 * where m is the pyconc.Mutex (the guard keeps it, and so the lock word,
 * alive) and addr the address of its pc_mutex_t as an int.
 *
 * Without the GIL: the guard's lock pointer is taken with an atomic
 * exchange, so two threads leaving one guard cannot unlock twice.
 */
#ifndef PC_MUTEX_PY_H
#define PC_MUTEX_PY_H

#include "pc_mutex.h"

typedef struct {
    PyObject_HEAD
    PyObject *mutex;              /* the pyconc.Mutex; NULL once released */
    _Atomic(pc_mutex_t *) lock;   /* NULL once released */
    int lost;                     /* _forget(): leave the block silently */
} pc_pyguard_t;

static PyTypeObject *pc_pyguard_type;
static PyObject *pc_pyguard_str_value;

static const char pc_pyguard_stale[] =
    "guard used outside its with block (the lock was already released)";

static PyObject *pc_pyguard_make(PyObject *mutex, pc_mutex_t *lock)
{
    pc_pyguard_t *g = PyObject_New(pc_pyguard_t, pc_pyguard_type);
    if (g == NULL)
        return NULL;
    Py_INCREF(mutex);
    g->mutex = mutex;
    /* relaxed: the guard is not shared yet. */
    atomic_store_explicit(&g->lock, lock, memory_order_relaxed);
    g->lost = 0;
    return (PyObject *)g;
}

/* A guard for a held lock; if it cannot be made (no memory), the lock is
 * released, since nothing else could release it. */
static PyObject *pc_pyguard_make_or_unlock(PyObject *mutex, pc_mutex_t *lock)
{
    PyObject *g = pc_pyguard_make(mutex, lock);
    if (g == NULL)
        pc_mutex_unlock(lock, false);
    return g;
}

/* Take the guard's lock away from it; NULL if it had none. */
static pc_mutex_t *pc_pyguard_take(pc_pyguard_t *g)
{
    /* acq_rel: exactly one taker gets the pointer. */
    return atomic_exchange_explicit(&g->lock, NULL, memory_order_acq_rel);
}

static void pc_pyguard_dealloc(PyObject *self)
{
    pc_pyguard_t *g = (pc_pyguard_t *)self;
    PyTypeObject *tp = Py_TYPE(self);
    pc_mutex_t *lock = pc_pyguard_take(g);
    /* A guard dropped while still holding its lock (never entered, or
     * inside a dropped PoisonError) unlocks, as Rust's guard does. */
    if (lock != NULL)
        pc_mutex_unlock(lock, false);
    Py_CLEAR(g->mutex);
    PyObject_Free(self);
    Py_DECREF(tp);
}

static int pc_pyguard_live(pc_pyguard_t *g)
{
    /* relaxed: a check for the holder's own thread. */
    if (atomic_load_explicit(&g->lock, memory_order_relaxed) == NULL) {
        PyErr_SetString(PyExc_RuntimeError, pc_pyguard_stale);
        return 0;
    }
    return 1;
}

static PyObject *pc_pyguard_enter(PyObject *self, PyObject *unused)
{
    (void)unused;
    if (!pc_pyguard_live((pc_pyguard_t *)self))
        return NULL;
    Py_INCREF(self);
    return self;
}

static PyObject *pc_pyguard_exit(PyObject *self, PyObject *const *args,
                                 Py_ssize_t nargs)
{
    pc_pyguard_t *g = (pc_pyguard_t *)self;
    pc_mutex_t *lock = pc_pyguard_take(g);
    PyObject *mutex;
    if (lock == NULL) {
        if (g->lost)
            Py_RETURN_NONE; /* see _forget */
        PyErr_SetString(PyExc_RuntimeError, pc_pyguard_stale);
        return NULL;
    }
    /* Leaving by an exception poisons the mutex. */
    pc_mutex_unlock(lock, nargs > 0 && args[0] != Py_None);
    mutex = g->mutex;
    g->mutex = NULL;
    Py_XDECREF(mutex); /* after the unlock: the mutex owns the lock word */
    Py_RETURN_NONE;
}

static PyObject *pc_pyguard_forget(PyObject *self, PyObject *unused)
{
    /* The caller no longer holds the lock (a Condvar wait could not take
     * it back): drop it without unlocking; leaving the block is silent. */
    pc_pyguard_t *g = (pc_pyguard_t *)self;
    (void)unused;
    (void)pc_pyguard_take(g);
    g->lost = 1;
    Py_CLEAR(g->mutex);
    Py_RETURN_NONE;
}

static PyObject *pc_pyguard_get_value(PyObject *self, void *closure)
{
    pc_pyguard_t *g = (pc_pyguard_t *)self;
    (void)closure;
    if (!pc_pyguard_live(g))
        return NULL;
    return PyObject_GetAttr(g->mutex, pc_pyguard_str_value);
}

static int pc_pyguard_set_value(PyObject *self, PyObject *value, void *closure)
{
    pc_pyguard_t *g = (pc_pyguard_t *)self;
    (void)closure;
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "a guard's value cannot be deleted");
        return -1;
    }
    if (!pc_pyguard_live(g))
        return -1;
    return PyObject_SetAttr(g->mutex, pc_pyguard_str_value, value);
}

static PyObject *pc_pyguard_get_mutex(PyObject *self, void *closure)
{
    pc_pyguard_t *g = (pc_pyguard_t *)self;
    (void)closure;
    if (atomic_load_explicit(&g->lock, memory_order_relaxed) == NULL ||
        g->mutex == NULL)
        Py_RETURN_NONE;
    Py_INCREF(g->mutex);
    return g->mutex;
}

static PyObject *pc_pyguard_repr(PyObject *self)
{
    pc_pyguard_t *g = (pc_pyguard_t *)self;
    PyObject *v, *r;
    if (atomic_load_explicit(&g->lock, memory_order_relaxed) == NULL)
        return PyUnicode_FromFormat("<released pyconc.MutexGuard at %p>", self);
    v = PyObject_GetAttr(g->mutex, pc_pyguard_str_value);
    if (v == NULL)
        return NULL;
    r = PyUnicode_FromFormat("<pyconc.MutexGuard value=%R>", v);
    Py_DECREF(v);
    return r;
}

static PyMethodDef pc_pyguard_methods[] = {
    {"__enter__", pc_pyguard_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))pc_pyguard_exit, METH_FASTCALL, NULL},
    {"_forget", pc_pyguard_forget, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef pc_pyguard_getset[] = {
    {"value", pc_pyguard_get_value, pc_pyguard_set_value,
     "The protected value (read, or replace by assigning); only inside the "
     "guard's with block.",
     NULL},
    {"_mutex", pc_pyguard_get_mutex, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyType_Slot pc_pyguard_slots[] = {
    {Py_tp_dealloc, (void *)pc_pyguard_dealloc},
    {Py_tp_methods, pc_pyguard_methods},
    {Py_tp_getset, pc_pyguard_getset},
    {Py_tp_repr, (void *)pc_pyguard_repr},
    {Py_tp_doc,
     (void *)"The proof that a thread holds a Mutex; made by Mutex.lock().\n\n"
             "Use it only as ``with m.lock() as g:``.  Inside the block "
             "``g.value`` reads the\nprotected value and ``g.value = x`` "
             "replaces it.  Leaving the block unlocks\nthe mutex; leaving it "
             "by an exception also poisons it.  After the block the\nguard "
             "is dead: using it raises RuntimeError.  A guard dropped "
             "unused unlocks.\n\nThread safety without the GIL: a guard "
             "belongs to the thread that locked;\nits lock pointer is taken "
             "with an atomic exchange, so it unlocks at most once."},
    {0, NULL}};

static PyType_Spec pc_pyguard_spec = {
    "pyconc.MutexGuard", sizeof(pc_pyguard_t), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION, /* Mutex.lock() makes them */
    pc_pyguard_slots};

static pc_mutex_t *pc_pyguard_addr(PyObject *addr)
{
    void *p = PyLong_AsVoidPtr(addr);
    if (p == NULL && !PyErr_Occurred())
        PyErr_SetString(PyExc_ValueError, "null mutex address");
    return (pc_mutex_t *)p;
}

static PyObject *pc_pyguard_lock_fast(PyObject *self, PyObject *const *args,
                                      Py_ssize_t nargs)
{
    pc_mutex_t *lock;
    int r;
    (void)self;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "mutex_lock_fast(mutex, addr)");
        return NULL;
    }
    lock = pc_pyguard_addr(args[1]);
    if (lock == NULL)
        return NULL;
    r = pc_mutex_trylock(lock);
    if (PC_LIKELY(r == PC_MUTEX_OK))
        return pc_pyguard_make_or_unlock(args[0], lock);
    if (r == PC_MUTEX_POISONED)
        pc_mutex_unlock(lock, false); /* the slow path reports it */
    Py_RETURN_NONE;
}

static PyObject *pc_pyguard_new(PyObject *self, PyObject *const *args,
                                Py_ssize_t nargs)
{
    pc_mutex_t *lock;
    (void)self;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "mutex_guard(mutex, addr)");
        return NULL;
    }
    lock = pc_pyguard_addr(args[1]);
    if (lock == NULL)
        return NULL;
    return pc_pyguard_make_or_unlock(args[0], lock);
}

static PyMethodDef pc_pyguard_functions[] = {
    {"mutex_lock_fast", (PyCFunction)(void (*)(void))pc_pyguard_lock_fast,
     METH_FASTCALL, NULL},
    {"mutex_guard", (PyCFunction)(void (*)(void))pc_pyguard_new, METH_FASTCALL,
     NULL},
    {NULL, NULL, 0, NULL}};

/* Add the type and functions to pyconc._core.  0 on success, -1 with a
 * Python exception set.  Called with the GIL held, once. */
static int pc_pyguard_install(void)
{
    PyObject *m = PyImport_AddModule("pyconc._core"); /* borrowed */
    PyMethodDef *def;
    if (m == NULL)
        return -1;
    if (pc_pyguard_type != NULL)
        return 0;
    pc_pyguard_str_value = PyUnicode_InternFromString("_value");
    if (pc_pyguard_str_value == NULL)
        return -1;
    pc_pyguard_type = (PyTypeObject *)PyType_FromSpec(&pc_pyguard_spec);
    if (pc_pyguard_type == NULL)
        return -1;
    Py_INCREF(pc_pyguard_type);
    if (PyModule_AddObject(m, "MutexGuard", (PyObject *)pc_pyguard_type) < 0) {
        Py_DECREF(pc_pyguard_type);
        return -1;
    }
    for (def = pc_pyguard_functions; def->ml_name != NULL; def++) {
        PyObject *f = PyCFunction_New(def, NULL);
        if (f == NULL || PyModule_AddObject(m, def->ml_name, f) < 0) {
            Py_XDECREF(f);
            return -1;
        }
    }
    return 0;
}

#endif /* PC_MUTEX_PY_H */
