/*
 * pyglue/pc_atomicref_py.h - pyconc.AtomicRef: an atomic reference to a
 * Python object (Rust's AtomicPtr, cereggii's AtomicRef).
 *
 * What it must guarantee is about reference counts, not bits: a load that
 * races with a swap must never read an object the swap has already let go
 * of.  Rust's AtomicPtr can be a bare word because it owns nothing; here
 * the reference the cell holds is a strong one, so "read the pointer" and
 * "take a reference to it" must be one step with respect to every writer.
 *
 *   - With a GIL (CPython <= 3.12, and 3.13+ default builds), every method
 *     runs its read-and-incref (load), exchange (store, swap) or
 *     compare-and-exchange holding the GIL, with no call in between that
 *     could release it, so each is one atomic step: nothing else runs
 *     Python, or touches the cell, in the middle.
 *   - Free-threaded builds: the same steps run inside the AtomicRef's
 *     critical section (PC_PY_BEGIN_CRITICAL, CPython's per-object lock),
 *     as CPython's own containers guard their items.  A load increments
 *     the reference count before it leaves the section, and a writer drops
 *     the old reference only after it leaves its own, so a loaded object
 *     is always alive.  (Lock-free loads, as CPython's list does with
 *     _Py_TryIncref and delayed frees, need internal APIs; untested here.)
 *
 * Either way every operation on one AtomicRef is linearizable and at least
 * acquire-release (the GIL or the section is a lock), which is why the
 * methods take no Ordering: a weaker one could not be honoured without
 * breaking reference counts, and a stronger one changes nothing.  Old
 * values are dropped after the step, so a __del__ that touches the
 * AtomicRef cannot deadlock.
 */
#ifndef PC_ATOMICREF_PY_H
#define PC_ATOMICREF_PY_H

#include <structmember.h>

#include "pc_atomic_py.h" /* pc_atomic_py_pair: (ok, previous) */

typedef struct {
    PyObject_HEAD
    PyObject *value; /* strong, never NULL (a GC clear leaves None) */
    PyObject *weakrefs;
} pc_atomicref_py_t;

static PyTypeObject *pc_atomicref_py_type;

/* The value, a new reference: the read and the incref in one step. */
PC_INLINE PyObject *pc_atomicref_py_get(pc_atomicref_py_t *r)
{
    PyObject *v;
    PC_PY_BEGIN_CRITICAL((PyObject *)r);
    v = Py_NewRef(r->value);
    PC_PY_END_CRITICAL();
    return v;
}

/* Put a new reference to `value` in the cell; the old one (a reference the
 * caller now owns; None if cleared) is returned. */
PC_INLINE PyObject *pc_atomicref_py_exchange(pc_atomicref_py_t *r, PyObject *value)
{
    PyObject *old;
    Py_INCREF(value);
    PC_PY_BEGIN_CRITICAL((PyObject *)r);
    old = r->value;
    r->value = value;
    PC_PY_END_CRITICAL();
    return old;
}

/* Compare (by identity) and exchange: 1 if `current` was the value and
 * `new` replaced it; *prev receives the value seen (a new reference). */
PC_INLINE int pc_atomicref_py_cas(pc_atomicref_py_t *r, PyObject *current, PyObject *new,
                                  PyObject **prev)
{
    int ok;
    PyObject *seen;
    PC_PY_BEGIN_CRITICAL((PyObject *)r);
    seen = r->value;
    ok = seen == current;
    if (ok) {
        Py_INCREF(new);
        r->value = new; /* the cell's reference to `seen` moves to *prev */
    } else {
        Py_INCREF(seen);
    }
    PC_PY_END_CRITICAL();
    *prev = seen;
    return ok;
}

/* ---------------------------------------------------------------- methods */

static PyObject *pc_atomicref_py_load(PyObject *self, PyObject *unused)
{
    (void)unused;
    return pc_atomicref_py_get((pc_atomicref_py_t *)self);
}

static PyObject *pc_atomicref_py_store(PyObject *self, PyObject *value)
{
    Py_DECREF(pc_atomicref_py_exchange((pc_atomicref_py_t *)self, value));
    Py_RETURN_NONE;
}

