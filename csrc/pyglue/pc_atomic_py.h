/*
 * pyglue/pc_atomic_py.h - AtomicInt, AtomicUInt, AtomicBool and fence()
 * as CPython types over the cells of pc_atomic.h.
 *
 * Shape (that of CPython's _thread.lock, see pc_py.h): each object embeds
 * its 8-byte cell; every method is METH_FASTCALL|METH_KEYWORDS and does
 * its work in one C call with the GIL held (an atomic never waits); the
 * ordering is parsed here with pc_py_order and the value converted here,
 * so no Python frame runs between the call and the atomic operation.
 * All work happens in tp_new; there is no tp_init (running __init__
 * again does nothing), no instance __dict__, no settable attribute, and
 * the types are immutable (Py_TPFLAGS_IMMUTABLETYPE: no method can be
 * replaced).  No address is ever visible from Python.
 *
 * Two layouts per kind:
 *   AtomicInt       {header, weaklist, cell}: 32 bytes on 64-bit CPython,
 *                   one pymalloc block of the smallest class that fits.
 *                   Not padded to a cache line: two atomics allocated
 *                   together may share one (as Rust's AtomicI64, which
 *                   leaves padding to crossbeam's CachePadded).  An atomic
 *                   written hard by several threads can be given a line of
 *                   its own with from_buffer() at a PC_CACHELINE stride.
 *   AtomicIntView   what from_buffer() returns: a subtype that points at
 *                   a cell inside a caller's buffer and holds that buffer
 *                   exported (a Py_buffer), so that the memory can be
 *                   neither freed, resized nor closed (an mmap, a
 *                   SharedMemory) while the atomic exists.  It holds a
 *                   Python reference (the exporter), so it takes part in
 *                   cyclic GC; its tp_clear moves the value into the
 *                   object's own cell before releasing the buffer, so even
 *                   a cleared object never touches freed memory.
 * Python subclasses: pyconc.ipc's SharedAtomicInt & co. subclass the view
 * types (their cell lives in a shared segment); a user subclass of
 * AtomicInt works on its own cell (it cannot use from_buffer()).
 *
 * What protects the state without the GIL (free-threaded builds): the
 * value is only ever accessed by C11 atomic operations on the cell
 * (pc_atomic.c); everything else in the object (the cell pointer and the
 * Py_buffer of a view) is written once, before the object is returned to
 * Python, and only read afterwards, except by tp_clear/tp_dealloc, which
 * run when no other thread can reach the object.  The type table below is
 * filled once at module init.
 *
 * Length: three integer types generated from one set of methods (every
 * operation times every ordering, in one place so that they cannot drift),
 * plus their from_buffer views.
 */
#ifndef PC_ATOMIC_PY_H
#define PC_ATOMIC_PY_H

#include "pc_atomic.h"

#include <stddef.h>
#include <string.h>
#if PY_VERSION_HEX < 0x030C0000
#include <structmember.h> /* T_PYSSIZET, READONLY: Python.h has them from 3.12 */
#define PC_ATOMIC_PY_T_SSIZE T_PYSSIZET
#define PC_ATOMIC_PY_READONLY READONLY
#else
#define PC_ATOMIC_PY_T_SSIZE Py_T_PYSSIZET
#define PC_ATOMIC_PY_READONLY Py_READONLY
#endif

/* ---------------------------------------------------------------- layout */

typedef struct {
    PyObject_HEAD
    PyObject *weaklist;
    union {
        pc_atomic_i64_t i64;
        pc_atomic_u64_t u64;
        pc_atomic_bool_t b;
    } cell;
} pc_atomic_py_t;

typedef struct {
    pc_atomic_py_t base; /* base.cell: unused, until tp_clear copies into it */
    void *cell;          /* the cell inside view.buf; set before publication */
    Py_buffer view;      /* the caller's buffer, kept exported */
} pc_atomic_py_view_t;

/* The three kinds; a constant argument to the static inline functions
 * below, so that each method compiles to straight-line code. */
enum { PC_ATOMIC_PY_I64, PC_ATOMIC_PY_U64, PC_ATOMIC_PY_BOOL, PC_ATOMIC_PY_KINDS };

typedef struct {
    const char *name;  /* the public name, for messages and repr */
    const char *range; /* for OverflowError */
    const char *takes; /* for TypeError: "an int", "a bool" */
    PyTypeObject *type;
    PyTypeObject *view_type;
} pc_atomic_py_kind;

/* Written once by pc_atomic_py_init (types), read-only afterwards. */
static pc_atomic_py_kind pc_atomic_py_kinds[PC_ATOMIC_PY_KINDS] = {
    {"AtomicInt", "-2**63 <= value < 2**63", "an int", NULL, NULL},
    {"AtomicUInt", "0 <= value < 2**64", "an int", NULL, NULL},
    {"AtomicBool", "False or True", "a bool", NULL, NULL},
};

/* A value of any kind, converted from Python. */
typedef union {
    int64_t i;
    uint64_t u;
    bool b;
} pc_atomic_py_val;

/* The cell of self: the embedded one for the plain type (the fast path:
 * one pointer compare), the buffer's for a view or a subclass of one. */
static void *pc_atomic_py_cell_slow(PyObject *self, int kind)
{
    if (PyObject_TypeCheck(self, pc_atomic_py_kinds[kind].view_type))
        return ((pc_atomic_py_view_t *)self)->cell;
    return &((pc_atomic_py_t *)self)->cell;
}

PC_INLINE void *pc_atomic_py_cell(PyObject *self, int kind)
{
    if (PC_LIKELY(Py_IS_TYPE(self, pc_atomic_py_kinds[kind].type)))
        return &((pc_atomic_py_t *)self)->cell;
    return pc_atomic_py_cell_slow(self, kind);
}

/* ------------------------------------------------------------- arguments */

/*
 * Arguments of a METH_FASTCALL|METH_KEYWORDS method: a plain positional
 * call is taken here, inline; keywords and errors go to pc_py_parse_args.
 */
PC_INLINE int pc_atomic_py_args(const char *fname, PyObject *const *args,
                                Py_ssize_t nargs, PyObject *kwnames,
                                const char *const *names, int n, int required,
                                PyObject **out)
{
    Py_ssize_t i;
    if (PC_LIKELY(kwnames == NULL && nargs >= required && nargs <= n)) {
        for (i = 0; i < n; i++)
            out[i] = i < nargs ? args[i] : NULL;
        return 0;
    }
    return pc_py_parse_args(fname, args, nargs, kwnames, names, n, required, out);
}

static const char *const pc_atomic_py_names_order[] = {"order"};
static const char *const pc_atomic_py_names_value[] = {"value", "order"};
static const char *const pc_atomic_py_names_cas[] = {"current", "new", "success",
                                                     "failure"};
