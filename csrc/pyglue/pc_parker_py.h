/*
 * pyglue/pc_parker_py.h - pyconc.Parker and pyconc.Unparker (crossbeam's
 * Parker/Unparker, the primitive under Rust's thread::park) as C types over
 * pc_parker_t.
 *
 * park() takes the token with the GIL held if there is one (one C call);
 * otherwise it waits through pc_py_wait: the GIL released, in slices,
 * Ctrl-C checked between them.  A token taken inside a slice is never
 * given back by a signal: the wait returns PC_OK and the signal is left
 * for the caller's next bytecode.
 *
 * Only one thread may park on a Parker at a time (Rust's Parker is not
 * Sync for parking): `owner` holds the parking thread's id, set with a
 * CAS, and a second thread gets RuntimeError instead of a token meant for
 * the first.
 *
 * Without the GIL: the token is pc_parker_t's atomic word; `owner` is an
 * atomic; an Unparker holds a strong reference to its Parker, set in its
 * constructor and never changed.
 */
#ifndef PC_PARKER_PY_H
#define PC_PARKER_PY_H

#include <structmember.h>

#include "pc_parker.h"

typedef struct {
    PyObject_HEAD
    pc_parker_t p;
    _Atomic uint64_t owner; /* the thread parked now (PyThread ident), or 0 */
    PyObject *weakrefs;
} pc_parker_py_t;

typedef struct {
    PyObject_HEAD
    pc_parker_py_t *parker; /* strong; NULL only after tp_clear */
} pc_unparker_py_t;

static PyTypeObject *pc_parker_py_type;
static PyTypeObject *pc_unparker_py_type;

static pc_status pc_parker_py_try(void *self)
{
    return pc_parker_try_park(&((pc_parker_py_t *)self)->p) ? PC_OK : PC_AGAIN;
}

static pc_status pc_parker_py_park_slice(void *self, int64_t slice_ns)
{
    return pc_parker_park_timed(&((pc_parker_py_t *)self)->p, slice_ns) ? PC_OK : PC_AGAIN;
}

/* park(timeout=None) -> bool */
static PyObject *pc_parker_py_park(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                                   PyObject *kwnames)
{
    pc_parker_py_t *pk = (pc_parker_py_t *)self;
    PyObject *timeout = NULL;
    int64_t ns = PC_PY_FOREVER;
    uint64_t me, expected = 0;
    pc_status st;
    if (PC_LIKELY(nargs == 0 && kwnames == NULL)) {
        if (pc_parker_try_park(&pk->p)) /* a token is there: one C call */
            Py_RETURN_TRUE;
    } else {
        if (pc_py_one_arg(args, nargs, kwnames, "park", "timeout", 0, &timeout) < 0)
            return NULL;
        if (timeout == Py_None)
            timeout = NULL;
        if (pc_py_timeout_ns(timeout, &ns) < 0)
            return NULL;
    }
    me = (uint64_t)PyThread_get_thread_ident();
    /* acquire (and the release store below): one claim of the parking
     * slot follows another, as a lock's would; the token itself is
     * ordered by pc_parker. */
    if (!atomic_compare_exchange_strong_explicit(&pk->owner, &expected, me,
                                                 memory_order_acquire,
                                                 memory_order_relaxed)) {
        PyErr_SetString(PyExc_RuntimeError,
                        "another thread is parked on this Parker (one thread parks on a "
                        "Parker; give each thread its own)");
        return NULL;
    }
    st = pc_py_wait(pk, pc_parker_py_try, pc_parker_py_park_slice, ns, 1);
    atomic_store_explicit(&pk->owner, 0, memory_order_release);
    if (st == PC_OK)
        Py_RETURN_TRUE;
    if (st == PC_AGAIN || st == PC_TIMEOUT)
        Py_RETURN_FALSE;
    return pc_py_raise(st, NULL); /* PC_INTERRUPTED: the handler's error is set */
}

