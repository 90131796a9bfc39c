/*
 * pyglue/pc_once_py.h - pyconc.Once, OnceState and OnceLock as C types
 * over pc_once_t (CPython C API).
 *
 * The initialiser is Python, called by the thread that moved the word
 * from INCOMPLETE (or POISONED, for call_once_force) to RUNNING, with the
 * GIL held; the word goes to COMPLETE when it returns, and to POISONED
 * (Once) or back to INCOMPLETE (OnceLock) when it raises.  Every other
 * caller that finds the word RUNNING waits in C through pc_py_wait (GIL
 * released, Ctrl-C between slices), then looks again.  Between the
 * transition to RUNNING and the call, and between the call's return and
 * the transition out of RUNNING, no Python code runs, so no signal can
 * leave the word RUNNING for ever.
 *
 * A thread that re-enters a cell from inside its own initialiser would
 * wait for itself for ever; `runner` (the running initialiser's thread)
 * lets it raise RuntimeError instead.
 *
 * Without the GIL: the state is pc_once_t's atomic word (completion
 * published with release, seen with acquire); `runner` is an atomic
 * compared only with the caller's own thread id; OnceLock's value
 * reference is read and written inside the cell's critical section
 * (PC_PY_BEGIN_CRITICAL), so take() cannot drop it under a get().
 *
 * Length: Once, OnceState and OnceLock are one state machine (pc_once_t) seen
 * three ways; the waits and the poisoning rules are shared by all three.
 */
#ifndef PC_ONCE_PY_H
#define PC_ONCE_PY_H

#include <structmember.h>

#include "pc_once.h"

typedef struct {
    PyObject_HEAD
    pc_once_t once;
    _Atomic unsigned long runner; /* thread running the initialiser, or 0 */
    PyObject *weakrefs;
} pc_once_py_t;

typedef struct {
    PyObject_HEAD
    pc_once_t once;
    _Atomic unsigned long runner;
    PyObject *value;              /* strong while COMPLETE; else NULL */
    PyObject *weakrefs;
} pc_oncelock_py_t;

typedef struct {
    PyObject_HEAD
    int poisoned;
} pc_oncestate_py_t;

static PyTypeObject *pc_oncestate_py_type;

/* ---------------------------------------------------------- the waiting */

static pc_status pc_once_py_try(void *self)
{
    return pc_once_state((pc_once_t *)self) == PC_ONCE_RUNNING ? PC_AGAIN : PC_OK;
}

static pc_status pc_once_py_park(void *self, int64_t slice_ns)
{
    return pc_once_wait((pc_once_t *)self, slice_ns) == PC_ONCE_RUNNING ? PC_AGAIN : PC_OK;
}

/* Wait while another thread runs the initialiser.  0 once it is no
 * longer running, -1 with an error (Ctrl-C, or the caller's own thread is
 * the one running it). */
static int pc_once_py_wait_running(pc_once_t *o, _Atomic unsigned long *runner,
                                   const char *what)
{
    pc_status st;
    /* relaxed: only equal when this thread stored it itself. */
    if (atomic_load_explicit(runner, memory_order_relaxed) == PyThread_get_thread_ident()) {
        PyErr_Format(PyExc_RuntimeError,
                     "%s re-entered from inside its own initialiser (it would "
                     "wait for itself for ever)",
                     what);
        return -1;
    }
    st = pc_py_wait(o, pc_once_py_try, pc_once_py_park, PC_PY_FOREVER, 1);
    if (st != PC_OK) {
        pc_py_raise(st, NULL);
        return -1;
    }
    return 0;
}

/* Waiting for completion (Once.wait, wait_force, OnceLock.wait). */
typedef struct {
    pc_once_t *once;
    bool ignore_poison;
} pc_once_py_done_t;

static pc_status pc_once_py_done_status(uint32_t s, bool ignore_poison)
{
    if (s == PC_ONCE_COMPLETE)
        return PC_OK;
    return s == PC_ONCE_POISONED && !ignore_poison ? PC_POISONED : PC_AGAIN;
}

static pc_status pc_once_py_done_try(void *self)
{
    pc_once_py_done_t *d = self;
    return pc_once_py_done_status(pc_once_state(d->once), d->ignore_poison);
}

static pc_status pc_once_py_done_park(void *self, int64_t slice_ns)
{
    pc_once_py_done_t *d = self;
    return pc_once_py_done_status(pc_once_wait_done(d->once, slice_ns, d->ignore_poison),
                                  d->ignore_poison);
}