static const char *const pc_atomic_py_names_update[] = {"fn", "set_order",
                                                        "fetch_order"};
static const char *const pc_atomic_py_names_buffer[] = {"buf", "offset"};

static const char pc_atomic_py_rmw[] = "a read-modify-write operation";
static const char pc_atomic_py_failure[] = "the failure ordering of a compare-exchange";

/* ---------------------------------------------------------------- values */

static int pc_atomic_py_range_error(PyObject *o, int kind)
{
    PyErr_Format(PyExc_OverflowError, "%R is out of range for %s (%s)", o,
                 pc_atomic_py_kinds[kind].name, pc_atomic_py_kinds[kind].range);
    return -1;
}

static int pc_atomic_py_value_slow(PyObject *o, int kind, pc_atomic_py_val *out);

/*
 * Convert o to a value of `kind`: an int (bools and int subclasses
 * included, by their integer value; an int subclass's own methods are
 * never called), or an object with __index__ (numpy integers), as any
 * Python API taking an integer.  Out of range: OverflowError; anything
 * else: TypeError.  0, or -1 with the error set.
 */
PC_INLINE int pc_atomic_py_value(PyObject *o, int kind, pc_atomic_py_val *out)
{
    if (PC_LIKELY(PyLong_Check(o))) {
        if (kind == PC_ATOMIC_PY_U64) {
            unsigned long long v = PyLong_AsUnsignedLongLong(o);
            if (v == (unsigned long long)-1 && PyErr_Occurred()) {
                if (!PyErr_ExceptionMatches(PyExc_OverflowError))
                    return -1;
                PyErr_Clear();
                return pc_atomic_py_range_error(o, kind);
            }
            out->u = (uint64_t)v;
            return 0;
        } else {
            int overflow = 0;
            long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
            if (overflow)
                return pc_atomic_py_range_error(o, kind);
            if (v == -1 && PyErr_Occurred())
                return -1;
            if (kind == PC_ATOMIC_PY_BOOL) {
                if (v != 0 && v != 1)
                    return pc_atomic_py_range_error(o, kind);
                out->b = v != 0;
            } else {
                out->i = (int64_t)v;
            }
            return 0;
        }
    }
    return pc_atomic_py_value_slow(o, kind, out);
}

static int pc_atomic_py_value_slow(PyObject *o, int kind, pc_atomic_py_val *out)
{
    PyNumberMethods *nb = Py_TYPE(o)->tp_as_number;
    PyObject *index;
    int r;
    if (nb == NULL || nb->nb_index == NULL) {
        PyErr_Format(PyExc_TypeError, "%s takes %s, not %.100s",
                     pc_atomic_py_kinds[kind].name, pc_atomic_py_kinds[kind].takes,
                     Py_TYPE(o)->tp_name);
        return -1;
    }
    index = PyNumber_Index(o); /* an exact int, or NULL with an error */
    if (index == NULL)
        return -1;
    r = pc_atomic_py_value(index, kind, out);
    Py_DECREF(index);
    return r;
}

PC_INLINE PyObject *pc_atomic_py_box(int kind, pc_atomic_py_val v)
{
    switch (kind) {
    case PC_ATOMIC_PY_I64:
        return PyLong_FromLongLong(v.i);
    case PC_ATOMIC_PY_U64:
        return PyLong_FromUnsignedLongLong(v.u);
    default:
        return PyBool_FromLong(v.b);
    }
}

/* ------------------------------------------------------------ operations */

/* The core's operations by kind (pc_atomic.c maps each ordering to its
 * memory_order; every access there is _explicit). */
PC_INLINE pc_atomic_py_val pc_atomic_py_do_load(int kind, void *cell, int order)
{
    pc_atomic_py_val r;
    switch (kind) {
    case PC_ATOMIC_PY_I64:
        r.i = pc_atomic_i64_load((pc_atomic_i64_t *)cell, order);
        break;
    case PC_ATOMIC_PY_U64:
        r.u = pc_atomic_u64_load((pc_atomic_u64_t *)cell, order);
        break;
    default:
        r.b = pc_atomic_bool_load((pc_atomic_bool_t *)cell, order);
        break;
    }
    return r;
}

/* load() with no ordering: the inline seq_cst loads of pc_atomic.h. */
PC_INLINE pc_atomic_py_val pc_atomic_py_do_load_default(int kind, void *cell)
{
    pc_atomic_py_val r;
    switch (kind) {
    case PC_ATOMIC_PY_I64:
        r.i = pc_atomic_i64_load_seq_cst((pc_atomic_i64_t *)cell);
        break;
    case PC_ATOMIC_PY_U64:
        r.u = pc_atomic_u64_load_seq_cst((pc_atomic_u64_t *)cell);
        break;
    default:
        r.b = pc_atomic_bool_load_seq_cst((pc_atomic_bool_t *)cell);
        break;
    }
    return r;
}

PC_INLINE void pc_atomic_py_do_store(int kind, void *cell, pc_atomic_py_val v, int order)
{
    switch (kind) {
    case PC_ATOMIC_PY_I64:
        pc_atomic_i64_store((pc_atomic_i64_t *)cell, v.i, order);
        break;
    case PC_ATOMIC_PY_U64:
        pc_atomic_u64_store((pc_atomic_u64_t *)cell, v.u, order);
        break;
    default:
        pc_atomic_bool_store((pc_atomic_bool_t *)cell, v.b, order);
        break;
    }
}

/* Read-modify-write operations (fetch_* and swap). */
enum {
    PC_ATOMIC_PY_SWAP, PC_ATOMIC_PY_ADD, PC_ATOMIC_PY_SUB, PC_ATOMIC_PY_AND,
    PC_ATOMIC_PY_OR, PC_ATOMIC_PY_XOR, PC_ATOMIC_PY_NAND, PC_ATOMIC_PY_MAX,
    PC_ATOMIC_PY_MIN
};

#define PC_ATOMIC_PY_RMW_CASE(OP, op)                                       \
    case PC_ATOMIC_PY_##OP:                                                 \
        if (kind == PC_ATOMIC_PY_I64)                                       \
            r.i = pc_atomic_i64_##op((pc_atomic_i64_t *)cell, v.i, order);  \
        else                                                                \
            r.u = pc_atomic_u64_##op((pc_atomic_u64_t *)cell, v.u, order);  \
        break;

