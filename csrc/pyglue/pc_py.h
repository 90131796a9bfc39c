/*
 * pyglue/pc_py.h - what every pyconc C type shares: the status table, the
 * argument parsers (timeouts, orderings) and the one interruptible wait.
 *
 * Included first by pyglue/pc_py_module.h (which build.py's cffi preamble
 * includes after pyconc.h), so that every family header may use it.
 *
 * The shape of a pyconc type is that of CPython's _thread.lock
 * (Modules/_threadmodule.c): a C struct that embeds its pc_* state (or
 * points into a buffer it keeps alive), methods that are METH_NOARGS,
 * METH_O or METH_FASTCALL, all work done in tp_new (no tp_init, so calling
 * __init__ again changes nothing), no instance __dict__ and no settable
 * attribute that holds an address.  A blocking method is its primitive's
 * try-function plus pc_py_wait below.
 *
 * Without the GIL (free-threaded builds): the tables here are written
 * once, in the module's init, before any object exists, and only read
 * afterwards.
 */
#ifndef PC_PY_H
#define PC_PY_H

/* Self-contained: cffi's generated module has included Python.h already;
 * `make cwarn` compiles the layer on its own (tests/c/pyglue_check.c). */
#ifndef PY_SSIZE_T_CLEAN
#define PY_SSIZE_T_CLEAN
#endif
#include <Python.h>

#include <math.h>
#include <string.h>

/* ------------------------------------------------------- status -> error */

/*
 * The one table: which exception each pc_status raises.  `exc` is the
 * class for a call that moves nothing; `with_value` the class for a call
 * whose value was not moved (a send), constructed as cls(value, message)
 * so that the value is handed back in .value.  Names are those of
 * pyconc.errors (NULL: a built-in exception, set by pc_py_raise itself).
 */
typedef struct {
    const char *exc;
    const char *with_value;
    const char *message;
} pc_py_status_row;

static const pc_py_status_row pc_py_status_table[PC_STATUS_COUNT] = {
    [PC_OK] = {NULL, NULL, "no error"},
    [PC_AGAIN] = {"WouldBlock", "WouldBlock", "the operation would block"},
    [PC_EMPTY] = {"Empty", "Empty", "no value is waiting"},
    [PC_FULL] = {"Full", "Full", "the channel is full; the value is in .value"},
    [PC_TIMEOUT] = {"Timeout", "Timeout", "timed out"},
    [PC_CLOSED] = {"Disconnected", "SendError",
                   "the other side of the channel is gone"},
    [PC_POISONED] = {"PoisonError", "PoisonError",
                     "lock poisoned by an exception in another holder"},
    [PC_INTERRUPTED] = {NULL, NULL, "interrupted"},
    [PC_OWNER_DIED] = {"OwnerDied", "OwnerDied",
                       "the process holding the lock died"},
    [PC_LAGGED] = {"Lagged", "Lagged", "the receiver lagged behind"},
    [PC_NOMEM] = {NULL, NULL, "out of memory"},
    [PC_BUSY] = {NULL, NULL, "the object is in use"},
    [PC_INVALID] = {NULL, NULL, "invalid operation"},
    [PC_HANDLE_CLOSED] = {"HandleClosed", "HandleClosed", "this handle is closed"},
};

/* The classes of the table, looked up in pyconc.errors at init. */
static PyObject *pc_py_exc[PC_STATUS_COUNT];
static PyObject *pc_py_exc_with_value[PC_STATUS_COUNT];

/* pyconc.errors.<name>, a new reference, or NULL with an error set. */
static inline PyObject *pc_py_errors_attr(const char *name)
{
    PyObject *mod = PyImport_ImportModule("pyconc.errors");
    PyObject *cls;
    if (mod == NULL)
        return NULL;
    cls = PyObject_GetAttrString(mod, name);
    Py_DECREF(mod);
    return cls;
}