/* Wait until o completes (timeout= as every wait): PC_OK, or -1 with the
 * error set (Timeout, PoisonError, KeyboardInterrupt).  A wait from inside
 * the cell's own initialiser raises RuntimeError. */
static int pc_once_py_wait_done(pc_once_t *o, _Atomic unsigned long *runner, int ignore_poison,
                                PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                                const char *what, const char *poisoned)
{
    PyObject *timeout = NULL;
    int64_t ns = PC_PY_FOREVER;
    pc_once_py_done_t d = {o, ignore_poison != 0};
    pc_status st;
    if (nargs != 0 || kwnames != NULL) {
        if (pc_py_one_arg(args, nargs, kwnames, "wait", "timeout", 0, &timeout) < 0)
            return -1;
        if (timeout == Py_None)
            timeout = NULL;
        if (pc_py_timeout_ns(timeout, &ns) < 0)
            return -1;
    }
    st = pc_once_py_done_try(&d);
    if (st == PC_AGAIN &&
        atomic_load_explicit(runner, memory_order_relaxed) == PyThread_get_thread_ident()) {
        PyErr_Format(PyExc_RuntimeError,
                     "%s called from inside the cell's own initialiser (it would wait "
                     "for itself for ever)",
                     what);
        return -1;
    }
    if (st == PC_AGAIN)
        st = pc_py_wait(&d, pc_once_py_done_try, pc_once_py_done_park, ns, 1);
    if (st == PC_OK)
        return 0;
    if (st == PC_POISONED)
        pc_py_raise_value(PC_POISONED, Py_None, poisoned);
    else if (st == PC_TIMEOUT)
        PyErr_Format(pc_py_exc[PC_TIMEOUT], "%s timed out after %R s", what, timeout);
    else
        pc_py_raise(st, NULL);
    return -1;
}

/* Call fn(arg) (fn() if arg is NULL) as the initialiser of word o, which
 * the caller has just made RUNNING. */
static PyObject *pc_once_py_run(_Atomic unsigned long *runner, PyObject *fn, PyObject *arg)
{
    PyObject *r;
    /* relaxed: read back only by this thread (pc_once_py_wait_running). */
    atomic_store_explicit(runner, PyThread_get_thread_ident(), memory_order_relaxed);
    r = arg == NULL ? PyObject_CallNoArgs(fn) : PyObject_CallOneArg(fn, arg);
    atomic_store_explicit(runner, 0, memory_order_relaxed);
    return r;
}

/* ------------------------------------------------------------ OnceState */

static PyObject *pc_oncestate_py_make(int poisoned)
{
    pc_oncestate_py_t *s = PyObject_New(pc_oncestate_py_t, pc_oncestate_py_type);
    if (s != NULL)
        s->poisoned = poisoned;
    return (PyObject *)s;
}

static PyObject *pc_oncestate_py_new(PyTypeObject *tp, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"poisoned", NULL};
    int poisoned = 0;
    (void)tp;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|p:OnceState", kwlist, &poisoned))
        return NULL;
    return pc_oncestate_py_make(poisoned);
}

static void pc_oncestate_py_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_Free(self);
    Py_DECREF(tp);
}

static PyObject *pc_oncestate_py_is_poisoned(PyObject *self, PyObject *unused)
{
    (void)unused;
    return PyBool_FromLong(((pc_oncestate_py_t *)self)->poisoned);
}

static PyObject *pc_oncestate_py_repr(PyObject *self)
{
    return PyUnicode_FromFormat("<pyconc.OnceState poisoned=%s>",
                                ((pc_oncestate_py_t *)self)->poisoned ? "True" : "False");
}

static PyMethodDef pc_oncestate_py_methods[] = {
    {"is_poisoned", pc_oncestate_py_is_poisoned, METH_NOARGS,
     "is_poisoned($self, /)\n--\n\nTrue if an earlier call's function raised."},
    {NULL, NULL, 0, NULL}};