static PyObject *pc_parker_py_unpark(PyObject *self, PyObject *unused)
{
    (void)unused;
    pc_parker_unpark(&((pc_parker_py_t *)self)->p);
    Py_RETURN_NONE;
}

static PyObject *pc_unparker_py_make(pc_parker_py_t *pk)
{
    pc_unparker_py_t *u = PyObject_GC_New(pc_unparker_py_t, pc_unparker_py_type);
    if (u == NULL)
        return NULL;
    Py_INCREF(pk);
    u->parker = pk;
    PyObject_GC_Track(u);
    return (PyObject *)u;
}

static PyObject *pc_parker_py_unparker(PyObject *self, PyObject *unused)
{
    (void)unused;
    return pc_unparker_py_make((pc_parker_py_t *)self);
}

static PyObject *pc_parker_py_new(PyTypeObject *tp, PyObject *args, PyObject *kw)
{
    pc_parker_py_t *pk;
    if (PyTuple_GET_SIZE(args) != 0 || (kw != NULL && PyDict_GET_SIZE(kw) != 0)) {
        PyErr_SetString(PyExc_TypeError, "Parker() takes no arguments");
        return NULL;
    }
    pk = (pc_parker_py_t *)tp->tp_alloc(tp, 0);
    if (pk == NULL)
        return NULL;
    pc_parker_init(&pk->p);
    /* relaxed: before the object is shared. */
    atomic_store_explicit(&pk->owner, 0, memory_order_relaxed);
    pk->weakrefs = NULL;
    return (PyObject *)pk;
}

static void pc_parker_py_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    if (((pc_parker_py_t *)self)->weakrefs != NULL)
        PyObject_ClearWeakRefs(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyObject *pc_parker_py_repr(PyObject *self)
{
    /* relaxed: a snapshot for display. */
    uint32_t s = atomic_load_explicit(&((pc_parker_py_t *)self)->p.state, memory_order_relaxed);
    return PyUnicode_FromFormat("<pyconc.Parker %s at %p>",
                                s == PC_PARKER_NOTIFIED ? "with a token"
                                : s == PC_PARKER_PARKED ? "parked"
                                                        : "empty",
                                self);
}

static PyMethodDef pc_parker_py_methods[] = {
    {"park", (PyCFunction)(void (*)(void))pc_parker_py_park, METH_FASTCALL | METH_KEYWORDS,
     "park($self, /, timeout=None)\n--\n\n"
     "Take the token, waiting until an unpark() makes one available if there\n"
     "is none.  Returns True once the token is taken, False if *timeout*\n"
     "(seconds) passed first (None, or any huge value, waits without\n"
     "limit; 0 only looks).  An unpark() made before park() is not lost;\n"
     "several make one token.  The wait releases the GIL and is\n"
     "interruptible by Ctrl-C (a token taken is never given back by it).\n"
     "One thread parks on a Parker at a time (RuntimeError otherwise)."},
    {"unparker", pc_parker_py_unparker, METH_NOARGS,
     "unparker($self, /)\n--\n\n"
     "An Unparker for this Parker, to hand to the threads that wake it."},
    {"unpark", pc_parker_py_unpark, METH_NOARGS,
     "unpark($self, /)\n--\n\nThe same as ``self.unparker().unpark()``."},
    PC_PY_NO_COPY_METHODS,
    {NULL, NULL, 0, NULL}};

static PyMemberDef pc_parker_py_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(pc_parker_py_t, weakrefs), READONLY, NULL},
    {NULL, 0, 0, 0, NULL}};