static inline int pc_py_status_init(void)
{
    int st;
    for (st = 0; st < PC_STATUS_COUNT; st++) {
        const pc_py_status_row *row = &pc_py_status_table[st];
        if (row->exc != NULL &&
            (pc_py_exc[st] = pc_py_errors_attr(row->exc)) == NULL)
            return -1;
        if (row->with_value != NULL &&
            (pc_py_exc_with_value[st] = pc_py_errors_attr(row->with_value)) == NULL)
            return -1;
    }
    return 0;
}

/* Raise the exception of status `st` with `message` (NULL: the table's).
 * Returns NULL, for `return pc_py_raise(...)`.  PC_INTERRUPTED leaves the
 * error the signal handler set. */
static inline PyObject *pc_py_raise(pc_status st, const char *message)
{
    if (message == NULL)
        message = pc_py_status_table[st].message;
    switch (st) {
    case PC_INTERRUPTED:
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_RuntimeError, "interrupted without an error");
        return NULL;
    case PC_NOMEM:
        return PyErr_NoMemory();
    case PC_BUSY:
    case PC_INVALID:
    case PC_OK:
        PyErr_SetString(PyExc_RuntimeError, message);
        return NULL;
    default:
        PyErr_SetString(pc_py_exc[st], message);
        return NULL;
    }
}

/* Raise the with-value exception of `st`: cls(value, message), so that
 * the caller's value (or a guard, for PoisonError) is not lost. */
static inline PyObject *pc_py_raise_value(pc_status st, PyObject *value,
                                   const char *message)
{
    PyObject *cls = pc_py_exc_with_value[st];
    PyObject *exc;
    if (cls == NULL)
        return pc_py_raise(st, message);
    if (message == NULL)
        message = pc_py_status_table[st].message;
    exc = PyObject_CallFunction(cls, "Os", value, message);
    if (exc != NULL) {
        PyErr_SetObject(cls, exc);
        Py_DECREF(exc);
    }
    return NULL;
}

/* ------------------------------------------------------------- timeouts */

/* A timeout in nanoseconds: PC_PY_FOREVER, 0 (do not wait) or positive. */
#define PC_PY_FOREVER ((int64_t)-1)

/* Seconds beyond which a wait is a wait for ever: any timeout a user may
 * pass as "no limit" (threading.TIMEOUT_MAX, 1e100, sys.maxsize) is longer
 * than this, and no deadline this far off can be computed in int64 ns. */
#define PC_PY_TIMEOUT_FOREVER_S 9.0e9 /* about 285 years */

/* Convert a timeout in seconds (int or float, not bool) to nanoseconds,
 * rounding up as CPython does for timeouts.  0 on success, -1 with
 * TypeError/ValueError set.  `minus_one_forever`: -1 means "no limit"
 * (threading.Lock.acquire's convention). */
static inline int pc_py_seconds_ns(PyObject *t, int minus_one_forever, int64_t *ns)
{
    double s;
    if (PyFloat_Check(t)) {
        s = PyFloat_AS_DOUBLE(t);
    } else if (PyLong_Check(t) && !PyBool_Check(t)) {
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(t, &overflow);
        if (v == -1 && PyErr_Occurred())
            return -1;
        s = overflow > 0 ? HUGE_VAL : overflow < 0 ? -HUGE_VAL : (double)v;
    } else {
        PyErr_Format(PyExc_TypeError, "timeout must be a number, not %.100s",
                     Py_TYPE(t)->tp_name);
        return -1;
    }
    if (isnan(s)) {
        PyErr_SetString(PyExc_ValueError, "timeout must be a number, not NaN");
        return -1;
    }
    if (minus_one_forever && s == -1.0) {
        *ns = PC_PY_FOREVER;
        return 0;
    }
    if (s < 0) {
        PyErr_SetString(PyExc_ValueError,
                        "timeout value must be a non-negative number");
        return -1;
    }
    if (s >= PC_PY_TIMEOUT_FOREVER_S) {
        *ns = PC_PY_FOREVER;
        return 0;
    }
    *ns = (int64_t)ceil(s * 1e9);
    return 0;
}