PC_INLINE pc_atomic_py_val pc_atomic_py_do_rmw(int kind, int op, void *cell,
                                               pc_atomic_py_val v, int order)
{
    pc_atomic_py_val r;
    r.u = 0;
    if (kind == PC_ATOMIC_PY_BOOL) {
        pc_atomic_bool_t *c = (pc_atomic_bool_t *)cell;
        switch (op) {
        case PC_ATOMIC_PY_SWAP: r.b = pc_atomic_bool_swap(c, v.b, order); break;
        case PC_ATOMIC_PY_AND: r.b = pc_atomic_bool_fetch_and(c, v.b, order); break;
        case PC_ATOMIC_PY_OR: r.b = pc_atomic_bool_fetch_or(c, v.b, order); break;
        case PC_ATOMIC_PY_XOR: r.b = pc_atomic_bool_fetch_xor(c, v.b, order); break;
        default: r.b = pc_atomic_bool_fetch_nand(c, v.b, order); break;
        }
        return r;
    }
    switch (op) {
    PC_ATOMIC_PY_RMW_CASE(SWAP, swap)
    PC_ATOMIC_PY_RMW_CASE(ADD, fetch_add)
    PC_ATOMIC_PY_RMW_CASE(SUB, fetch_sub)
    PC_ATOMIC_PY_RMW_CASE(AND, fetch_and)
    PC_ATOMIC_PY_RMW_CASE(OR, fetch_or)
    PC_ATOMIC_PY_RMW_CASE(XOR, fetch_xor)
    PC_ATOMIC_PY_RMW_CASE(NAND, fetch_nand)
    PC_ATOMIC_PY_RMW_CASE(MAX, fetch_max)
    PC_ATOMIC_PY_RMW_CASE(MIN, fetch_min)
    }
    return r;
}

/* Compare-exchange: success is decided from the C values (the strong form
 * succeeded exactly when the previous value equals `expected`), never by
 * Python's == (an int subclass may define __eq__ as it likes). */
#define PC_ATOMIC_PY_CAS_CASE(K, name, f)                                          \
    case K:                                                                         \
        if (weak) {                                                                 \
            pc_cas_##name##_t r = pc_atomic_##name##_compare_exchange_weak(         \
                (pc_atomic_##name##_t *)cell, expected.f, desired.f, success, failure); \
            prev->f = r.previous;                                                   \
            return r.ok;                                                            \
        }                                                                           \
        prev->f = pc_atomic_##name##_compare_exchange((pc_atomic_##name##_t *)cell,    \
                                                      expected.f, desired.f, success, \
                                                      failure);                     \
        return prev->f == expected.f;

PC_INLINE bool pc_atomic_py_do_cas(int kind, int weak, void *cell,
                                   pc_atomic_py_val expected, pc_atomic_py_val desired,
                                   int success, int failure, pc_atomic_py_val *prev)
{
    switch (kind) {
    PC_ATOMIC_PY_CAS_CASE(PC_ATOMIC_PY_I64, i64, i)
    PC_ATOMIC_PY_CAS_CASE(PC_ATOMIC_PY_U64, u64, u)
    default:
    PC_ATOMIC_PY_CAS_CASE(PC_ATOMIC_PY_BOOL, bool, b)
    }
}

/* (ok, previous): a new tuple, or NULL. */
PC_INLINE PyObject *pc_atomic_py_pair(bool ok, PyObject *prev)
{
    PyObject *t;
    if (prev == NULL)
        return NULL;
    t = PyTuple_New(2);
    if (t == NULL) {
        Py_DECREF(prev);
        return NULL;
    }
    PyTuple_SET_ITEM(t, 0, Py_NewRef(ok ? Py_True : Py_False));
    PyTuple_SET_ITEM(t, 1, prev);
    return t;
}

/* ---------------------------------------------------------------- methods */

/* load(order): parsing and the dispatch on the ordering, out of line. */
PC_COLD PyObject *pc_atomic_py_load_ordered(PyObject *self, int kind,
                                            PyObject *const *args, Py_ssize_t nargs,
                                            PyObject *kwnames)
{
    PyObject *a[1];
    int order;
    if (pc_atomic_py_args("load", args, nargs, kwnames, pc_atomic_py_names_order, 1, 0,
                          a) < 0 ||
        pc_py_order(a[0], PC_PY_LOAD_ORDERS, "a load", &order) < 0)
        return NULL;
    return pc_atomic_py_box(kind,
                            pc_atomic_py_do_load(kind, pc_atomic_py_cell(self, kind), order));
}

/*
 * load(): the commonest call of all, so its wrapper is kept small enough to
 * need no stack frame (a check, one inline load, a tail call to box it);
 * with the parser inlined it saved six registers and cost 8% of the call.
 */
PC_INLINE PyObject *pc_atomic_py_load(PyObject *self, int kind, PyObject *const *args,
                                      Py_ssize_t nargs, PyObject *kwnames)
{
    if (PC_LIKELY(nargs == 0 && kwnames == NULL)) /* load(): SEQ_CST */
        return pc_atomic_py_box(
            kind, pc_atomic_py_do_load_default(kind, pc_atomic_py_cell(self, kind)));
    return pc_atomic_py_load_ordered(self, kind, args, nargs, kwnames);
}

PC_INLINE PyObject *pc_atomic_py_store(PyObject *self, int kind, PyObject *const *args,
                                       Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *a[2];
    pc_atomic_py_val v;
    int order;
    if (pc_atomic_py_args("store", args, nargs, kwnames, pc_atomic_py_names_value, 2, 1,
                          a) < 0 ||
        pc_py_order(a[1], PC_PY_STORE_ORDERS, "a store", &order) < 0 ||
        pc_atomic_py_value(a[0], kind, &v) < 0)
        return NULL;
    pc_atomic_py_do_store(kind, pc_atomic_py_cell(self, kind), v, order);
    Py_RETURN_NONE;
}

PC_INLINE PyObject *pc_atomic_py_fetch(PyObject *self, int kind, int op, const char *fname,
                                       PyObject *const *args, Py_ssize_t nargs,
                                       PyObject *kwnames)
{
    PyObject *a[2];
    pc_atomic_py_val v;
    int order = PC_SEQ_CST;
    if (PC_LIKELY(nargs == 1 && kwnames == NULL)) { /* fetch_add(1): SEQ_CST */
        if (pc_atomic_py_value(args[0], kind, &v) < 0)
            return NULL;
    } else if (pc_atomic_py_args(fname, args, nargs, kwnames, pc_atomic_py_names_value,
                                 2, 1, a) < 0 ||
               pc_py_order(a[1], PC_PY_RMW_ORDERS, pc_atomic_py_rmw, &order) < 0 ||
               pc_atomic_py_value(a[0], kind, &v) < 0) {
        return NULL;
    }
    return pc_atomic_py_box(
        kind, pc_atomic_py_do_rmw(kind, op, pc_atomic_py_cell(self, kind), v, order));
}

