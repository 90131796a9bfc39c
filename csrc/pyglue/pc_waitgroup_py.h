/*
 * pyglue/pc_waitgroup_py.h - pyconc.WaitGroup (crossbeam's WaitGroup) as a
 * C type over pc_waitgroup_t.
 *
 * Every WaitGroup object is one member of its group; clone() makes
 * another.  A member is done once: by done(), at the end of its `with`
 * block, by wait() (which, as crossbeam's, gives up the caller's own
 * membership first), or when it is dropped.  wait() returns once every
 * member is done, waiting through pc_py_wait (GIL released, in slices,
 * Ctrl-C between them).
 *
 * The members share a small C block (the counter and the futex word) with
 * its own atomic reference count, freed by the last object to go; `done`
 * is exchanged atomically, so a member counts down once whoever ends it.
 *
 * Without the GIL: all of it is C atomics; the block pointer is set at
 * creation and never changes.  A member belongs to one thread at a time
 * (as crossbeam's, which is moved): a clone() racing with the same
 * member's done() could join after the group's wait returned.
 */
#ifndef PC_WAITGROUP_PY_H
#define PC_WAITGROUP_PY_H

#include <structmember.h>

#include "pc_waitgroup.h"

typedef struct {
    pc_waitgroup_t wg;
    _Atomic uint64_t refs; /* WaitGroup objects alive */
} pc_waitgroup_py_block_t;

typedef struct {
    PyObject_HEAD
    pc_waitgroup_py_block_t *b; /* shared, never NULL */
    _Atomic uint32_t done;      /* 1 once this member is done */
    PyObject *weakrefs;
} pc_waitgroup_py_t;

static PyTypeObject *pc_waitgroup_py_type;

static PyObject *pc_waitgroup_py_member(PyTypeObject *tp, pc_waitgroup_py_block_t *b)
{
    pc_waitgroup_py_t *w = (pc_waitgroup_py_t *)tp->tp_alloc(tp, 0);
    if (w == NULL)
        return NULL;
    w->b = b;
    /* relaxed: the object is not shared yet. */
    atomic_store_explicit(&w->done, 0, memory_order_relaxed);
    w->weakrefs = NULL;
    return (PyObject *)w;
}

/* End this member if it is not yet: 1 if this call did. */
static int pc_waitgroup_py_end(pc_waitgroup_py_t *w)
{
    /* acq_rel: one caller sees 0 and counts down. */
    if (atomic_exchange_explicit(&w->done, 1, memory_order_acq_rel) != 0)
        return 0;
    pc_waitgroup_done(&w->b->wg);
    return 1;
}

static PyObject *pc_waitgroup_py_new(PyTypeObject *tp, PyObject *args, PyObject *kw)
{
    pc_waitgroup_py_block_t *b;
    PyObject *w;
    if (PyTuple_GET_SIZE(args) != 0 || (kw != NULL && PyDict_GET_SIZE(kw) != 0)) {
        PyErr_SetString(PyExc_TypeError, "WaitGroup() takes no arguments");
        return NULL;
    }
    b = PyMem_RawMalloc(sizeof *b);
    if (b == NULL)
        return PyErr_NoMemory();
    pc_waitgroup_init(&b->wg, 1);
    /* relaxed: not shared yet. */
    atomic_store_explicit(&b->refs, 1, memory_order_relaxed);
    w = pc_waitgroup_py_member(tp, b);
    if (w == NULL)
        PyMem_RawFree(b);
    return w;
}