/* timeout=None (or absent: t == NULL) is "no limit"; else seconds. */
static inline int pc_py_timeout_ns(PyObject *t, int64_t *ns)
{
    if (t == NULL || t == Py_None) {
        *ns = PC_PY_FOREVER;
        return 0;
    }
    return pc_py_seconds_ns(t, 0, ns);
}

/* acquire(blocking=True, timeout=-1) as threading.Lock parses it: -1 is
 * "no limit"; a timeout with blocking false is an error.  NULL stands for
 * an argument not given. */
static inline int pc_py_lock_timeout_ns(PyObject *blocking, PyObject *timeout,
                                 int64_t *ns)
{
    int block = 1;
    if (blocking != NULL && (block = PyObject_IsTrue(blocking)) < 0)
        return -1;
    if (!block) {
        if (timeout != NULL) {
            int64_t t;
            if (pc_py_seconds_ns(timeout, 1, &t) < 0)
                return -1;
            if (t != PC_PY_FOREVER) {
                PyErr_SetString(PyExc_ValueError,
                                "can't specify a timeout for a non-blocking call");
                return -1;
            }
        }
        *ns = 0;
        return 0;
    }
    if (timeout == NULL) {
        *ns = PC_PY_FOREVER;
        return 0;
    }
    return pc_py_seconds_ns(timeout, 1, ns);
}

/* ------------------------------------------------------------ orderings */

/* Sets of orderings, as bit masks of the PC_* orderings (pc_config.h). */
#define PC_PY_ORD(o) (1u << (o))
#define PC_PY_LOAD_ORDERS \
    (PC_PY_ORD(PC_RELAXED) | PC_PY_ORD(PC_ACQUIRE) | PC_PY_ORD(PC_SEQ_CST))
#define PC_PY_STORE_ORDERS \
    (PC_PY_ORD(PC_RELAXED) | PC_PY_ORD(PC_RELEASE) | PC_PY_ORD(PC_SEQ_CST))
#define PC_PY_RMW_ORDERS                                                   \
    (PC_PY_ORD(PC_RELAXED) | PC_PY_ORD(PC_ACQUIRE) | PC_PY_ORD(PC_RELEASE) | \
     PC_PY_ORD(PC_ACQ_REL) | PC_PY_ORD(PC_SEQ_CST))
#define PC_PY_CAS_FAILURE_ORDERS PC_PY_LOAD_ORDERS
#define PC_PY_FENCE_ORDERS                                                 \
    (PC_PY_ORD(PC_ACQUIRE) | PC_PY_ORD(PC_RELEASE) | PC_PY_ORD(PC_ACQ_REL) | \
     PC_PY_ORD(PC_SEQ_CST))

static const char *const pc_py_order_names[] = {
    [PC_RELAXED] = "RELAXED", [PC_ACQUIRE] = "ACQUIRE", [PC_RELEASE] = "RELEASE",
    [PC_ACQ_REL] = "ACQ_REL", [PC_SEQ_CST] = "SEQ_CST"};

/*
 * Parse an ordering argument: a pyconc.Ordering, or a plain int of the same
 * value (an IntEnum is an int); not a bool and not a float.  NULL (not
 * given) is SEQ_CST.  `allowed` is a PC_PY_*_ORDERS mask, `what` names the
 * operation for the message ("a load").  0 on success, -1 with
 * TypeError/ValueError set.
 */