PC_INLINE PyObject *pc_atomic_py_cas(PyObject *self, int kind, int weak,
                                     PyObject *const *args, Py_ssize_t nargs,
                                     PyObject *kwnames)
{
    PyObject *a[4];
    pc_atomic_py_val expected, desired, prev;
    int success, failure;
    bool ok;
    if (pc_atomic_py_args(weak ? "compare_exchange_weak" : "compare_exchange", args,
                          nargs, kwnames, pc_atomic_py_names_cas, 4, 2, a) < 0 ||
        pc_py_order(a[2], PC_PY_RMW_ORDERS, pc_atomic_py_rmw, &success) < 0 ||
        pc_py_order(a[3], PC_PY_CAS_FAILURE_ORDERS, pc_atomic_py_failure, &failure) < 0 ||
        pc_atomic_py_value(a[0], kind, &expected) < 0 ||
        pc_atomic_py_value(a[1], kind, &desired) < 0)
        return NULL;
    ok = pc_atomic_py_do_cas(kind, weak, pc_atomic_py_cell(self, kind), expected, desired,
                             success, failure, &prev);
    return pc_atomic_py_pair(ok, pc_atomic_py_box(kind, prev));
}

/* fetch_update: a weak-CAS loop around a Python function.  The function
 * runs with no lock held; the cell is re-validated by every CAS. */
PC_INLINE PyObject *pc_atomic_py_update(PyObject *self, int kind, PyObject *const *args,
                                        Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *a[3];
    pc_atomic_py_val cur, next, prev;
    int set_order, fetch_order;
    void *cell;
    if (pc_atomic_py_args("fetch_update", args, nargs, kwnames, pc_atomic_py_names_update,
                          3, 1, a) < 0 ||
        pc_py_order(a[1], PC_PY_RMW_ORDERS, pc_atomic_py_rmw, &set_order) < 0 ||
        pc_py_order(a[2], PC_PY_CAS_FAILURE_ORDERS, pc_atomic_py_failure, &fetch_order) < 0)
        return NULL;
    cell = pc_atomic_py_cell(self, kind);
    cur = pc_atomic_py_do_load(kind, cell, fetch_order);
    for (;;) {
        PyObject *cur_obj = pc_atomic_py_box(kind, cur), *res;
        int r;
        if (cur_obj == NULL)
            return NULL;
        res = PyObject_CallOneArg(a[0], cur_obj);
        if (res == NULL) {
            Py_DECREF(cur_obj);
            return NULL;
        }
        if (res == Py_None) {
            Py_DECREF(res);
            return pc_atomic_py_pair(false, cur_obj);
        }
        r = pc_atomic_py_value(res, kind, &next);
        Py_DECREF(res);
        if (r < 0) {
            Py_DECREF(cur_obj);
            return NULL;
        }
        if (pc_atomic_py_do_cas(kind, 1, cell, cur, next, set_order, fetch_order, &prev))
            return pc_atomic_py_pair(true, cur_obj);
        Py_DECREF(cur_obj);
        cur = prev;
    }
}

/* The kind of an atomic (its slots are only reached with one). */
static int pc_atomic_py_kind_of(PyObject *self)
{
    int kind;
    for (kind = 0; kind < PC_ATOMIC_PY_KINDS - 1; kind++)
        if (PyObject_TypeCheck(self, pc_atomic_py_kinds[kind].type))
            break;
    return kind;
}

/* The name for messages: the public one for our own types (a view is
 * shown as its base), a subclass's own __name__ otherwise. */
static const char *pc_atomic_py_name(PyObject *self, int kind)
{
    PyTypeObject *tp = Py_TYPE(self);
    const char *dot;
    if (tp == pc_atomic_py_kinds[kind].type || tp == pc_atomic_py_kinds[kind].view_type)
        return pc_atomic_py_kinds[kind].name;
    dot = strrchr(tp->tp_name, '.');
    return dot != NULL ? dot + 1 : tp->tp_name;
}

static PyObject *pc_atomic_py_repr(PyObject *self)
{
    int kind = pc_atomic_py_kind_of(self);
    const char *name = pc_atomic_py_name(self, kind);
    PyObject *v, *r;
    /* relaxed: a snapshot for display */
    v = pc_atomic_py_box(kind, pc_atomic_py_do_load(kind, pc_atomic_py_cell(self, kind),
                                                   PC_RELAXED));
    if (v == NULL)
        return NULL;
    r = PyUnicode_FromFormat("%s(%R)", name, v);
    Py_DECREF(v);
    return r;
}

static PyObject *pc_atomic_py_reduce(PyObject *self, PyObject *unused)
{
    (void)unused;
    PyErr_Format(PyExc_TypeError,
                 "%.100s lives in this process's memory and cannot be pickled; "
                 "place it in shared memory with from_buffer() to share it "
                 "between processes",
                 pc_atomic_py_name(self, pc_atomic_py_kind_of(self)));
    return NULL;
}

/* --------------------------------------------------------- construction */

static PyObject *pc_atomic_py_new(PyTypeObject *type, int kind, PyObject *args,
                                  PyObject *kwds)
{
    static char *kwlist[] = {"value", NULL};
    PyObject *value = NULL, *self;
    pc_atomic_py_val v;
    v.u = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O", kwlist, &value))
        return NULL;
    if (value != NULL && pc_atomic_py_value(value, kind, &v) < 0)
        return NULL;
    self = type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    /* relaxed: the object is not shared yet; handing it to another thread
     * publishes it. */
    pc_atomic_py_do_store(kind, &((pc_atomic_py_t *)self)->cell, v, PC_RELAXED);
    return self;
}

static void pc_atomic_py_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    if (((pc_atomic_py_t *)self)->weaklist != NULL)
        PyObject_ClearWeakRefs(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyObject *pc_atomic_py_view_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    (void)args;
    (void)kwds;
    PyErr_Format(PyExc_TypeError,
                 "cannot create '%.100s' instances: use from_buffer() (or the "
                 "pyconc.ipc shared atomics)",
                 type->tp_name);
    return NULL;
}

static int pc_atomic_py_view_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(((pc_atomic_py_view_t *)self)->view.obj);
    return 0;
}

/* Break a cycle through the buffer: move the value into the object's own
 * cell, point the object at it, then let the buffer go. */
static int pc_atomic_py_view_clear(PyObject *self)
{
    pc_atomic_py_view_t *v = (pc_atomic_py_view_t *)self;
    if (v->view.obj != NULL) {
        /* Every kind is one _Atomic 64-bit word; relaxed: the object is
         * unreachable, so no other thread orders anything by it. */
        uint64_t word = pc_atomic_u64_load((pc_atomic_u64_t *)v->cell, PC_RELAXED);
        pc_atomic_u64_store(&v->base.cell.u64, word, PC_RELAXED);
        v->cell = &v->base.cell;
        PyBuffer_Release(&v->view);
    }
    return 0;
}