static PyObject *pc_waitgroup_py_clone(PyObject *self, PyObject *unused)
{
    pc_waitgroup_py_t *w = (pc_waitgroup_py_t *)self;
    PyObject *c;
    (void)unused;
    /* relaxed: the member's own state; a done member may not clone, so
     * the count cannot be zero while a clone joins. */
    if (atomic_load_explicit(&w->done, memory_order_relaxed)) {
        PyErr_SetString(PyExc_RuntimeError,
                        "this WaitGroup member is done: clone a member that is not");
        return NULL;
    }
    /* relaxed: as for any reference count's increment by a holder. */
    atomic_fetch_add_explicit(&w->b->refs, 1, memory_order_relaxed);
    c = pc_waitgroup_py_member(Py_TYPE(self), w->b);
    if (c == NULL) {
        atomic_fetch_sub_explicit(&w->b->refs, 1, memory_order_relaxed);
        return NULL;
    }
    pc_waitgroup_add(&w->b->wg);
    return c;
}

static PyObject *pc_waitgroup_py_done(PyObject *self, PyObject *unused)
{
    (void)unused;
    if (!pc_waitgroup_py_end((pc_waitgroup_py_t *)self)) {
        PyErr_SetString(PyExc_RuntimeError, "this WaitGroup member is already done");
        return NULL;
    }
    Py_RETURN_NONE;
}

static pc_status pc_waitgroup_py_try(void *self)
{
    return pc_waitgroup_is_zero((pc_waitgroup_t *)self) ? PC_OK : PC_AGAIN;
}

static pc_status pc_waitgroup_py_park(void *self, int64_t slice_ns)
{
    return pc_waitgroup_wait_timed((pc_waitgroup_t *)self, slice_ns) ? PC_OK : PC_AGAIN;
}

/* wait(timeout=None) */
static PyObject *pc_waitgroup_py_wait(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                                      PyObject *kwnames)
{
    pc_waitgroup_py_t *w = (pc_waitgroup_py_t *)self;
    PyObject *timeout = NULL;
    int64_t ns = PC_PY_FOREVER;
    pc_status st;
    if (nargs != 0 || kwnames != NULL) {
        if (pc_py_one_arg(args, nargs, kwnames, "wait", "timeout", 0, &timeout) < 0)
            return NULL;
        if (timeout == Py_None)
            timeout = NULL;
        if (pc_py_timeout_ns(timeout, &ns) < 0)
            return NULL;
    }
    (void)pc_waitgroup_py_end(w); /* crossbeam's wait(self): our part is over */
    st = pc_py_wait(&w->b->wg, pc_waitgroup_py_try, pc_waitgroup_py_park, ns, 1);
    if (st == PC_OK)
        Py_RETURN_NONE;
    if (st == PC_TIMEOUT)
        return PyErr_Format(pc_py_exc[PC_TIMEOUT],
                            "WaitGroup.wait() timed out after %R s with %llu members left",
                            timeout,
                            (unsigned long long)atomic_load_explicit(&w->b->wg.count,
                                                                     memory_order_relaxed));
    return pc_py_raise(st, NULL);
}

static PyObject *pc_waitgroup_py_enter(PyObject *self, PyObject *unused)
{
    (void)unused;
    return Py_NewRef(self);
}

static PyObject *pc_waitgroup_py_exit(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)args;
    (void)nargs;
    (void)pc_waitgroup_py_end((pc_waitgroup_py_t *)self); /* silent if done already */
    Py_RETURN_NONE;
}

