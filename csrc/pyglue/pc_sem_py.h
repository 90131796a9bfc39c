/*
 * pyglue/pc_sem_py.h - pyconc.Semaphore and its SemaphorePermit (tokio's
 * Semaphore and SemaphorePermit) as C types over pc_sem_t.
 *
 * acquire()/acquire_many() take the permits with one CAS, the GIL held,
 * when they are there, and return a permit made in the same C call;
 * otherwise they wait through pc_py_wait (the GIL released, in slices,
 * Ctrl-C between them).  Permits taken inside a slice are never given back
 * by a signal: the call returns the permit and the handler runs after.
 * `with sem:` takes one permit and gives it back at the end of the block,
 * as threading.Semaphore's does; `with sem.acquire_many(3):` the same for
 * a permit object.
 *
 * A SemaphorePermit gives its permits back once: at the end of its `with`
 * block, by release(), or when it is dropped (tokio's Drop); forget()
 * keeps them taken for good.  `state` is exchanged atomically, so two
 * threads releasing one permit give it back once.
 *
 * Without the GIL: the count is pc_sem_t's atomics; a permit's Semaphore
 * reference and count are set at creation and never change.
 */
#ifndef PC_SEM_PY_H
#define PC_SEM_PY_H

#include <structmember.h>

#include "pc_sem.h"

typedef struct {
    PyObject_HEAD
    pc_sem_t s;
    PyObject *weakrefs;
} pc_sem_py_t;

enum { PC_SEM_PY_HELD = 0, PC_SEM_PY_RETURNED = 1, PC_SEM_PY_FORGOTTEN = 2 };

typedef struct {
    PyObject_HEAD
    pc_sem_py_t *sem;       /* strong, set at creation */
    uint64_t n;             /* permits held */
    _Atomic uint32_t state; /* PC_SEM_PY_* */
} pc_sem_py_permit_t;

static PyTypeObject *pc_sem_py_type;
static PyTypeObject *pc_sem_py_permit_type;
static PyObject *pc_sem_py_Closed; /* pyconc.errors.Closed, set at init */

static const char pc_sem_py_closed_msg[] = "the semaphore is closed";

/* n from a Python int (its value, whatever an int subclass overrides):
 * zero_ok ? 0 : 1 <= n <= PC_SEM_MAX_PERMITS. */