static void pc_atomic_py_view_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    pc_atomic_py_view_t *v = (pc_atomic_py_view_t *)self;
    PyObject_GC_UnTrack(self);
    if (v->base.weaklist != NULL)
        PyObject_ClearWeakRefs(self);
    if (v->view.obj != NULL)
        PyBuffer_Release(&v->view);
    tp->tp_free(self);
    Py_DECREF(tp);
}

/* from_buffer(buf, offset=0), a classmethod of every atomic type. */
static PyObject *pc_atomic_py_from_buffer(PyTypeObject *cls, int kind,
                                          PyObject *const *args, Py_ssize_t nargs,
                                          PyObject *kwnames)
{
    const pc_atomic_py_kind *k = &pc_atomic_py_kinds[kind];
    PyObject *a[2], *buf;
    PyTypeObject *make;
    pc_atomic_py_view_t *self;
    const char *what = k->name;
    long long offset = 0;
    uintptr_t address;
    int overflow = 0;
    if (pc_atomic_py_args("from_buffer", args, nargs, kwnames, pc_atomic_py_names_buffer,
                          2, 1, a) < 0)
        return NULL;
    buf = a[0];
    if (cls == k->type || cls == k->view_type) {
        make = k->view_type;
    } else if (PyType_IsSubtype(cls, k->view_type)) {
        make = cls;
        what = cls->tp_name;
    } else {
        PyErr_Format(PyExc_TypeError,
                     "%.100s.from_buffer(): a subclass of %s keeps its value in "
                     "the object; subclass type(%s.from_buffer(...)) for one "
                     "that lives in a buffer",
                     cls->tp_name, k->name, k->name);
        return NULL;
    }
    if (a[1] != NULL) {
        if (!PyLong_Check(a[1]) || PyBool_Check(a[1])) {
            PyErr_Format(PyExc_TypeError, "offset must be an int, not %.100s",
                         Py_TYPE(a[1])->tp_name);
            return NULL;
        }
        offset = PyLong_AsLongLongAndOverflow(a[1], &overflow);
        if (offset == -1 && PyErr_Occurred())
            return NULL;
    }
    if (!PyObject_CheckBuffer(buf)) {
        PyErr_Format(PyExc_TypeError,
                     "%s.from_buffer() needs an object supporting the buffer "
                     "protocol, not %.100s",
                     what, Py_TYPE(buf)->tp_name);
        return NULL;
    }
    self = (pc_atomic_py_view_t *)make->tp_alloc(make, 0);
    if (self == NULL)
        return NULL;
    /* Exported into the object itself (the exporter may point the view's
     * shape at the view's own fields); released by dealloc or clear. */
    if (PyObject_GetBuffer(buf, &self->view, PyBUF_FULL_RO) < 0)
        goto fail;
    if (self->view.readonly) {
        PyErr_Format(PyExc_TypeError,
                     "%s.from_buffer() needs a writable buffer; %.100s is read-only",
                     what, Py_TYPE(buf)->tp_name);
        goto fail;
    }
    if (!PyBuffer_IsContiguous(&self->view, 'C')) {
        PyErr_Format(PyExc_ValueError, "%s.from_buffer() needs a C-contiguous buffer",
                     what);
        goto fail;
    }
    if (self->view.format != NULL && strchr(self->view.format, 'O') != NULL) {
        PyErr_Format(PyExc_TypeError,
                     "%s.from_buffer() needs a buffer of plain bytes, not one of "
                     "Python objects (format '%s')",
                     what, self->view.format);
        goto fail;
    }
    if (overflow) {
        PyErr_Format(PyExc_ValueError,
                     "%s needs 8 bytes at offset %R, but the buffer holds %zd", what,
                     a[1], self->view.len);
        goto fail;
    }
    if (offset < 0 || offset > (long long)self->view.len - 8) {
        PyErr_Format(PyExc_ValueError,
                     "%s needs 8 bytes at offset %lld, but the buffer holds %zd", what,
                     offset, self->view.len);
        goto fail;
    }
    address = (uintptr_t)self->view.buf + (uintptr_t)offset;
    if (address % 8 != 0) {
        PyErr_Format(PyExc_ValueError,
                     "%s needs 8-byte alignment; the buffer's address plus offset "
                     "%lld is misaligned by %d bytes",
                     what, offset, (int)(address % 8));
        goto fail;
    }
    self->cell = (void *)address;
    return (PyObject *)self;
fail:
    Py_DECREF(self);
    return NULL;
}

/* ------------------------------------------------------------ the types */

#define PC_ATOMIC_PY_SIG_ORDER "order=pyconc.Ordering.SEQ_CST"

/* One wrapper per method and kind: the kind (and op) as constants. */
#define PC_ATOMIC_PY_WRAP(kname, K)                                                   \
    static PyObject *pc_atomic_py_##kname##_load(PyObject *self, PyObject *const *args, \
                                                 Py_ssize_t nargs, PyObject *kwnames)   \
    {                                                                                 \
        return pc_atomic_py_load(self, K, args, nargs, kwnames);                      \
    }                                                                                 \
    static PyObject *pc_atomic_py_##kname##_store(PyObject *self, PyObject *const *args, \
                                                  Py_ssize_t nargs, PyObject *kwnames)   \
    {                                                                                 \
        return pc_atomic_py_store(self, K, args, nargs, kwnames);                     \
    }                                                                                 \
    static PyObject *pc_atomic_py_##kname##_cas(PyObject *self, PyObject *const *args, \
                                                Py_ssize_t nargs, PyObject *kwnames)   \
    {                                                                                 \
        return pc_atomic_py_cas(self, K, 0, args, nargs, kwnames);                    \
    }                                                                                 \
    static PyObject *pc_atomic_py_##kname##_cas_weak(PyObject *self,                  \
                                                     PyObject *const *args,           \
                                                     Py_ssize_t nargs, PyObject *kwnames) \
    {                                                                                 \
        return pc_atomic_py_cas(self, K, 1, args, nargs, kwnames);                    \
    }                                                                                 \
    static PyObject *pc_atomic_py_##kname##_update(PyObject *self, PyObject *const *args, \
                                                   Py_ssize_t nargs, PyObject *kwnames)   \
    {                                                                                 \
        return pc_atomic_py_update(self, K, args, nargs, kwnames);                    \
    }                                                                                 \
    static PyObject *pc_atomic_py_##kname##_from_buffer(PyObject *cls,                \
                                                        PyObject *const *args,        \
                                                        Py_ssize_t nargs,             \
                                                        PyObject *kwnames)            \
    {                                                                                 \
        return pc_atomic_py_from_buffer((PyTypeObject *)cls, K, args, nargs, kwnames); \
    }                                                                                 \
    static PyObject *pc_atomic_py_##kname##_new(PyTypeObject *type, PyObject *args,   \
                                                PyObject *kwds)                       \
    {                                                                                 \
        return pc_atomic_py_new(type, K, args, kwds);                                 \
    }