static inline int pc_py_order(PyObject *o, unsigned allowed, const char *what, int *out)
{
    long v;
    if (o == NULL) {
        *out = PC_SEQ_CST;
        return 0;
    }
    if (!PyLong_Check(o) || PyBool_Check(o)) {
        PyErr_Format(PyExc_TypeError,
                     "ordering must be a pyconc.Ordering, not %.100s",
                     Py_TYPE(o)->tp_name);
        return -1;
    }
    v = PyLong_AsLong(o);
    if (v == -1 && PyErr_Occurred())
        PyErr_Clear();
    if (v < PC_RELAXED || v > PC_SEQ_CST) {
        PyErr_Format(PyExc_ValueError, "%R is not a valid pyconc.Ordering", o);
        return -1;
    }
    if (!(allowed & PC_PY_ORD(v))) {
        char list[64] = "";
        int i;
        for (i = PC_RELAXED; i <= PC_SEQ_CST; i++) {
            if (allowed & PC_PY_ORD(i)) {
                if (list[0] != '\0')
                    strcat(list, ", ");
                strcat(list, pc_py_order_names[i]);
            }
        }
        PyErr_Format(PyExc_ValueError,
                     "Ordering.%s is not allowed for %s (allowed: %s)",
                     pc_py_order_names[v], what, list);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* --------------------------------------------------------------- waiting */

/*
 * Releasing the GIL around a wait, with the hand-off calls that every
 * pyconc wait makes (pc_handoff.h, DEVELOPERS.md "The GIL rule"):
 *
 *     PC_PY_WITHOUT_GIL(st = pc_foo_wait(x, slice));
 */
#define PC_PY_WITHOUT_GIL(stmt)                                \
    do {                                                       \
        PyThreadState *pc_py_ts_ = PyEval_SaveThread();        \
        pc_handoff_gil_released();                             \
        stmt;                                                  \
        pc_handoff_gil_reacquire();                            \
        PyEval_RestoreThread(pc_py_ts_);                       \
        pc_handoff_gil_taken();                                \
    } while (0)

/* A primitive's two halves for pc_py_wait:
 *   try   with the GIL held, never waits: PC_OK when done, PC_AGAIN when
 *         it would have to wait, any other status to give up with it;
 *   park  without the GIL: wait at most slice_ns for the try to have a
 *         chance (PC_AGAIN: woken, timed out or interrupted, try again),
 *         or do the operation itself and return PC_OK (a lock taken while
 *         waiting), or another status to give up with it.
 * Neither may touch Python objects in park. */
typedef pc_status (*pc_py_try_fn)(void *self);
typedef pc_status (*pc_py_park_fn)(void *self, int64_t slice_ns);

/*
 * The one interruptible wait, shaped like CPython's acquire_timed: first a
 * try with the GIL held; then, until it succeeds or the deadline passes,
 * release the GIL, park for at most one slice (PC_WAIT_SLICE_NS) or the
 * time left, retake the GIL, run the signal handlers (Ctrl-C), and try
 * again.  timeout_ns: PC_PY_FOREVER, 0 (one try), or a positive limit on
 * the monotonic clock.
 *
 * Returns PC_OK, PC_TIMEOUT, PC_INTERRUPTED (a handler raised: the error
 * is set and the operation was NOT done), or whatever try/park gave up
 * with.  An operation that park completed is never undone by a signal: it
 * returns PC_OK and the handler runs when the caller returns to Python,
 * so a lock is either returned held or not taken at all.
 *
 * interruptible = 0 defers signals to the caller (for waits that must end
 * holding a lock, as Condvar.wait re-taking its Mutex).
 */
static inline pc_status pc_py_wait(void *self, pc_py_try_fn try_, pc_py_park_fn park,
                            int64_t timeout_ns, int interruptible)
{
    pc_status st = try_(self);
    int64_t deadline = -1;
    if (st != PC_AGAIN)
        return st;
    if (timeout_ns == 0)
        return PC_TIMEOUT;
    if (timeout_ns > 0)
        deadline = pc_now_ns() + timeout_ns;
    for (;;) {
        int64_t slice = PC_WAIT_SLICE_NS;
        if (deadline >= 0) {
            int64_t left = deadline - pc_now_ns();
            if (left <= 0)
                return PC_TIMEOUT;
            if (left < slice)
                slice = left;
        }
        PC_PY_WITHOUT_GIL(st = park(self, slice));
        if (st != PC_AGAIN)
            return st;
        if (interruptible && PyErr_CheckSignals() < 0)
            return PC_INTERRUPTED;
        st = try_(self);
        if (st != PC_AGAIN)
            return st;
    }
}

/* ------------------------------------------------- free-threaded builds */

/*
 * PC_PY_BEGIN_CRITICAL(obj) ... PC_PY_END_CRITICAL(): guard a type's Python
 * references (a lock's value, a once-cell's value) on free-threaded
 * builds with CPython's per-object critical section (3.13+), as its own
 * containers do; with a GIL, which already serialises them, a plain
 * block.  Like Py_BEGIN_CRITICAL_SECTION it opens a block, so the two
 * must pair within one function, and nothing inside may wait.
 */
#ifdef Py_GIL_DISABLED
#define PC_PY_BEGIN_CRITICAL(obj) Py_BEGIN_CRITICAL_SECTION(obj)
#define PC_PY_END_CRITICAL() Py_END_CRITICAL_SECTION()
#else
#define PC_PY_BEGIN_CRITICAL(obj) {
#define PC_PY_END_CRITICAL() }
#endif

/* ------------------------------------------------------------ arguments */

/*
 * Parse the arguments of a METH_FASTCALL | METH_KEYWORDS method by hand
 * (cheaper than PyArg_ParseTupleAndKeywords): up to n arguments, given by
 * position or by the keywords in `names` (a NULL name is positional only);
 * out[i] is the i-th argument (borrowed) or NULL when it was not given;
 * the first `required` must be given.  `fname` names the method in the
 * errors ("acquire").  0, or -1 with TypeError set.  The one parser of
 * every pyconc type: the families' fast paths test for plain positional
 * calls themselves and come here for the rest.
 */
static inline int pc_py_parse_args(const char *fname, PyObject *const *args,
                                   Py_ssize_t nargs, PyObject *kwnames,
                                   const char *const *names, Py_ssize_t n,
                                   Py_ssize_t required, PyObject **out)
{
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0, i, j;
    if (nargs > n) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most %zd argument%s (%zd given)",
                     fname, n, n == 1 ? "" : "s", nargs + nkw);
        return -1;
    }
    for (i = 0; i < n; i++)
        out[i] = i < nargs ? args[i] : NULL;
    for (i = 0; i < nkw; i++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, i);
        for (j = 0; j < n; j++)
            if (names[j] != NULL && PyUnicode_CompareWithASCIIString(key, names[j]) == 0)
                break;
        if (j == n) {
            PyErr_Format(PyExc_TypeError,
                         "%s() got an unexpected keyword argument '%U'", fname, key);
            return -1;
        }
        if (out[j] != NULL) {
            PyErr_Format(PyExc_TypeError,
                         "%s() got multiple values for argument '%U'", fname, key);
            return -1;
        }
        out[j] = args[nargs + i];
    }
    for (i = 0; i < required; i++) {
        if (out[i] == NULL) {
            PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s' (pos %zd)",
                         fname, names[i] ? names[i] : "?", i + 1);
            return -1;
        }
    }
    return 0;
}