static PyObject *pc_atomicref_py_swap(PyObject *self, PyObject *value)
{
    return pc_atomicref_py_exchange((pc_atomicref_py_t *)self, value);
}

static PyObject *pc_atomicref_py_compare_exchange(PyObject *self, PyObject *const *args,
                                                  Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"current", "new"};
    PyObject *a[2], *prev;
    int ok;
    if (PC_LIKELY(nargs == 2 && kwnames == NULL)) {
        a[0] = args[0];
        a[1] = args[1];
    } else if (pc_py_parse_args("compare_exchange", args, nargs, kwnames, names, 2, 2, a) < 0) {
        return NULL;
    }
    ok = pc_atomicref_py_cas((pc_atomicref_py_t *)self, a[0], a[1], &prev);
    return pc_atomic_py_pair(ok, prev);
}

static PyObject *pc_atomicref_py_fetch_update(PyObject *self, PyObject *fn)
{
    pc_atomicref_py_t *r = (pc_atomicref_py_t *)self;
    PyObject *cur = pc_atomicref_py_get(r), *new, *prev;
    if (!PyCallable_Check(fn)) {
        Py_DECREF(cur);
        return PyErr_Format(PyExc_TypeError, "fetch_update() takes a callable, not %.100s",
                            Py_TYPE(fn)->tp_name);
    }
    for (;;) {
        new = PyObject_CallOneArg(fn, cur);
        if (new == NULL) {
            Py_DECREF(cur);
            return NULL;
        }
        if (new == Py_None) {
            Py_DECREF(new);
            return pc_atomic_py_pair(false, cur);
        }
        if (pc_atomicref_py_cas(r, cur, new, &prev)) {
            Py_DECREF(new);
            Py_DECREF(prev); /* the same object as cur */
            return pc_atomic_py_pair(true, cur);
        }
        /* Another thread stored meanwhile: call fn again on what it left. */
        Py_DECREF(new);
        Py_DECREF(cur);
        cur = prev;
    }
}

static PyObject *pc_atomicref_py_new(PyTypeObject *tp, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"value", NULL};
    PyObject *value = Py_None;
    pc_atomicref_py_t *r;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:AtomicRef", kwlist, &value))
        return NULL;
    r = (pc_atomicref_py_t *)tp->tp_alloc(tp, 0);
    if (r == NULL)
        return NULL;
    r->value = Py_NewRef(value);
    r->weakrefs = NULL;
    return (PyObject *)r;
}

static int pc_atomicref_py_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(((pc_atomicref_py_t *)self)->value);
    return 0;
}

/* A GC clear breaks the cycle by referring to None, so that the value is
 * never NULL and load() needs no test. */
static int pc_atomicref_py_clear(PyObject *self)
{
    Py_DECREF(pc_atomicref_py_exchange((pc_atomicref_py_t *)self, Py_None));
    return 0;
}

/* The final release: the cell's reference, whatever it is. */
static int pc_atomicref_py_drop(PyObject *self)
{
    Py_CLEAR(((pc_atomicref_py_t *)self)->value);
    return 0;
}

static void pc_atomicref_py_dealloc(PyObject *self)
{
    pc_py_gc_dealloc(self, ((pc_atomicref_py_t *)self)->weakrefs, pc_atomicref_py_drop);
}

static PyObject *pc_atomicref_py_repr(PyObject *self)
{
    PyObject *v, *s;
    int rec = Py_ReprEnter(self);
    if (rec != 0)
        return rec > 0 ? PyUnicode_FromString("AtomicRef(...)") : NULL;
    v = pc_atomicref_py_get((pc_atomicref_py_t *)self);
    s = PyUnicode_FromFormat("AtomicRef(%R)", v);
    Py_DECREF(v);
    Py_ReprLeave(self);
    return s;
}