static void pc_waitgroup_py_dealloc(PyObject *self)
{
    pc_waitgroup_py_t *w = (pc_waitgroup_py_t *)self;
    PyTypeObject *tp = Py_TYPE(self);
    if (w->weakrefs != NULL)
        PyObject_ClearWeakRefs(self);
    (void)pc_waitgroup_py_end(w); /* dropped: done, as crossbeam's Drop */
    /* acq_rel: the last one frees the block after everybody's use. */
    if (atomic_fetch_sub_explicit(&w->b->refs, 1, memory_order_acq_rel) == 1)
        PyMem_RawFree(w->b);
    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyObject *pc_waitgroup_py_repr(PyObject *self)
{
    pc_waitgroup_py_t *w = (pc_waitgroup_py_t *)self;
    /* relaxed: snapshots for display. */
    return PyUnicode_FromFormat(
        "<pyconc.WaitGroup member%s, %llu of the group not done>",
        atomic_load_explicit(&w->done, memory_order_relaxed) ? " (done)" : "",
        (unsigned long long)atomic_load_explicit(&w->b->wg.count, memory_order_relaxed));
}

static PyMethodDef pc_waitgroup_py_methods[] = {
    {"clone", pc_waitgroup_py_clone, METH_NOARGS,
     "clone($self, /)\n--\n\n"
     "A new member of the group (give one to each thread that wait() must\n"
     "wait for).  RuntimeError on a member that is done."},
    {"done", pc_waitgroup_py_done, METH_NOARGS,
     "done($self, /)\n--\n\n"
     "This member is done (crossbeam's ``drop(wg)``).  RuntimeError if it\n"
     "already was.  Dropping the member, or leaving its ``with`` block, does\n"
     "the same."},
    {"wait", (PyCFunction)(void (*)(void))pc_waitgroup_py_wait, METH_FASTCALL | METH_KEYWORDS,
     "wait($self, /, timeout=None)\n--\n\n"
     "End this member (if it is not done), then wait until every member of\n"
     "the group is done (crossbeam's ``wg.wait()``).  What members wrote\n"
     "before they were done is visible after.  With *timeout* (seconds),\n"
     "raise pyconc.Timeout if members are left after that long (None, or any\n"
     "huge value: no limit).  The wait releases the GIL and is interruptible\n"
     "by Ctrl-C."},
    {"__enter__", pc_waitgroup_py_enter, METH_NOARGS,
     "__enter__($self, /)\n--\n\nThe member itself."},
    {"__exit__", (PyCFunction)(void (*)(void))pc_waitgroup_py_exit, METH_FASTCALL,
     "__exit__($self, /, *exc_info)\n--\n\nThis member is done (if not already)."},
    PC_PY_NO_COPY_METHODS,
    {NULL, NULL, 0, NULL}};

static PyMemberDef pc_waitgroup_py_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(pc_waitgroup_py_t, weakrefs), READONLY, NULL},
    {NULL, 0, 0, 0, NULL}};

static PyType_Slot pc_waitgroup_py_slots[] = {
    {Py_tp_new, (void *)pc_waitgroup_py_new},
    {Py_tp_dealloc, (void *)pc_waitgroup_py_dealloc},
    {Py_tp_repr, (void *)pc_waitgroup_py_repr},
    {Py_tp_methods, pc_waitgroup_py_methods},
    {Py_tp_members, pc_waitgroup_py_members},
    {Py_tp_doc,
     (void *)"WaitGroup()\n--\n\n"
             "Wait for a group of threads to finish, as crossbeam's ``WaitGroup``::\n\n"
             "    wg = WaitGroup()\n"
             "    for job in jobs:\n"
             "        member = wg.clone()\n"
             "        pyconc.spawn(work, job, member)   # work calls member.done()\n"
             "    wg.wait()                            # every member is done\n\n"
             "Each WaitGroup object is one member; clone() adds one.  A member is\n"
             "done once: done(), the end of ``with member:``, wait(), or being\n"
             "dropped.\n\n"
             "Thread safety without the GIL: the count and the futex word are C\n"
             "atomics in a block the members share; each member's done flag is\n"
             "exchanged atomically."},
    {0, NULL}};

static PyType_Spec pc_waitgroup_py_spec = {"pyconc.WaitGroup", sizeof(pc_waitgroup_py_t), 0,
                                           PC_PY_TPFLAGS, pc_waitgroup_py_slots};

static int pc_waitgroup_py_init(PyObject *m)
{
    pc_waitgroup_py_type = pc_py_add_type(m, &pc_waitgroup_py_spec);
    return pc_waitgroup_py_type == NULL ? -1 : 0;
}

#endif /* PC_WAITGROUP_PY_H */