#define PC_ATOMIC_PY_WRAP_FETCH(kname, K, op, OP)                                     \
    static PyObject *pc_atomic_py_##kname##_##op(PyObject *self, PyObject *const *args, \
                                                 Py_ssize_t nargs, PyObject *kwnames)   \
    {                                                                                 \
        return pc_atomic_py_fetch(self, K, PC_ATOMIC_PY_##OP, #op, args, nargs,       \
                                  kwnames);                                           \
    }

PC_ATOMIC_PY_WRAP(i64, PC_ATOMIC_PY_I64)
PC_ATOMIC_PY_WRAP(u64, PC_ATOMIC_PY_U64)
PC_ATOMIC_PY_WRAP(abool, PC_ATOMIC_PY_BOOL)

#define PC_ATOMIC_PY_WRAP_INT_FETCHES(kname, K)                                       \
    PC_ATOMIC_PY_WRAP_FETCH(kname, K, swap, SWAP)                                     \
    PC_ATOMIC_PY_WRAP_FETCH(kname, K, fetch_add, ADD)                                 \
    PC_ATOMIC_PY_WRAP_FETCH(kname, K, fetch_sub, SUB)                                 \
    PC_ATOMIC_PY_WRAP_FETCH(kname, K, fetch_and, AND)                                 \
    PC_ATOMIC_PY_WRAP_FETCH(kname, K, fetch_or, OR)                                   \
    PC_ATOMIC_PY_WRAP_FETCH(kname, K, fetch_xor, XOR)                                 \
    PC_ATOMIC_PY_WRAP_FETCH(kname, K, fetch_nand, NAND)                               \
    PC_ATOMIC_PY_WRAP_FETCH(kname, K, fetch_max, MAX)                                 \
    PC_ATOMIC_PY_WRAP_FETCH(kname, K, fetch_min, MIN)

PC_ATOMIC_PY_WRAP_INT_FETCHES(i64, PC_ATOMIC_PY_I64)
PC_ATOMIC_PY_WRAP_INT_FETCHES(u64, PC_ATOMIC_PY_U64)
PC_ATOMIC_PY_WRAP_FETCH(abool, PC_ATOMIC_PY_BOOL, swap, SWAP)
PC_ATOMIC_PY_WRAP_FETCH(abool, PC_ATOMIC_PY_BOOL, fetch_and, AND)
PC_ATOMIC_PY_WRAP_FETCH(abool, PC_ATOMIC_PY_BOOL, fetch_or, OR)
PC_ATOMIC_PY_WRAP_FETCH(abool, PC_ATOMIC_PY_BOOL, fetch_xor, XOR)
PC_ATOMIC_PY_WRAP_FETCH(abool, PC_ATOMIC_PY_BOOL, fetch_nand, NAND)