static int pc_sem_py_count(PyObject *o, const char *what, int zero_ok, uint64_t *out)
{
    long long v;
    int overflow = 0;
    if (!PyLong_Check(o) || PyBool_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be an int, not %.100s", what,
                     Py_TYPE(o)->tp_name);
        return -1;
    }
    v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (overflow < 0 || (overflow == 0 && v < (zero_ok ? 0 : 1))) {
        PyErr_Format(PyExc_ValueError, "%s must be %s, not %R", what,
                     zero_ok ? ">= 0" : ">= 1", o);
        return -1;
    }
    if (overflow > 0 || (uint64_t)v > PC_SEM_MAX_PERMITS) {
        PyErr_Format(PyExc_OverflowError, "%s is over the limit of %llu permits", what,
                     (unsigned long long)PC_SEM_MAX_PERMITS);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

/* ---------------------------------------------------------------- permit */

static PyObject *pc_sem_py_permit_new(pc_sem_py_t *sem, uint64_t n)
{
    pc_sem_py_permit_t *p = PyObject_New(pc_sem_py_permit_t, pc_sem_py_permit_type);
    if (p == NULL) {
        (void)pc_sem_release(&sem->s, n); /* nobody else could give them back */
        return NULL;
    }
    Py_INCREF(sem);
    p->sem = sem;
    p->n = n;
    /* relaxed: the permit is not shared yet. */
    atomic_store_explicit(&p->state, PC_SEM_PY_HELD, memory_order_relaxed);
    return (PyObject *)p;
}

/* Give the permits back if still held: 1 if this call did. */
static int pc_sem_py_permit_give_back(pc_sem_py_permit_t *p, uint32_t to)
{
    /* acq_rel: exactly one caller sees HELD. */
    if (atomic_exchange_explicit(&p->state, to, memory_order_acq_rel) != PC_SEM_PY_HELD)
        return 0;
    if (to == PC_SEM_PY_RETURNED)
        (void)pc_sem_release(&p->sem->s, p->n); /* cannot overflow: they were taken */
    return 1;
}

static PyObject *pc_sem_py_permit_release(PyObject *self, PyObject *unused)
{
    (void)unused;
    if (!pc_sem_py_permit_give_back((pc_sem_py_permit_t *)self, PC_SEM_PY_RETURNED)) {
        PyErr_SetString(PyExc_RuntimeError, "this permit was already released or forgotten");
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *pc_sem_py_permit_forget(PyObject *self, PyObject *unused)
{
    (void)unused;
    if (!pc_sem_py_permit_give_back((pc_sem_py_permit_t *)self, PC_SEM_PY_FORGOTTEN)) {
        PyErr_SetString(PyExc_RuntimeError, "this permit was already released or forgotten");
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *pc_sem_py_permit_enter(PyObject *self, PyObject *unused)
{
    pc_sem_py_permit_t *p = (pc_sem_py_permit_t *)self;
    (void)unused;
    /* relaxed: the holder's own check. */
    if (atomic_load_explicit(&p->state, memory_order_relaxed) != PC_SEM_PY_HELD) {
        PyErr_SetString(PyExc_RuntimeError, "this permit was already released or forgotten");
        return NULL;
    }
    return Py_NewRef(self);
}

static PyObject *pc_sem_py_permit_exit(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)args;
    (void)nargs;
    /* Silent if released or forgotten inside the block. */
    (void)pc_sem_py_permit_give_back((pc_sem_py_permit_t *)self, PC_SEM_PY_RETURNED);
    Py_RETURN_NONE;
}

static PyObject *pc_sem_py_permit_num(PyObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromUnsignedLongLong(((pc_sem_py_permit_t *)self)->n);
}

static void pc_sem_py_permit_dealloc(PyObject *self)
{
    pc_sem_py_permit_t *p = (pc_sem_py_permit_t *)self;
    PyTypeObject *tp = Py_TYPE(self);
    (void)pc_sem_py_permit_give_back(p, PC_SEM_PY_RETURNED); /* tokio's Drop */
    Py_DECREF(p->sem);
    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyObject *pc_sem_py_permit_repr(PyObject *self)
{
    pc_sem_py_permit_t *p = (pc_sem_py_permit_t *)self;
    /* relaxed: a snapshot. */
    uint32_t st = atomic_load_explicit(&p->state, memory_order_relaxed);
    return PyUnicode_FromFormat("<pyconc.SemaphorePermit of %llu, %s>",
                                (unsigned long long)p->n,
                                st == PC_SEM_PY_HELD       ? "held"
                                : st == PC_SEM_PY_RETURNED ? "released"
                                                           : "forgotten");
}

static PyMethodDef pc_sem_py_permit_methods[] = {
    {"__enter__", pc_sem_py_permit_enter, METH_NOARGS,
     "__enter__($self, /)\n--\n\nThe permit itself."},
    {"__exit__", (PyCFunction)(void (*)(void))pc_sem_py_permit_exit, METH_FASTCALL,
     "__exit__($self, /, *exc_info)\n--\n\nGive the permits back (if still held)."},
    {"release", pc_sem_py_permit_release, METH_NOARGS,
     "release($self, /)\n--\n\nGive the permits back now (RuntimeError if already done)."},
    {"forget", pc_sem_py_permit_forget, METH_NOARGS,
     "forget($self, /)\n--\n\n"
     "Keep the permits taken for good: they are never given back (tokio's\n"
     "``SemaphorePermit::forget``), which shrinks the semaphore."},
    PC_PY_NO_COPY_METHODS,
    {NULL, NULL, 0, NULL}};

static PyGetSetDef pc_sem_py_permit_getset[] = {
    {"num_permits", pc_sem_py_permit_num, NULL, "How many permits this permit holds.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyType_Slot pc_sem_py_permit_slots[] = {
    {Py_tp_dealloc, (void *)pc_sem_py_permit_dealloc},
    {Py_tp_repr, (void *)pc_sem_py_permit_repr},
    {Py_tp_methods, pc_sem_py_permit_methods},
    {Py_tp_getset, pc_sem_py_permit_getset},
    {Py_tp_doc,
     (void *)"Permits taken from a Semaphore (from acquire(), acquire_many(),\n"
             "try_acquire...).  They go back at the end of its ``with`` block, by\n"
             "release(), or when the permit is dropped; forget() keeps them.\n\n"
             "Thread safety without the GIL: given back at most once (an atomic\n"
             "exchange of its state); its Semaphore and count never change."},
    {0, NULL}};

static PyType_Spec pc_sem_py_permit_spec = {
    "pyconc.SemaphorePermit", sizeof(pc_sem_py_permit_t), 0,
    PC_PY_TPFLAGS | Py_TPFLAGS_DISALLOW_INSTANTIATION, pc_sem_py_permit_slots};

/* ------------------------------------------------------------- Semaphore */

typedef struct {
    pc_sem_py_t *sem;
    uint64_t n;
} pc_sem_py_want_t;

static pc_status pc_sem_py_status(int r)
{
    return r == PC_SEM_OK ? PC_OK : r == PC_SEM_CLOSED_ ? PC_CLOSED : PC_AGAIN;
}

static pc_status pc_sem_py_try(void *self)
{
    pc_sem_py_want_t *w = self;
    return pc_sem_py_status(pc_sem_try_acquire(&w->sem->s, w->n));
}

static pc_status pc_sem_py_park(void *self, int64_t slice_ns)
{
    pc_sem_py_want_t *w = self;
    return pc_sem_py_status(pc_sem_acquire_timed(&w->sem->s, w->n, slice_ns));
}

/* Take n permits within timeout_ns: 0, or -1 with the error set. */
static int pc_sem_py_take(pc_sem_py_t *sem, uint64_t n, int64_t ns, PyObject *timeout,
                          const char *what)
{
    pc_sem_py_want_t w = {sem, n};
    pc_status st = n == 0 ? (pc_sem_is_closed(&sem->s) ? PC_CLOSED : PC_OK)
                          : pc_py_wait(&w, pc_sem_py_try, pc_sem_py_park, ns, 1);
    if (st == PC_OK)
        return 0;
    if (st == PC_CLOSED)
        PyErr_SetString(pc_sem_py_Closed, pc_sem_py_closed_msg);
    else if (st == PC_TIMEOUT)
        PyErr_Format(pc_py_exc[PC_TIMEOUT], "%s timed out after %R s", what, timeout);
    else
        (void)pc_py_raise(st, NULL);
    return -1;
}

/* acquire(timeout=None) and acquire_many(n, timeout=None). */
static PyObject *pc_sem_py_acquire_n(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                                     PyObject *kwnames, int many)
{
    static const char *const names1[] = {"timeout"};
    static const char *const names2[] = {"n", "timeout"};
    pc_sem_py_t *sem = (pc_sem_py_t *)self;
    PyObject *a[2] = {NULL, NULL}, *timeout;
    uint64_t n = 1;
    int64_t ns = PC_PY_FOREVER;
    if (PC_LIKELY(!many && nargs == 0 && kwnames == NULL)) {
        if (PC_LIKELY(pc_sem_try_acquire(&sem->s, 1) == PC_SEM_OK))
            return pc_sem_py_permit_new(sem, 1); /* the fast path: one CAS */
    } else if ((many ? pc_py_parse_args("acquire_many", args, nargs, kwnames, names2, 2, 1, a)
                     : pc_py_parse_args("acquire", args, nargs, kwnames, names1, 1, 0, a)) <
               0) {
        return NULL;
    }
    timeout = many ? a[1] : a[0];
    if (many && pc_sem_py_count(a[0], "n", 1, &n) < 0)
        return NULL;
    if (timeout == Py_None)
        timeout = NULL;
    if (pc_py_timeout_ns(timeout, &ns) < 0)
        return NULL;
    if (pc_sem_py_take(sem, n, ns, timeout,
                       many ? "Semaphore.acquire_many()" : "Semaphore.acquire()") < 0)
        return NULL;
    return pc_sem_py_permit_new(sem, n);
}

static PyObject *pc_sem_py_acquire(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                                   PyObject *kwnames)
{
    return pc_sem_py_acquire_n(self, args, nargs, kwnames, 0);
}

static PyObject *pc_sem_py_acquire_many(PyObject *self, PyObject *const *args,
                                        Py_ssize_t nargs, PyObject *kwnames)
{
    return pc_sem_py_acquire_n(self, args, nargs, kwnames, 1);
}

/* try_acquire() / try_acquire_many(n): a permit, or WouldBlock / Closed. */
static PyObject *pc_sem_py_try_n(pc_sem_py_t *sem, uint64_t n)
{
    int r = n == 0 ? (pc_sem_is_closed(&sem->s) ? PC_SEM_CLOSED_ : PC_SEM_OK)
                   : pc_sem_try_acquire(&sem->s, n);
    if (PC_LIKELY(r == PC_SEM_OK))
        return pc_sem_py_permit_new(sem, n);
    if (r == PC_SEM_CLOSED_)
        PyErr_SetString(pc_sem_py_Closed, pc_sem_py_closed_msg);
    else
        PyErr_Format(pc_py_exc[PC_AGAIN], "not enough permits (%llu wanted, %llu available)",
                     (unsigned long long)n, (unsigned long long)pc_sem_available(&sem->s));
    return NULL;
}

static PyObject *pc_sem_py_try_acquire(PyObject *self, PyObject *unused)
{
    (void)unused;
    return pc_sem_py_try_n((pc_sem_py_t *)self, 1);
}

static PyObject *pc_sem_py_try_acquire_many(PyObject *self, PyObject *arg)
{
    uint64_t n;
    if (pc_sem_py_count(arg, "n", 1, &n) < 0) /* 0: an empty permit, as tokio's */
        return NULL;
    return pc_sem_py_try_n((pc_sem_py_t *)self, n);
}

static PyObject *pc_sem_py_add_permits(PyObject *self, PyObject *arg)
{
    uint64_t n;
    if (pc_sem_py_count(arg, "n", 1, &n) < 0)
        return NULL;
    if (n != 0 && pc_sem_release(&((pc_sem_py_t *)self)->s, n) != PC_SEM_OK) {
        PyErr_Format(PyExc_OverflowError, "more than %llu permits",
                     (unsigned long long)PC_SEM_MAX_PERMITS);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *pc_sem_py_available(PyObject *self, PyObject *unused)
{
    (void)unused;
    return PyLong_FromUnsignedLongLong(pc_sem_available(&((pc_sem_py_t *)self)->s));
}

static PyObject *pc_sem_py_close(PyObject *self, PyObject *unused)
{
    (void)unused;
    pc_sem_close(&((pc_sem_py_t *)self)->s);
    Py_RETURN_NONE;
}

static PyObject *pc_sem_py_is_closed(PyObject *self, PyObject *unused)
{
    (void)unused;
    return PyBool_FromLong(pc_sem_is_closed(&((pc_sem_py_t *)self)->s));
}

/* with sem: one permit for the block (threading.Semaphore's protocol). */
static PyObject *pc_sem_py_enter(PyObject *self, PyObject *unused)
{
    pc_sem_py_t *sem = (pc_sem_py_t *)self;
    (void)unused;
    if (PC_LIKELY(pc_sem_try_acquire(&sem->s, 1) == PC_SEM_OK))
        return Py_NewRef(self);
    if (pc_sem_py_take(sem, 1, PC_PY_FOREVER, NULL, "with Semaphore") < 0)
        return NULL;
    return Py_NewRef(self);
}

static PyObject *pc_sem_py_exit(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)args;
    (void)nargs;
    (void)pc_sem_release(&((pc_sem_py_t *)self)->s, 1); /* the block's own permit */
    Py_RETURN_NONE;
}

static PyObject *pc_sem_py_new(PyTypeObject *tp, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"permits", NULL};
    PyObject *o;
    uint64_t n;
    pc_sem_py_t *sem;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O:Semaphore", kwlist, &o) ||
        pc_sem_py_count(o, "permits", 1 /* 0: add_permits later */, &n) < 0)
        return NULL;
    sem = (pc_sem_py_t *)tp->tp_alloc(tp, 0);
    if (sem == NULL)
        return NULL;
    pc_sem_init(&sem->s, n);
    sem->weakrefs = NULL;
    return (PyObject *)sem;
}

static void pc_sem_py_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    /* No coroutine waits: each waiter holds a reference to the Semaphore. */
    pc_sem_destroy(&((pc_sem_py_t *)self)->s);
    if (((pc_sem_py_t *)self)->weakrefs != NULL)
        PyObject_ClearWeakRefs(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyObject *pc_sem_py_repr(PyObject *self)
{
    pc_sem_t *s = &((pc_sem_py_t *)self)->s;
    return PyUnicode_FromFormat("<pyconc.Semaphore %llu available%s at %p>",
                                (unsigned long long)pc_sem_available(s),
                                pc_sem_is_closed(s) ? ", closed" : "", self);
}

#define PC_SEM_PY_WAITS                                                          \
    "The wait releases the GIL and is interruptible by Ctrl-C; permits taken\n" \
    "are never given back by the interrupt (the call returns them)."

static PyMethodDef pc_sem_py_methods[] = {
    {"acquire", (PyCFunction)(void (*)(void))pc_sem_py_acquire, METH_FASTCALL | METH_KEYWORDS,
     "acquire($self, /, timeout=None)\n--\n\n"
     "Take one permit, waiting until one is free, and return it as a\n"
     "SemaphorePermit (``with sem.acquire() as p:``; it goes back at the end\n"
     "of the block, by p.release(), or when p is dropped).  With *timeout*\n"
     "(seconds), raise pyconc.Timeout if none is free by then (None, or any\n"
     "huge value: no limit).  Raises pyconc.Closed if the semaphore is\n"
     "closed, before or during the wait.\n\n" PC_SEM_PY_WAITS},
    {"acquire_many", (PyCFunction)(void (*)(void))pc_sem_py_acquire_many,
     METH_FASTCALL | METH_KEYWORDS,
     "acquire_many($self, /, n, timeout=None)\n--\n\n"
     "Take *n* permits at once (all or none), as acquire() does one.\n\n" PC_SEM_PY_WAITS},
    {"try_acquire", pc_sem_py_try_acquire, METH_NOARGS,
     "try_acquire($self, /)\n--\n\n"
     "One permit if one is free, else WouldBlock (pyconc.Closed if closed).\n"
     "Never waits."},
    {"try_acquire_many", pc_sem_py_try_acquire_many, METH_O,
     "try_acquire_many($self, n, /)\n--\n\n"
     "*n* permits if that many are free, else WouldBlock.  Never waits."},
    {"add_permits", pc_sem_py_add_permits, METH_O,
     "add_permits($self, n, /)\n--\n\n"
     "Add *n* new permits (OverflowError past 2**61 - 1 in all).  Wakes\n"
     "waiters.  Works on a closed semaphore too."},
    {"available_permits", pc_sem_py_available, METH_NOARGS,
     "available_permits($self, /)\n--\n\nHow many permits are free now (a snapshot)."},
    {"close", pc_sem_py_close, METH_NOARGS,
     "close($self, /)\n--\n\n"
     "Close the semaphore: every acquire, waiting or to come, raises\n"
     "pyconc.Closed.  Permits already taken stay valid and may go back."},
    {"is_closed", pc_sem_py_is_closed, METH_NOARGS,
     "is_closed($self, /)\n--\n\nTrue once close() was called."},
    {"__enter__", pc_sem_py_enter, METH_NOARGS,
     "__enter__($self, /)\n--\n\n"
     "``with sem:`` takes one permit for the block, waiting as acquire() does."},
    {"__exit__", (PyCFunction)(void (*)(void))pc_sem_py_exit, METH_FASTCALL,
     "__exit__($self, /, *exc_info)\n--\n\nGive the block's permit back."},
    PC_PY_NO_COPY_METHODS,
    {NULL, NULL, 0, NULL}};

static PyMemberDef pc_sem_py_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(pc_sem_py_t, weakrefs), READONLY, NULL},
    {NULL, 0, 0, 0, NULL}};

static PyType_Slot pc_sem_py_slots[] = {
    {Py_tp_new, (void *)pc_sem_py_new},
    {Py_tp_dealloc, (void *)pc_sem_py_dealloc},
    {Py_tp_repr, (void *)pc_sem_py_repr},
    {Py_tp_methods, pc_sem_py_methods},
    {Py_tp_members, pc_sem_py_members},
    {Py_tp_doc,
     (void *)"Semaphore(permits)\n--\n\n"
             "A counting semaphore, as tokio's ``Semaphore``::\n\n"
             "    sem = Semaphore(4)\n"
             "    with sem:                          # one permit for the block\n"
             "        ...\n"
             "    with sem.acquire_many(2, timeout=1) as permit:\n"
             "        ...                            # permit.num_permits == 2\n\n"
             "acquire() and acquire_many() return a SemaphorePermit, which gives\n"
             "its permits back at the end of its ``with`` block, by release(), or\n"
             "when it is dropped (so ``sem.acquire()`` alone, its result unused,\n"
             "takes a permit and gives it back at once: keep the permit, or use\n"
             "``with``).  There is no ``sem.release()``: permits go back through\n"
             "their permit; add_permits(n) makes new ones.  close() makes every\n"
             "acquire raise pyconc.Closed.\n\n"
             "Not fair: a waiter woken by a release competes with threads\n"
             "arriving meanwhile, and acquire_many(n) may wait while smaller\n"
             "acquires pass (as threading.Semaphore; tokio queues waiters in\n"
             "order).\n\n"
             "Thread safety without the GIL: the count and the closed flag are one\n"
             "C atomic word (``pc_sem_t``), taken and given by CAS; waiters sleep\n"
             "on a futex word."},
    {0, NULL}};

static PyType_Spec pc_sem_py_spec = {"pyconc.Semaphore", sizeof(pc_sem_py_t), 0,
                                     PC_PY_TPFLAGS, pc_sem_py_slots};

static int pc_sem_py_init(PyObject *m)
{
    if ((pc_sem_py_Closed = pc_py_errors_attr("Closed")) == NULL ||
        (pc_sem_py_permit_type = pc_py_add_type(m, &pc_sem_py_permit_spec)) == NULL ||
        (pc_sem_py_type = pc_py_add_type(m, &pc_sem_py_spec)) == NULL)
        return -1;
    return 0;
}

#endif /* PC_SEM_PY_H */
