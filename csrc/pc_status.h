/*
 * pc_status.h - the one result type of pyconc's operations.
 *
 * Every operation that can do something other than succeed reports one of
 * these, in the manner of CPython's PyLockStatus (PY_LOCK_FAILURE,
 * PY_LOCK_ACQUIRED, PY_LOCK_INTR) and Rust's TryRecvError / TrySendError.
 * The Python glue turns each into its exception in one table
 * (pyglue/pc_py.h, pc_py_raise), so that a closed handle or a timeout
 * raises the same exception class whatever the primitive.
 *
 * PC_OK is 0, so `if (st)` reads "if it did not succeed".
 */
#ifndef PC_STATUS_H
#define PC_STATUS_H

typedef enum pc_status {
    PC_OK = 0,          /* done: the lock is held, the value moved */
    PC_AGAIN,           /* not now (lock held, nothing to receive, no room):
                         * a try-operation's "would block"; wait and retry */
    PC_EMPTY,           /* a non-blocking receive found nothing */
    PC_FULL,            /* a non-blocking send found no room */
    PC_TIMEOUT,         /* the deadline passed */
    PC_CLOSED,          /* the other side is gone (disconnected, closed) */
    PC_POISONED,        /* a holder raised: the state may be inconsistent */
    PC_INTERRUPTED,     /* a signal handler raised; a Python error is set */
    PC_OWNER_DIED,      /* the holder's process died; the caller holds it now */
    PC_LAGGED,          /* a broadcast receiver fell behind */
    PC_NOMEM,           /* an allocation failed */
    PC_BUSY,            /* the object is in use in a way that forbids this */
    PC_INVALID,         /* the call was wrong (release of an unheld lock) */
    PC_HANDLE_CLOSED,   /* this handle was closed by its owner (close()) */
    PC_STATUS_COUNT
} pc_status;

#endif /* PC_STATUS_H */