static PyType_Slot pc_oncestate_py_slots[] = {
    {Py_tp_new, (void *)pc_oncestate_py_new},
    {Py_tp_dealloc, (void *)pc_oncestate_py_dealloc},
    {Py_tp_methods, pc_oncestate_py_methods},
    {Py_tp_repr, (void *)pc_oncestate_py_repr},
    {Py_tp_doc,
     (void *)"OnceState(poisoned=False)\n--\n\n"
             "What ``Once.call_once_force`` passes to its function (immutable):\n"
             "``is_poisoned()`` says whether an earlier call's function raised.\n\n"
             "Thread safety without the GIL: immutable."},
    {0, NULL}};

static PyType_Spec pc_oncestate_py_spec = {
    "pyconc.OnceState", sizeof(pc_oncestate_py_t), 0, Py_TPFLAGS_DEFAULT,
    pc_oncestate_py_slots};

/* ----------------------------------------------------------------- Once */

static PyObject *pc_once_py_new(PyTypeObject *tp, PyObject *args, PyObject *kw)
{
    pc_once_py_t *self;
    static char *kwlist[] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kw, ":Once", kwlist))
        return NULL;
    self = (pc_once_py_t *)tp->tp_alloc(tp, 0);
    if (self == NULL)
        return NULL;
    pc_once_init(&self->once);
    /* relaxed: not shared yet. */
    atomic_store_explicit(&self->runner, 0, memory_order_relaxed);
    self->weakrefs = NULL;
    return (PyObject *)self;
}