static PyType_Slot pc_parker_py_slots[] = {
    {Py_tp_new, (void *)pc_parker_py_new},
    {Py_tp_dealloc, (void *)pc_parker_py_dealloc},
    {Py_tp_repr, (void *)pc_parker_py_repr},
    {Py_tp_methods, pc_parker_py_methods},
    {Py_tp_members, pc_parker_py_members},
    {Py_tp_doc,
     (void *)"Parker()\n--\n\n"
             "A token that one thread waits for and any thread makes available,\n"
             "as crossbeam's ``Parker`` (and the mechanism of Rust's\n"
             "``thread::park``)::\n\n"
             "    p = Parker()\n"
             "    u = p.unparker()          # give this to the waking threads\n"
             "    ...                       # elsewhere: u.unpark()\n"
             "    p.park(timeout=1.0)       # True once unparked\n\n"
             "Unlike an Event, the token is consumed by the park that takes it, and\n"
             "an unpark with nobody parked costs one atomic exchange.\n\n"
             "Thread safety without the GIL: the token is one C atomic word\n"
             "(``pc_parker_t``, after Rust's futex parker); the parking thread is\n"
             "claimed with a CAS."},
    {0, NULL}};

static PyType_Spec pc_parker_py_spec = {"pyconc.Parker", sizeof(pc_parker_py_t), 0,
                                        PC_PY_TPFLAGS, pc_parker_py_slots};

/* ------------------------------------------------------------- Unparker */

static PyObject *pc_unparker_py_unpark(PyObject *self, PyObject *unused)
{
    pc_parker_py_t *pk = ((pc_unparker_py_t *)self)->parker;
    (void)unused;
    if (pk != NULL)
        pc_parker_unpark(&pk->p);
    Py_RETURN_NONE;
}

static PyObject *pc_unparker_py_clone(PyObject *self, PyObject *unused)
{
    pc_parker_py_t *pk = ((pc_unparker_py_t *)self)->parker;
    (void)unused;
    if (pk == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Unparker without its Parker (collected)");
        return NULL;
    }
    return pc_unparker_py_make(pk);
}

static int pc_unparker_py_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(((pc_unparker_py_t *)self)->parker);
    return 0;
}

static int pc_unparker_py_clear(PyObject *self)
{
    Py_CLEAR(((pc_unparker_py_t *)self)->parker);
    return 0;
}

static void pc_unparker_py_dealloc(PyObject *self)
{
    pc_py_gc_dealloc(self, NULL, pc_unparker_py_clear);
}

static PyMethodDef pc_unparker_py_methods[] = {
    {"unpark", pc_unparker_py_unpark, METH_NOARGS,
     "unpark($self, /)\n--\n\n"
     "Make the Parker's token available, waking its thread if it is parked.\n"
     "Never waits."},
    {"clone", pc_unparker_py_clone, METH_NOARGS,
     "clone($self, /)\n--\n\nAnother Unparker for the same Parker."},
    PC_PY_NO_COPY_METHODS,
    {NULL, NULL, 0, NULL}};

static PyType_Slot pc_unparker_py_slots[] = {
    {Py_tp_dealloc, (void *)pc_unparker_py_dealloc},
    {Py_tp_traverse, (void *)pc_unparker_py_traverse},
    {Py_tp_clear, (void *)pc_unparker_py_clear},
    {Py_tp_methods, pc_unparker_py_methods},
    {Py_tp_doc,
     (void *)"The waking half of a Parker (from Parker.unparker()): unpark() makes\n"
             "the token available.  Share it between threads freely.\n\n"
             "Thread safety without the GIL: a strong reference to the Parker,\n"
             "set at creation; unpark() is one atomic exchange."},
    {0, NULL}};

static PyType_Spec pc_unparker_py_spec = {
    "pyconc.Unparker", sizeof(pc_unparker_py_t), 0,
    PC_PY_TPFLAGS | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    pc_unparker_py_slots};

static int pc_parker_py_init(PyObject *m)
{
    if ((pc_parker_py_type = pc_py_add_type(m, &pc_parker_py_spec)) == NULL ||
        (pc_unparker_py_type = pc_py_add_type(m, &pc_unparker_py_spec)) == NULL)
        return -1;
    return 0;
}

#endif /* PC_PARKER_PY_H */