/*
 * The one argument of a METH_FASTCALL | METH_KEYWORDS method that takes
 * one, by position or as the keyword `name` (as a Python `def f(self,
 * name)` accepts it): *out is it (borrowed), or NULL if it was not given,
 * which is a TypeError when `required`.  0, or -1 with TypeError set;
 * `fname` names the method in the message.
 */
static inline int pc_py_one_arg(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                                const char *fname, const char *name, int required,
                                PyObject **out)
{
    const char *names[1] = {name};
    return pc_py_parse_args(fname, args, nargs, kwnames, names, 1, required, out);
}

/* ------------------------------------------------------- module helpers */

/* The tp_dealloc of a GC type with weak references (`weakrefs`: the
 * object's weak reference list) whose tp_clear, `clear`, drops everything
 * it holds: untrack, clear the weak references, clear, free.  (`clear` is
 * the type's own, not Py_TYPE(self)->tp_clear: a Python subclass has
 * cleared its own slots before it calls this.) */
static inline void pc_py_gc_dealloc(PyObject *self, PyObject *weakrefs, inquiry clear)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    if (weakrefs != NULL)
        PyObject_ClearWeakRefs(self);
    (void)clear(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

/* The flags of every pyconc type: immutable (3.10+), so that nobody can
 * replace a method of the type itself (SpinLock.acquire = ...). */
#ifdef Py_TPFLAGS_IMMUTABLETYPE
#define PC_PY_TPFLAGS (Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE)
#else
#define PC_PY_TPFLAGS Py_TPFLAGS_DEFAULT
#endif

/* Add a type built from `spec` to module m under its short name; returns
 * the type (a borrowed reference: the module keeps it), NULL on error. */
static inline PyTypeObject *pc_py_add_type(PyObject *m, PyType_Spec *spec)
{
    PyObject *tp = PyType_FromSpec(spec);
    const char *dot;
    if (tp == NULL)
        return NULL;
    dot = strrchr(spec->name, '.');
    if (PyModule_AddObject(m, dot ? dot + 1 : spec->name, tp) < 0) {
        Py_DECREF(tp);
        return NULL;
    }
    return (PyTypeObject *)tp;
}

/* Refuse pickling and copying of an object that owns a lock or lives in
 * this process's memory (used as __reduce__ / __reduce_ex__, __copy__,
 * __deepcopy__). */
static inline PyObject *pc_py_no_copy(PyObject *self, PyObject *unused)
{
    (void)unused;
    PyErr_Format(PyExc_TypeError,
                 "cannot copy or pickle a %.100s: it owns state that "
                 "lives in this process (share the object itself between "
                 "threads instead)",
                 Py_TYPE(self)->tp_name);
    return NULL;
}

/* Docstrings, with their __text_signature__, of the methods every type
 * shares: the refusals of pc_py_no_copy and PEP 585's __class_getitem__
 * (Py_GenericAlias).  inspect.signature reads the first line. */
#define PC_PY_REDUCE_DOC                                                      \
    "__reduce__($self, /)\n--\n\nRefused (TypeError): the object owns state "  \
    "that lives in this process; share the object itself between threads."
#define PC_PY_REDUCE_EX_DOC                                                   \
    "__reduce_ex__($self, protocol, /)\n--\n\nRefused (TypeError), as "        \
    "__reduce__."
#define PC_PY_COPY_DOC                                                        \
    "__copy__($self, /)\n--\n\nRefused (TypeError): the object cannot be "     \
    "copied."
#define PC_PY_DEEPCOPY_DOC                                                    \
    "__deepcopy__($self, memo, /)\n--\n\nRefused (TypeError): the object "     \
    "cannot be copied."
#define PC_PY_CLASS_GETITEM_DOC                                               \
    "__class_getitem__($cls, item, /)\n--\n\nType[item]: a generic alias, "    \
    "for type hints (PEP 585)."

/* The method table entries that refuse pickling and copying with
 * pc_py_no_copy: `PC_PY_NO_COPY_METHODS,` in a type's PyMethodDef list. */
/* copy.copy(v): a new reference, or NULL.  For get_cloned (Mutex,
 * RwLock), which calls it under the lock so that the copy is of one state. */
static inline PyObject *pc_py_copy_of(PyObject *v)
{
    PyObject *copy = PyImport_ImportModule("copy"), *r;
    if (copy == NULL)
        return NULL;
    r = PyObject_CallMethod(copy, "copy", "O", v);
    Py_DECREF(copy);
    return r;
}

#define PC_PY_NO_COPY_METHODS                                                 \
    {"__reduce__", pc_py_no_copy, METH_NOARGS, PC_PY_REDUCE_DOC},             \
    {"__reduce_ex__", pc_py_no_copy, METH_O, PC_PY_REDUCE_EX_DOC},            \
    {"__copy__", pc_py_no_copy, METH_NOARGS, PC_PY_COPY_DOC},                 \
    {"__deepcopy__", pc_py_no_copy, METH_O, PC_PY_DEEPCOPY_DOC}

#endif /* PC_PY_H */