static void pc_once_py_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    if (((pc_once_py_t *)self)->weakrefs != NULL)
        PyObject_ClearWeakRefs(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

/* Run fn as the initialiser: the caller made the word RUNNING from
 * `prev` (INCOMPLETE, or POISONED for call_once_force). */
static PyObject *pc_once_py_run_init(pc_once_py_t *self, PyObject *fn, int force,
                                     uint32_t prev)
{
    PyObject *state = NULL, *r;
    if (force && (state = pc_oncestate_py_make(prev == PC_ONCE_POISONED)) == NULL) {
        pc_once_finish(&self->once, prev); /* fn never ran: as before */
        return NULL;
    }
    r = pc_once_py_run(&self->runner, fn, state);
    Py_XDECREF(state);
    pc_once_finish(&self->once, r != NULL ? PC_ONCE_COMPLETE : PC_ONCE_POISONED);
    if (r == NULL)
        return NULL;
    Py_DECREF(r);
    Py_RETURN_NONE;
}

static PyObject *pc_once_py_call(pc_once_py_t *self, PyObject *fn, int force)
{
    if (pc_once_state(&self->once) == PC_ONCE_COMPLETE)
        Py_RETURN_NONE;
    if (!PyCallable_Check(fn)) {
        PyErr_Format(PyExc_TypeError, "%s needs a callable, not %.100s",
                     force ? "call_once_force()" : "call_once()", Py_TYPE(fn)->tp_name);
        return NULL;
    }
    for (;;) {
        uint32_t s = pc_once_try_begin(&self->once, force != 0);
        switch (s) {
        case PC_ONCE_COMPLETE:
            Py_RETURN_NONE;
        case PC_ONCE_INCOMPLETE:
            return pc_once_py_run_init(self, fn, force, s);
        case PC_ONCE_POISONED:
            if (force) /* call_once_force runs it again */
                return pc_once_py_run_init(self, fn, force, s);
            return pc_py_raise_value(PC_POISONED, Py_None,
                                     "Once poisoned: its initialiser raised");
        default: /* RUNNING in another thread: wait, then look again */
            if (pc_once_py_wait_running(&self->once, &self->runner,
                                        force ? "Once.call_once_force()"
                                              : "Once.call_once()") < 0)
                return NULL;
        }
    }
}

static PyObject *pc_once_py_call_once(PyObject *self, PyObject *const *args,
                                      Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *fn;
    if (pc_py_one_arg(args, nargs, kwnames, "call_once", "fn", 1, &fn) < 0)
        return NULL;
    return pc_once_py_call((pc_once_py_t *)self, fn, 0);
}

static PyObject *pc_once_py_call_once_force(PyObject *self, PyObject *const *args,
                                            Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *fn;
    if (pc_py_one_arg(args, nargs, kwnames, "call_once_force", "fn", 1, &fn) < 0)
        return NULL;
    return pc_once_py_call((pc_once_py_t *)self, fn, 1);
}

static PyObject *pc_once_py_wait(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                                 PyObject *kwnames)
{
    pc_once_py_t *o = (pc_once_py_t *)self;
    if (pc_once_py_wait_done(&o->once, &o->runner, 0, args, nargs, kwnames, "Once.wait()",
                             "Once poisoned: its initialiser raised") < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *pc_once_py_wait_force(PyObject *self, PyObject *const *args,
                                       Py_ssize_t nargs, PyObject *kwnames)
{
    pc_once_py_t *o = (pc_once_py_t *)self;
    if (pc_once_py_wait_done(&o->once, &o->runner, 1, args, nargs, kwnames,
                             "Once.wait_force()", NULL) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *pc_once_py_is_completed(PyObject *self, PyObject *unused)
{
    (void)unused;
    return PyBool_FromLong(pc_once_state(&((pc_once_py_t *)self)->once) == PC_ONCE_COMPLETE);
}

static PyObject *pc_once_py_repr(PyObject *self)
{
    static const char *const names[] = {
        [PC_ONCE_INCOMPLETE] = "incomplete", [PC_ONCE_RUNNING] = "running",
        [PC_ONCE_COMPLETE] = "complete", [PC_ONCE_POISONED] = "poisoned"};
    uint32_t s = pc_once_state(&((pc_once_py_t *)self)->once);
    return PyUnicode_FromFormat("<%s pyconc.Once at %p>", s <= PC_ONCE_POISONED ? names[s] : "?",
                                self);
}

static PyMethodDef pc_once_py_methods[] = {
    {"call_once", (PyCFunction)(void (*)(void))pc_once_py_call_once,
     METH_FASTCALL | METH_KEYWORDS,
     "call_once($self, /, fn)\n--\n\n"
     "Call *fn()* unless a call has completed; if another thread's call is\n"
     "running, wait until it ends (GIL released, interruptible by Ctrl-C).\n"
     "If *fn* raises, the exception propagates and the Once is poisoned:\n"
     "later calls raise PoisonError.  Calling it again from inside *fn*\n"
     "raises RuntimeError."},
    {"call_once_force", (PyCFunction)(void (*)(void))pc_once_py_call_once_force,
     METH_FASTCALL | METH_KEYWORDS,
     "call_once_force($self, /, fn)\n--\n\n"
     "As call_once, but runs even if poisoned: *fn(state)* learns from\n"
     "``state.is_poisoned()`` whether an earlier call raised."},
    {"is_completed", pc_once_py_is_completed, METH_NOARGS,
     "is_completed($self, /)\n--\n\nTrue once a call has completed."},
    {"wait", (PyCFunction)(void (*)(void))pc_once_py_wait, METH_FASTCALL | METH_KEYWORDS,
     "wait($self, /, timeout=None)\n--\n\n"
     "Wait until a call has completed, without running anything (Rust's\n"
     "``Once::wait``).  Raises PoisonError if the Once is (or becomes)\n"
     "poisoned, pyconc.Timeout after *timeout* seconds (None, or any huge\n"
     "value: no limit).  Releases the GIL; interruptible by Ctrl-C."},
    {"wait_force", (PyCFunction)(void (*)(void))pc_once_py_wait_force,
     METH_FASTCALL | METH_KEYWORDS,
     "wait_force($self, /, timeout=None)\n--\n\n"
     "As wait(), ignoring poison: a poisoned Once is waited on until a\n"
     "call_once_force completes it (Rust's ``Once::wait_force``)."},
    PC_PY_NO_COPY_METHODS,
    {NULL, NULL, 0, NULL}};

static PyMemberDef pc_once_py_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(pc_once_py_t, weakrefs), READONLY, NULL},
    {NULL, 0, 0, 0, NULL}};

static PyType_Slot pc_once_py_slots[] = {
    {Py_tp_new, (void *)pc_once_py_new},
    {Py_tp_dealloc, (void *)pc_once_py_dealloc},
    {Py_tp_methods, pc_once_py_methods},
    {Py_tp_members, pc_once_py_members},
    {Py_tp_repr, (void *)pc_once_py_repr},
    {Py_tp_doc,
     (void *)"Once()\n--\n\n"
             "Runs a function once, whichever thread gets there first, as Rust's\n"
             "``std::sync::Once``: ``call_once(fn)`` calls *fn* if no call has\n"
             "completed yet; concurrent callers wait until it has.  If *fn*\n"
             "raises, the exception propagates and the Once is poisoned: later\n"
             "``call_once`` calls raise PoisonError, and ``call_once_force(fn)``\n"
             "runs *fn(state)* again (``state.is_poisoned()`` is True).\n\n"
             "Waiting releases the GIL and is interruptible by Ctrl-C.\n\n"
             "Thread safety without the GIL: all state is one C atomic word\n"
             "(``pc_once_t``); completion is published with release/acquire."},
    {0, NULL}};

static PyType_Spec pc_once_py_spec = {
    "pyconc.Once", sizeof(pc_once_py_t), 0, Py_TPFLAGS_DEFAULT, pc_once_py_slots};

/* ------------------------------------------------------------- OnceLock */

static PyObject *pc_oncelock_py_new(PyTypeObject *tp, PyObject *args, PyObject *kw)
{
    pc_oncelock_py_t *self;
    static char *kwlist[] = {"value", NULL};
    PyObject *value = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:OnceLock", kwlist, &value))
        return NULL;
    self = (pc_oncelock_py_t *)tp->tp_alloc(tp, 0);
    if (self == NULL)
        return NULL;
    pc_once_init(&self->once);
    /* relaxed: not shared yet. */
    atomic_store_explicit(&self->runner, 0, memory_order_relaxed);
    self->value = NULL;
    self->weakrefs = NULL;
    if (value != NULL) { /* OnceLock(value): Rust's From<T>, set from the start */
        self->value = Py_NewRef(value);
        /* relaxed: not shared yet. */
        atomic_store_explicit(&self->once.state, PC_ONCE_COMPLETE, memory_order_relaxed);
    }
    return (PyObject *)self;
}

static int pc_oncelock_py_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(((pc_oncelock_py_t *)self)->value);
    return 0;
}

/* Empty the cell; the reference it held (or NULL), for the caller to drop
 * outside any critical section. */
static PyObject *pc_oncelock_py_empty(pc_oncelock_py_t *self)
{
    PyObject *old = NULL;
    PC_PY_BEGIN_CRITICAL((PyObject *)self);
    if (pc_once_state(&self->once) == PC_ONCE_COMPLETE) {
        old = self->value;
        self->value = NULL;
        pc_once_init(&self->once); /* Rust's take(&mut self): not while shared */
    }
    PC_PY_END_CRITICAL();
    return old;
}

static int pc_oncelock_py_clear(PyObject *self)
{
    pc_oncelock_py_t *cell = (pc_oncelock_py_t *)self;
    PyObject *old = pc_oncelock_py_empty(cell);
    Py_XDECREF(old);
    return 0;
}

static void pc_oncelock_py_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    if (((pc_oncelock_py_t *)self)->weakrefs != NULL)
        PyObject_ClearWeakRefs(self);
    (void)pc_oncelock_py_clear(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

/* The value (a new reference) if the cell is set, else NULL, no error. */
static PyObject *pc_oncelock_py_value(pc_oncelock_py_t *self)
{
    PyObject *v = NULL;
    PC_PY_BEGIN_CRITICAL((PyObject *)self);
    if (pc_once_state(&self->once) == PC_ONCE_COMPLETE && self->value != NULL) {
        v = self->value;
        Py_INCREF(v);
    }
    PC_PY_END_CRITICAL();
    return v;
}

/* Store v (a new reference, stolen) as the value and complete the cell,
 * which the caller made RUNNING. */
static void pc_oncelock_py_fill(pc_oncelock_py_t *self, PyObject *v)
{
    PyObject *old;
    PC_PY_BEGIN_CRITICAL((PyObject *)self);
    old = self->value; /* NULL: not COMPLETE before */
    self->value = v;
    PC_PY_END_CRITICAL();
    /* release (in pc_once_finish): the value is written before COMPLETE. */
    pc_once_finish(&self->once, PC_ONCE_COMPLETE);
    Py_XDECREF(old);
}

static PyObject *pc_oncelock_py_get(PyObject *self, PyObject *unused)
{
    PyObject *v = pc_oncelock_py_value((pc_oncelock_py_t *)self);
    (void)unused;
    if (v == NULL)
        Py_RETURN_NONE;
    return v;
}

static PyObject *pc_oncelock_py_set(PyObject *op, PyObject *const *args,
                                    Py_ssize_t nargs, PyObject *kwnames)
{
    pc_oncelock_py_t *self = (pc_oncelock_py_t *)op;
    PyObject *value;
    if (pc_py_one_arg(args, nargs, kwnames, "set", "value", 1, &value) < 0)
        return NULL;
    for (;;) {
        switch (pc_once_try_begin(&self->once, false)) {
        case PC_ONCE_INCOMPLETE:
            Py_INCREF(value);
            pc_oncelock_py_fill(self, value);
            Py_RETURN_TRUE;
        case PC_ONCE_RUNNING:
            if (pc_once_py_wait_running(&self->once, &self->runner, "OnceLock.set()") < 0)
                return NULL;
            break;
        default: /* COMPLETE (a OnceLock is never poisoned) */
            Py_RETURN_FALSE;
        }
    }
}

static PyObject *pc_oncelock_py_get_or_init(PyObject *op, PyObject *const *args,
                                            Py_ssize_t nargs, PyObject *kwnames)
{
    pc_oncelock_py_t *self = (pc_oncelock_py_t *)op;
    PyObject *fn, *v;
    if (PC_LIKELY(nargs == 1 && kwnames == NULL)) {
        fn = args[0];
    } else if (pc_py_one_arg(args, nargs, kwnames, "get_or_init", "fn", 1, &fn) < 0) {
        return NULL;
    }
    v = pc_oncelock_py_value(self);
    if (v != NULL)
        return v;
    if (!PyCallable_Check(fn)) {
        PyErr_Format(PyExc_TypeError, "get_or_init() needs a callable, not %.100s",
                     Py_TYPE(fn)->tp_name);
        return NULL;
    }
    for (;;) {
        switch (pc_once_try_begin(&self->once, false)) {
        case PC_ONCE_INCOMPLETE:
            v = pc_once_py_run(&self->runner, fn, NULL);
            if (v == NULL) {
                /* The initialiser raised: the cell stays unset and the
                 * next caller tries again. */
                pc_once_finish(&self->once, PC_ONCE_INCOMPLETE);
                return NULL;
            }
            Py_INCREF(v);
            pc_oncelock_py_fill(self, v);
            return v;
        case PC_ONCE_RUNNING:
            if (pc_once_py_wait_running(&self->once, &self->runner,
                                        "OnceLock.get_or_init()") < 0)
                return NULL;
            break;
        default: /* COMPLETE */
            if ((v = pc_oncelock_py_value(self)) != NULL)
                return v;
            /* taken again meanwhile: look once more */
        }
    }
}

static PyObject *pc_oncelock_py_take(PyObject *self, PyObject *unused)
{
    PyObject *old = pc_oncelock_py_empty((pc_oncelock_py_t *)self);
    (void)unused;
    if (old == NULL)
        Py_RETURN_NONE;
    return old;
}

static PyObject *pc_oncelock_py_wait(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                                     PyObject *kwnames)
{
    pc_oncelock_py_t *c = (pc_oncelock_py_t *)self;
    PyObject *v;
    for (;;) {
        /* A OnceLock is never poisoned: a failed initialiser leaves it
         * INCOMPLETE, and the wait goes on. */
        if (pc_once_py_wait_done(&c->once, &c->runner, 1, args, nargs, kwnames,
                                 "OnceLock.wait()", NULL) < 0)
            return NULL;
        if ((v = pc_oncelock_py_value(c)) != NULL)
            return v;
        /* taken meanwhile: wait for the next value */
    }
}

static PyObject *pc_oncelock_py_repr(PyObject *self)
{
    PyObject *v = pc_oncelock_py_value((pc_oncelock_py_t *)self), *r;
    if (v == NULL)
        return PyUnicode_FromFormat("<pyconc.OnceLock <unset> at %p>", self);
    r = PyUnicode_FromFormat("<pyconc.OnceLock value=%R>", v);
    Py_DECREF(v);
    return r;
}

static PyMethodDef pc_oncelock_py_methods[] = {
    {"get", pc_oncelock_py_get, METH_NOARGS,
     "get($self, /)\n--\n\n"
     "The value if set, else None; never waits (a running initialiser\n"
     "counts as unset)."},
    {"set", (PyCFunction)(void (*)(void))pc_oncelock_py_set, METH_FASTCALL | METH_KEYWORDS,
     "set($self, /, value)\n--\n\n"
     "Store *value* if the cell is unset and return True; return False,\n"
     "storing nothing, if it is set.  Waits (interruptibly) while another\n"
     "thread's initialiser runs."},
    {"get_or_init", (PyCFunction)(void (*)(void))pc_oncelock_py_get_or_init,
     METH_FASTCALL | METH_KEYWORDS,
     "get_or_init($self, /, fn)\n--\n\n"
     "The value, calling *fn()* to make and store it if unset: exactly one\n"
     "thread runs *fn*, the others wait for its result (GIL released,\n"
     "interruptible by Ctrl-C).  If *fn* raises, the exception propagates\n"
     "and the cell stays unset (the next caller tries again).  Calling it\n"
     "again from inside *fn* raises RuntimeError."},
    {"get_or_try_init", (PyCFunction)(void (*)(void))pc_oncelock_py_get_or_init,
     METH_FASTCALL | METH_KEYWORDS,
     "get_or_try_init($self, /, fn)\n--\n\n"
     "The same as get_or_init: a *fn* that raises leaves the cell unset and\n"
     "its exception propagates.  (Rust separates the two because its\n"
     "closures return errors as values; in Python any function may raise.)"},
    {"wait", (PyCFunction)(void (*)(void))pc_oncelock_py_wait, METH_FASTCALL | METH_KEYWORDS,
     "wait($self, /, timeout=None)\n--\n\n"
     "The value, waiting until some thread sets it (Rust's\n"
     "``OnceLock::wait``).  pyconc.Timeout after *timeout* seconds.  Releases\n"
     "the GIL; interruptible by Ctrl-C."},
    {"take", pc_oncelock_py_take, METH_NOARGS,
     "take($self, /)\n--\n\n"
     "Empty the cell and return what it held (None if unset).  Meant for\n"
     "when no other thread uses the cell (Rust's ``&mut self``)."},
    {"into_inner", pc_oncelock_py_take, METH_NOARGS,
     "into_inner($self, /)\n--\n\n"
     "The value (None if unset), leaving the cell empty: Rust's\n"
     "``into_inner``, which consumes the cell; here it is take()."},
    PC_PY_NO_COPY_METHODS,
    {"__class_getitem__", Py_GenericAlias, METH_O | METH_CLASS, PC_PY_CLASS_GETITEM_DOC},
    {NULL, NULL, 0, NULL}};

static PyMemberDef pc_oncelock_py_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(pc_oncelock_py_t, weakrefs), READONLY, NULL},
    {NULL, 0, 0, 0, NULL}};

static PyType_Slot pc_oncelock_py_slots[] = {
    {Py_tp_new, (void *)pc_oncelock_py_new},
    {Py_tp_dealloc, (void *)pc_oncelock_py_dealloc},
    {Py_tp_traverse, (void *)pc_oncelock_py_traverse},
    {Py_tp_clear, (void *)pc_oncelock_py_clear},
    {Py_tp_methods, pc_oncelock_py_methods},
    {Py_tp_members, pc_oncelock_py_members},
    {Py_tp_repr, (void *)pc_oncelock_py_repr},
    {Py_tp_doc,
     (void *)"OnceLock(value=...)\n--\n\n"
             "(*value* omitted: the cell starts unset.)\n"
             "A cell written once, as Rust's ``std::sync::OnceLock<T>``:\n"
             "``get()`` returns the value or None if unset; ``set(value)`` stores\n"
             "it if unset and says whether it did; ``get_or_init(fn)`` returns the\n"
             "value, calling *fn()* to make it if unset (exactly one thread runs\n"
             "*fn*; the others wait for its result).  If *fn* raises, the\n"
             "exception propagates and the cell stays unset.  ``OnceLock(v)`` starts\n"
             "set; ``wait()`` blocks until some thread sets it.\n\n"
             "Thread safety without the GIL: a C once-word (``pc_once_t``) decides\n"
             "which thread writes; the value is written before the word is set\n"
             "to complete (release) and read after it is seen complete (acquire),\n"
             "and the reference itself is read and written inside the cell's\n"
             "critical section."},
    {0, NULL}};

static PyType_Spec pc_oncelock_py_spec = {
    "pyconc.OnceLock", sizeof(pc_oncelock_py_t), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC, pc_oncelock_py_slots};

static int pc_once_py_init(PyObject *m)
{
    if ((pc_oncestate_py_type = pc_py_add_type(m, &pc_oncestate_py_spec)) == NULL ||
        pc_py_add_type(m, &pc_once_py_spec) == NULL ||
        pc_py_add_type(m, &pc_oncelock_py_spec) == NULL)
        return -1;
    return 0;
}

#endif /* PC_ONCE_PY_H */
