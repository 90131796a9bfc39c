/*
 * pyglue/pc_barrier_py.h - pyconc.Barrier as a C type over pc_barrier_t
 * (CPython C API).
 *
 * wait() arrives with one fetch_add (GIL held); the leader returns at
 * once, the others wait through pc_py_wait.  A wait interrupted by a
 * signal must not leave its arrival behind (the round would complete one
 * thread short) nor raise after its round completed (the caller would
 * wait again and be a round ahead).  So the arrival is taken back before
 * the signal handlers run: each park that ends without the round passing
 * calls pc_barrier_leave without the GIL; if the round completed
 * meanwhile the wait has passed (PC_OK), else the handlers run with no
 * arrival outstanding, and the next try arrives again (perhaps as the
 * leader).  Either wait() returns having passed, or it raises without
 * having arrived.
 *
 * Without the GIL: all state is pc_barrier_t's two atomics; `n` is set
 * in tp_new and only read afterwards.
 */
#ifndef PC_BARRIER_PY_H
#define PC_BARRIER_PY_H

#include <structmember.h>

#include "pc_barrier.h"

static PyTypeObject *pc_barrier_py_type;

typedef struct {
    PyObject_HEAD
    pc_barrier_t b;
    PyObject *weakrefs;
} pc_barrier_py_t;

static PyObject *pc_barrier_py_new(PyTypeObject *tp, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"n", NULL};
    PyObject *n_obj;
    pc_barrier_py_t *self;
    long long n;
    int overflow = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O:Barrier", kwlist, &n_obj))
        return NULL;
    if (!PyLong_Check(n_obj) || PyBool_Check(n_obj)) {
        PyErr_Format(PyExc_TypeError, "Barrier(n) needs an int, not %.100s",
                     Py_TYPE(n_obj)->tp_name);
        return NULL;
    }
    n = PyLong_AsLongLongAndOverflow(n_obj, &overflow);
    if (n == -1 && PyErr_Occurred())
        return NULL;
    if (overflow < 0 || (overflow == 0 && n < 1)) {
        PyErr_Format(PyExc_ValueError, "Barrier(n) needs n >= 1 threads, not %R", n_obj);
        return NULL;
    }
    if (overflow > 0 || n > 0x7FFFFFFF) {
        PyErr_SetString(PyExc_OverflowError, "Barrier(n): n is too large");
        return NULL;
    }
    self = (pc_barrier_py_t *)tp->tp_alloc(tp, 0);
    if (self == NULL)
        return NULL;
    pc_barrier_init(&self->b, (uint32_t)n);
    self->weakrefs = NULL;
    return (PyObject *)self;
}