#define PC_ATOMIC_PY_FAST (METH_FASTCALL | METH_KEYWORDS)
#define PC_ATOMIC_PY_METH(kname, name, fn, doc) \
    {name, (PyCFunction)(void (*)(void))pc_atomic_py_##kname##_##fn, PC_ATOMIC_PY_FAST, doc}

/* Docstrings ({T}: the value's type). */
#define PC_ATOMIC_PY_DOC_LOAD(T)                                                  \
    "load($self, /, " PC_ATOMIC_PY_SIG_ORDER ")\n--\n\n"                        \
    "Return the current value (" T ").  *order* is RELAXED, ACQUIRE or\n"       \
    "SEQ_CST; RELEASE and ACQ_REL raise ValueError (a load publishes nothing)."
#define PC_ATOMIC_PY_DOC_STORE                                                    \
    "store($self, /, value, " PC_ATOMIC_PY_SIG_ORDER ")\n--\n\n"                \
    "Set the value.  *order* is RELAXED, RELEASE or SEQ_CST; ACQUIRE and\n"     \
    "ACQ_REL raise ValueError (a store acquires nothing)."
#define PC_ATOMIC_PY_DOC_SWAP(T)                                                  \
    "swap($self, /, value, " PC_ATOMIC_PY_SIG_ORDER ")\n--\n\n"                 \
    "Set the value and return the previous one (" T "), in one atomic step."
#define PC_ATOMIC_PY_DOC_FETCH(op, what, T)                                       \
    op "($self, /, value, " PC_ATOMIC_PY_SIG_ORDER ")\n--\n\n" what             \
    ", and return the previous value (" T "), in one atomic\n"                  \
    "step.  *order* may be any Ordering."
#define PC_ATOMIC_PY_DOC_CAS(T)                                                   \
    "compare_exchange($self, /, current, new, success=pyconc.Ordering.SEQ_CST,\n"      \
    "                 failure=pyconc.Ordering.SEQ_CST)\n--\n\n"                          \
    "If the value equals *current*, replace it with *new*; either way in\n"     \
    "one atomic step.  Returns ``(True, previous)`` when it replaced\n"         \
    "(previous == current) and ``(False, previous)`` otherwise; previous\n"     \
    "is " T ".  Success is what the C compare-exchange reports, whatever\n"     \
    "*current*'s own ``__eq__`` says (an int subclass may define it).\n\n"      \
    "*success* orders the read-modify-write when it replaces; *failure*\n"      \
    "orders the load when it does not, and may not be RELEASE or ACQ_REL\n"     \
    "(ValueError).  A failure ordering stronger than the success ordering\n"    \
    "is allowed, as in Rust: the success ordering is strengthened to\n"         \
    "match."
#define PC_ATOMIC_PY_DOC_CAS_WEAK                                                 \
    "compare_exchange_weak($self, /, current, new, success=pyconc.Ordering.SEQ_CST,\n" \
    "                      failure=pyconc.Ordering.SEQ_CST)\n--\n\n"                     \
    "As compare_exchange(), but may fail spuriously, returning\n"               \
    "``(False, previous)`` with previous == current, on machines whose\n"       \
    "compare-and-swap is load-linked/store-conditional (Arm, POWER,\n"          \
    "RISC-V); it is C11's ``atomic_compare_exchange_weak``.  Use it in a\n"     \
    "retry loop, where it can be cheaper than the strong form."
#define PC_ATOMIC_PY_DOC_UPDATE                                                   \
    "fetch_update($self, /, fn, set_order=pyconc.Ordering.SEQ_CST,\n"                  \
    "             fetch_order=pyconc.Ordering.SEQ_CST)\n--\n\n"                          \
    "Update the value with a function, retrying until no other thread\n"        \
    "interferes: read the value (with *fetch_order*), call ``fn(value)``,\n"    \
    "and store its result with compare_exchange_weak (*set_order* on\n"         \
    "success, *fetch_order* on failure); if the value changed meanwhile,\n"     \
    "call *fn* again with the new value.  *fn* may therefore run more\n"        \
    "than once and must not have side effects that matter.\n\n"                 \
    "Returns ``(True, previous)`` once a result is stored, or\n"                \
    "``(False, current)`` as soon as *fn* returns None."
#define PC_ATOMIC_PY_DOC_FROM_BUFFER                                              \
    "from_buffer($type, /, buf, offset=0)\n--\n\n"                              \
    "An atomic living in the 8 bytes at *offset* of *buf*, which must be\n"     \
    "writable (bytearray, mmap, ``multiprocessing.shared_memory``\n"            \
    "``.buf``, a writable memoryview), C-contiguous and 8-byte aligned\n"       \
    "there.  The value is whatever those bytes hold (native byte order);\n"     \
    "nothing is written.  Processes that map the same memory share the\n"      \
    "atomic.  The buffer is kept alive, and kept exported (an mmap or\n"        \
    "SharedMemory cannot be closed), for as long as the atomic exists.\n"       \
    "The result is an instance of a subtype (the same methods) that holds\n"    \
    "the buffer.\n\n"                                                          \
    "Raises TypeError for an object that is not a writable buffer of\n"        \
    "bytes, and ValueError for a misaligned or too short one."

#define PC_ATOMIC_PY_COMMON_METHODS(kname, T)                                     \
    PC_ATOMIC_PY_METH(kname, "load", load, PC_ATOMIC_PY_DOC_LOAD(T)),            \
    PC_ATOMIC_PY_METH(kname, "store", store, PC_ATOMIC_PY_DOC_STORE),            \
    PC_ATOMIC_PY_METH(kname, "swap", swap, PC_ATOMIC_PY_DOC_SWAP(T)),            \
    PC_ATOMIC_PY_METH(kname, "compare_exchange", cas, PC_ATOMIC_PY_DOC_CAS(T)),  \
    PC_ATOMIC_PY_METH(kname, "compare_exchange_weak", cas_weak,                  \
                      PC_ATOMIC_PY_DOC_CAS_WEAK),                                \
    PC_ATOMIC_PY_METH(kname, "fetch_update", update, PC_ATOMIC_PY_DOC_UPDATE),   \
    PC_ATOMIC_PY_METH(kname, "fetch_and", fetch_and,                             \
                      PC_ATOMIC_PY_DOC_FETCH("fetch_and",                        \
                                             "Bitwise-and the value with *value*", T)), \
    PC_ATOMIC_PY_METH(kname, "fetch_or", fetch_or,                               \
                      PC_ATOMIC_PY_DOC_FETCH("fetch_or",                         \
                                             "Bitwise-or the value with *value*", T)), \
    PC_ATOMIC_PY_METH(kname, "fetch_xor", fetch_xor,                             \
                      PC_ATOMIC_PY_DOC_FETCH("fetch_xor",                        \
                                             "Bitwise-xor the value with *value*", T)), \
    PC_ATOMIC_PY_METH(kname, "fetch_nand", fetch_nand,                           \
                      PC_ATOMIC_PY_DOC_FETCH("fetch_nand",                       \
                                             "Replace the value with ``not (value and arg)``" \
                                             " (bitwise for ints)", T)),         \
    {"from_buffer", (PyCFunction)(void (*)(void))pc_atomic_py_##kname##_from_buffer, \
     PC_ATOMIC_PY_FAST | METH_CLASS, PC_ATOMIC_PY_DOC_FROM_BUFFER},              \
    {"__reduce__", pc_atomic_py_reduce, METH_NOARGS,                             \
     "__reduce__($self, /)\n--\n\nRefused: an atomic lives in this process's memory."}

#define PC_ATOMIC_PY_INT_METHODS(kname)                                           \
    PC_ATOMIC_PY_COMMON_METHODS(kname, "an int"),                                \
    PC_ATOMIC_PY_METH(kname, "fetch_add", fetch_add,                             \
                      PC_ATOMIC_PY_DOC_FETCH("fetch_add",                        \
                                             "Add *value* (wrapping around on overflow)", \
                                             "an int")),                         \
    PC_ATOMIC_PY_METH(kname, "fetch_sub", fetch_sub,                             \
                      PC_ATOMIC_PY_DOC_FETCH("fetch_sub",                        \
                                             "Subtract *value* (wrapping around on overflow)", \
                                             "an int")),                         \
    PC_ATOMIC_PY_METH(kname, "fetch_max", fetch_max,                             \
                      PC_ATOMIC_PY_DOC_FETCH("fetch_max",                        \
                                             "Replace the value with the larger of it and *value*", \
                                             "an int")),                         \
    PC_ATOMIC_PY_METH(kname, "fetch_min", fetch_min,                             \
                      PC_ATOMIC_PY_DOC_FETCH("fetch_min",                        \
                                             "Replace the value with the smaller of it and *value*", \
                                             "an int"))

static PyMethodDef pc_atomic_py_i64_methods[] = {
    PC_ATOMIC_PY_INT_METHODS(i64), {NULL, NULL, 0, NULL}};
static PyMethodDef pc_atomic_py_u64_methods[] = {
    PC_ATOMIC_PY_INT_METHODS(u64), {NULL, NULL, 0, NULL}};
static PyMethodDef pc_atomic_py_abool_methods[] = {
    PC_ATOMIC_PY_COMMON_METHODS(abool, "a bool"), {NULL, NULL, 0, NULL}};

static PyMemberDef pc_atomic_py_members[] = {
    {"__weaklistoffset__", PC_ATOMIC_PY_T_SSIZE, offsetof(pc_atomic_py_t, weaklist),
     PC_ATOMIC_PY_READONLY, NULL},
    {NULL, 0, 0, 0, NULL}};

#define PC_ATOMIC_PY_THREADS                                                      \
    "\n\nThread safety without the GIL: the value is only ever read and\n"     \
    "written by C11 atomic operations on the cell; nothing else in the\n"      \
    "object changes after construction, and the object is immutable (no\n"    \
    "attribute can be set, __init__ changes nothing).\n\n"                     \
    "Memory: 32 bytes per object on 64-bit CPython, not padded to a cache\n"  \
    "line (Rust's atomics leave that to crossbeam's CachePadded); an atomic\n" \
    "hammered by several threads can be given a line of its own with\n"      \
    "from_buffer() at a 128-byte stride."

static const char pc_atomic_py_i64_doc[] =
    "AtomicInt(value=0)\n--\n\n"
    "A signed 64-bit integer with atomic operations, Rust's ``AtomicI64``.\n"
    "Arithmetic wraps around in two's complement, as in C11 and Rust:\n"
    "``AtomicInt(2**63 - 1).fetch_add(1)`` leaves ``-2**63``.  Arguments\n"
    "outside [-2**63, 2**63) raise OverflowError; non-integers TypeError.\n\n"
    "Every operation takes an ``order`` (default ``Ordering.SEQ_CST``);\n"
    "read-modify-write operations return the previous value." PC_ATOMIC_PY_THREADS;
static const char pc_atomic_py_u64_doc[] =
    "AtomicUInt(value=0)\n--\n\n"
    "An unsigned 64-bit integer with atomic operations, Rust's ``AtomicU64``.\n"
    "Arithmetic is modulo 2**64: ``AtomicUInt(0).fetch_sub(1)`` leaves\n"
    "``2**64 - 1``.  Arguments outside [0, 2**64) raise OverflowError;\n"
    "non-integers TypeError." PC_ATOMIC_PY_THREADS;
static const char pc_atomic_py_abool_doc[] =
    "AtomicBool(value=False)\n--\n\n"
    "A boolean with atomic operations, Rust's ``AtomicBool``.  Values are\n"
    "bools (0 and 1 are accepted as False and True; other ints raise\n"
    "OverflowError, other types TypeError).  It occupies 8 bytes, like the\n"
    "integer types, so that from_buffer() layouts are uniform." PC_ATOMIC_PY_THREADS;

static const char pc_atomic_py_view_doc[] =
    "An atomic whose cell lives in a buffer (what from_buffer() returns):\n"
    "the methods of its base class, on the 8 bytes it was given.  It keeps\n"
    "the buffer exported while it exists.\n\n"
    "Thread safety without the GIL: as its base class; the buffer reference\n"
    "is set before the object is returned and released only when it dies.";

#define PC_ATOMIC_PY_SPECS(kname, Name)                                               \
    static PyType_Slot pc_atomic_py_##kname##_slots[] = {                             \
        {Py_tp_new, (void *)pc_atomic_py_##kname##_new},                              \
        {Py_tp_dealloc, (void *)pc_atomic_py_dealloc},                                \
        {Py_tp_repr, (void *)pc_atomic_py_repr},                                      \
        {Py_tp_methods, pc_atomic_py_##kname##_methods},                              \
        {Py_tp_members, pc_atomic_py_members},                                        \
        {Py_tp_doc, (void *)pc_atomic_py_##kname##_doc},                              \
        {0, NULL}};                                                                   \
    static PyType_Spec pc_atomic_py_##kname##_spec = {                                \
        "pyconc.atomic." Name, sizeof(pc_atomic_py_t), 0,                             \
        Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_IMMUTABLETYPE,          \
        pc_atomic_py_##kname##_slots};                                                \
    static PyType_Slot pc_atomic_py_##kname##_view_slots[] = {                        \
        {Py_tp_new, (void *)pc_atomic_py_view_new},                                   \
        {Py_tp_dealloc, (void *)pc_atomic_py_view_dealloc},                           \
        {Py_tp_free, (void *)PyObject_GC_Del},                                        \
        {Py_tp_traverse, (void *)pc_atomic_py_view_traverse},                         \
        {Py_tp_clear, (void *)pc_atomic_py_view_clear},                               \
        {Py_tp_doc, (void *)pc_atomic_py_view_doc},                                   \
        {0, NULL}};                                                                   \
    static PyType_Spec pc_atomic_py_##kname##_view_spec = {                           \
        "pyconc.atomic." Name "View", sizeof(pc_atomic_py_view_t), 0,                 \
        Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_IMMUTABLETYPE |         \
            Py_TPFLAGS_HAVE_GC,                                                       \
        pc_atomic_py_##kname##_view_slots};

PC_ATOMIC_PY_SPECS(i64, "AtomicInt")
PC_ATOMIC_PY_SPECS(u64, "AtomicUInt")
PC_ATOMIC_PY_SPECS(abool, "AtomicBool")

/* ----------------------------------------------------------------- fence */

static PyObject *pc_atomic_py_fence(PyObject *module, PyObject *const *args,
                                    Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *a[1];
    int order;
    (void)module;
    if (pc_atomic_py_args("fence", args, nargs, kwnames, pc_atomic_py_names_order, 1, 0,
                          a) < 0 ||
        pc_py_order(a[0], PC_PY_FENCE_ORDERS, "a fence", &order) < 0)
        return NULL;
    pc_atomic_fence(order);
    Py_RETURN_NONE;
}

static PyMethodDef pc_atomic_py_fence_def = {
    "fence", (PyCFunction)(void (*)(void))pc_atomic_py_fence, PC_ATOMIC_PY_FAST,
    "fence(" PC_ATOMIC_PY_SIG_ORDER ")\n--\n\n"
    "A memory fence (C11 ``atomic_thread_fence``, Rust's ``fence``): orders\n"
    "the memory accesses around it as *order* says.  A RELAXED fence would\n"
    "order nothing and raises ValueError, as Rust's panics."};

/* ------------------------------------------------------------------ init */

static int pc_atomic_py_add(PyObject *m, PyType_Spec *spec, PyObject *base,
                            PyTypeObject **out)
{
    PyObject *tp = base == NULL ? PyType_FromSpec(spec)
                                : PyType_FromSpecWithBases(spec, base);
    const char *dot = strrchr(spec->name, '.');
    if (tp == NULL)
        return -1;
    if (PyModule_AddObject(m, dot + 1, tp) < 0) {
        Py_DECREF(tp);
        return -1;
    }
    *out = (PyTypeObject *)tp; /* borrowed: the module keeps it */
    return 0;
}

/* Adds AtomicInt, AtomicUInt, AtomicBool, their View subtypes and fence()
 * to pyconc._core. */
static int pc_atomic_py_init(PyObject *m)
{
    PyType_Spec *specs[PC_ATOMIC_PY_KINDS][2] = {
        {&pc_atomic_py_i64_spec, &pc_atomic_py_i64_view_spec},
        {&pc_atomic_py_u64_spec, &pc_atomic_py_u64_view_spec},
        {&pc_atomic_py_abool_spec, &pc_atomic_py_abool_view_spec},
    };
    PyObject *modname, *fence;
    int kind, r;
    for (kind = 0; kind < PC_ATOMIC_PY_KINDS; kind++) {
        pc_atomic_py_kind *k = &pc_atomic_py_kinds[kind];
        if (pc_atomic_py_add(m, specs[kind][0], NULL, &k->type) < 0 ||
            pc_atomic_py_add(m, specs[kind][1], (PyObject *)k->type, &k->view_type) < 0)
            return -1;
    }
    modname = PyUnicode_FromString("pyconc.atomic");
    if (modname == NULL)
        return -1;
    fence = PyCFunction_NewEx(&pc_atomic_py_fence_def, NULL, modname);
    Py_DECREF(modname);
    if (fence == NULL)
        return -1;
    r = PyModule_AddObject(m, "fence", fence);
    if (r < 0)
        Py_DECREF(fence);
    return r;
}

#endif /* PC_ATOMIC_PY_H */