static PyMethodDef pc_atomicref_py_methods[] = {
    {"load", pc_atomicref_py_load, METH_NOARGS,
     "load($self, /)\n--\n\n"
     "The object referred to (a new reference, taken in the same step as\n"
     "the read: a swap racing with it cannot free it first)."},
    {"store", pc_atomicref_py_store, METH_O,
     "store($self, value, /)\n--\n\n"
     "Refer to *value*.  The old object is released after the store."},
    {"swap", pc_atomicref_py_swap, METH_O,
     "swap($self, value, /)\n--\n\n"
     "Refer to *value* and return the object referred to before, in one\n"
     "atomic step."},
    {"compare_exchange", (PyCFunction)(void (*)(void))pc_atomicref_py_compare_exchange,
     METH_FASTCALL | METH_KEYWORDS,
     "compare_exchange($self, /, current, new)\n--\n\n"
     "If the object referred to *is* *current* (identity, as Rust's\n"
     "AtomicPtr compares addresses; ``==`` is never called), refer to *new*;\n"
     "either way in one atomic step.  Returns ``(True, previous)`` when it\n"
     "replaced and ``(False, previous)`` otherwise.  It never fails\n"
     "spuriously, so there is no separate weak form."},
    {"fetch_update", pc_atomicref_py_fetch_update, METH_O,
     "fetch_update($self, fn, /)\n--\n\n"
     "Replace the object with ``fn(current)``, retrying if another thread\n"
     "stored meanwhile (*fn* may then run again, with the newer object).\n"
     "Returns ``(True, previous)`` once a result is stored, or\n"
     "``(False, current)`` as soon as *fn* returns None (to store None, use\n"
     "store or compare_exchange)."},
    PC_PY_NO_COPY_METHODS,
    {"__class_getitem__", Py_GenericAlias, METH_O | METH_CLASS,
     "__class_getitem__($cls, item, /)\n--\n\n"
     "AtomicRef[T]: the type of an AtomicRef to a T (for type hints)."},
    {NULL, NULL, 0, NULL}};

static PyMemberDef pc_atomicref_py_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(pc_atomicref_py_t, weakrefs), READONLY, NULL},
    {NULL, 0, 0, 0, NULL}};

static PyType_Slot pc_atomicref_py_slots[] = {
    {Py_tp_new, (void *)pc_atomicref_py_new},
    {Py_tp_dealloc, (void *)pc_atomicref_py_dealloc},
    {Py_tp_traverse, (void *)pc_atomicref_py_traverse},
    {Py_tp_clear, (void *)pc_atomicref_py_clear},
    {Py_tp_repr, (void *)pc_atomicref_py_repr},
    {Py_tp_methods, pc_atomicref_py_methods},
    {Py_tp_members, pc_atomicref_py_members},
    {Py_tp_doc,
     (void *)"AtomicRef(value=None)\n--\n\n"
             "An atomic reference to a Python object, Rust's ``AtomicPtr<T>``\n"
             "for objects (and cereggii's ``AtomicRef``)::\n\n"
             "    config = AtomicRef({\"debug\": False})\n"
             "    config.store({\"debug\": True})       # readers see one dict or the other\n"
             "    ok, old = config.compare_exchange(old, new)  # by identity\n\n"
             "Every operation is one atomic step and linearizable; the methods\n"
             "take no Ordering because a reference count leaves no room for a\n"
             "weaker one (a load must take its reference before any writer can\n"
             "drop the cell's).  Objects are compared by identity (``is``).\n\n"
             "Thread safety without the GIL: every step runs in the AtomicRef's\n"
             "critical section, and an old object is released only after it;\n"
             "see docs/free-threading.md."},
    {0, NULL}};

static PyType_Spec pc_atomicref_py_spec = {
    "pyconc.atomic.AtomicRef", sizeof(pc_atomicref_py_t), 0,
    PC_PY_TPFLAGS | Py_TPFLAGS_HAVE_GC, pc_atomicref_py_slots};

static int pc_atomicref_py_init(PyObject *m)
{
    pc_atomicref_py_type = pc_py_add_type(m, &pc_atomicref_py_spec);
    return pc_atomicref_py_type == NULL ? -1 : 0;
}

#endif /* PC_ATOMICREF_PY_H */