static void pc_barrier_py_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    /* No coroutine waits: each waiter holds a reference to the Barrier. */
    pc_barrier_destroy(&((pc_barrier_py_t *)self)->b);
    if (((pc_barrier_py_t *)self)->weakrefs != NULL)
        PyObject_ClearWeakRefs(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

/* One waiter: its round, whether its arrival currently counts in it, and
 * whether it turned out to be the leader. */
typedef struct {
    pc_barrier_t *b;
    uint32_t round;
    bool arrived;
    bool leader;
} pc_barrier_py_waiter_t;

/* With the GIL: arrive again if the last park took the arrival back,
 * then see whether the round has passed. */
static pc_status pc_barrier_py_try(void *self)
{
    pc_barrier_py_waiter_t *w = (pc_barrier_py_waiter_t *)self;
    if (!w->arrived) {
        int64_t r = pc_barrier_arrive(w->b);
        if (r == PC_BARRIER_LEADER) {
            w->leader = true;
            return PC_OK;
        }
        w->round = (uint32_t)r;
        w->arrived = true;
    }
    return pc_barrier_is_passed(w->b, w->round) ? PC_OK : PC_AGAIN;
}

/* Without the GIL: wait one slice; if the round has not passed, take the
 * arrival back before pc_py_wait runs the signal handlers. */
static pc_status pc_barrier_py_park(void *self, int64_t slice_ns)
{
    pc_barrier_py_waiter_t *w = (pc_barrier_py_waiter_t *)self;
    if (pc_barrier_wait(w->b, w->round, slice_ns))
        return PC_OK;
    if (!pc_barrier_leave(w->b, w->round)) {
        /* Completed meanwhile (or its leader is completing it): passed.
         * The leader is a few instructions from waking us. */
        while (!pc_barrier_wait(w->b, w->round, PC_WAIT_SLICE_NS))
            ;
        return PC_OK;
    }
    w->arrived = false;
    return PC_AGAIN;
}

static PyObject *pc_barrier_py_wait(PyObject *self, PyObject *unused)
{
    pc_barrier_py_waiter_t w;
    int64_t r;
    pc_status st;
    (void)unused;
    w.b = &((pc_barrier_py_t *)self)->b;
    r = pc_barrier_arrive(w.b);
    if (r == PC_BARRIER_LEADER)
        Py_RETURN_TRUE;
    w.round = (uint32_t)r;
    w.arrived = true;
    w.leader = false;
    st = pc_py_wait(&w, pc_barrier_py_try, pc_barrier_py_park, PC_PY_FOREVER, 1);
    if (st != PC_OK)
        return pc_py_raise(st, NULL); /* interrupted: no arrival left behind */
    return PyBool_FromLong(w.leader);
}

static PyObject *pc_barrier_py_get_n(PyObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromUnsignedLong(((pc_barrier_py_t *)self)->b.n);
}

static PyObject *pc_barrier_py_repr(PyObject *self)
{
    return PyUnicode_FromFormat("<pyconc.Barrier n=%lu at %p>",
                                (unsigned long)((pc_barrier_py_t *)self)->b.n, self);
}

static PyMethodDef pc_barrier_py_methods[] = {
    {"wait", pc_barrier_py_wait, METH_NOARGS,
     "wait($self, /)\n--\n\n"
     "Block until *n* threads have called wait(), then return True in\n"
     "exactly one of them (the leader) and False in the others.\n\n"
     "The wait releases the GIL and is interruptible by Ctrl-C: an\n"
     "interrupted call takes its arrival back, so it either returns having\n"
     "passed the barrier or raises without having arrived."},
    PC_PY_NO_COPY_METHODS,
    {NULL, NULL, 0, NULL}};

static PyGetSetDef pc_barrier_py_getset[] = {
    {"n", pc_barrier_py_get_n, NULL, "The number of threads per round.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyMemberDef pc_barrier_py_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(pc_barrier_py_t, weakrefs), READONLY, NULL},
    {NULL, 0, 0, 0, NULL}};

static PyType_Slot pc_barrier_py_slots[] = {
    {Py_tp_new, (void *)pc_barrier_py_new},
    {Py_tp_dealloc, (void *)pc_barrier_py_dealloc},
    {Py_tp_methods, pc_barrier_py_methods},
    {Py_tp_getset, pc_barrier_py_getset},
    {Py_tp_members, pc_barrier_py_members},
    {Py_tp_repr, (void *)pc_barrier_py_repr},
    {Py_tp_doc,
     (void *)"Barrier(n)\n--\n\n"
             "Makes *n* threads wait for each other, as Rust's\n"
             "``std::sync::Barrier``: ``wait()`` blocks until *n* threads have\n"
             "called it, then releases them all and returns True in exactly one\n"
             "of them (the leader) and False in the others.  Reusable: the next\n"
             "*n* calls form the next round.\n\n"
             "The wait releases the GIL and is interruptible by Ctrl-C; an\n"
             "interrupted thread has taken its arrival back.\n\n"
             "Thread safety without the GIL: all state is two C atomics\n"
             "(``pc_barrier_t``); n is fixed at creation."},
    {0, NULL}};

static PyType_Spec pc_barrier_py_spec = {
    "pyconc.Barrier", sizeof(pc_barrier_py_t), 0, Py_TPFLAGS_DEFAULT, pc_barrier_py_slots};

static int pc_barrier_py_init(PyObject *m)
{
    return (pc_barrier_py_type = pc_py_add_type(m, &pc_barrier_py_spec)) == NULL ? -1 : 0;
}

#endif /* PC_BARRIER_PY_H */
