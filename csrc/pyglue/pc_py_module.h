/*
 * pyglue/pc_py_module.h - the C-API layer of pyconc._core, in one place.
 *
 * build.py's cffi preamble includes this file (after pyconc.h) and its
 * PyInit__core calls pc_py_module_init() on the new module, so that every
 * pyconc type exists from the moment the module does.  Each primitive
 * family has one header here, included below, with an init function that
 * adds its types to the module.
 */
#ifndef PC_PY_MODULE_H
#define PC_PY_MODULE_H

#include "pc_py.h"

#include "pc_spin_py.h"
#include "pc_mutex_py.h"
#include "pc_chan_py.h"
#include "pc_bcast_py.h"
#include "pc_select_py.h"
#include "pc_atomic_py.h"
#include "pc_atomicref_py.h"
#include "pc_rwlock_py.h"
#include "pc_barrier_py.h"
#include "pc_parker_py.h"
#include "pc_sem_py.h"
#include "pc_waitgroup_py.h"
#include "pc_once_py.h"
#include "pc_shring_py.h"
#include "pc_async_py.h"
#include "pc_async_lock_py.h"
#include "pc_async_wait_py.h"

/* Families, in the order their types are created (one line each). */
typedef int (*pc_py_family_init)(PyObject *m);
static const pc_py_family_init pc_py_families[] = {
    pc_atomic_py_init,
    pc_atomicref_py_init, /* AtomicRef */
    pc_rwlock_py_init,
    pc_barrier_py_init,
    pc_parker_py_init, /* Parker, Unparker */
    pc_sem_py_init,    /* Semaphore, SemaphorePermit */
    pc_waitgroup_py_init, /* WaitGroup */
    pc_once_py_init,
    pc_shring_py_init, /* pyconc.ipc's channel and segments: IpcHandle */
    pc_spin_py_init,  /* SpinLock, _RobustSpinLock */
    pc_mutex_py_init, /* Mutex, MutexGuard, Condvar */
    pc_chan_py_init,  /* Sender, Receiver */
    pc_bcast_py_init, /* broadcast handles */
    pc_select_py_init, /* select, Select, Selected */
    pc_async_py_init, /* asyncio: after the channels and broadcast, which it extends */
    pc_async_lock_py_init, /* lock_async, read/write_async, acquire_async: after the locks */
    pc_async_wait_py_init, /* Condvar/Barrier wait_async, broadcast wait_closed */
    NULL /* end */
};

/* Called by PyInit__core (build.py) with the GIL held, once: 0 on
 * success, -1 with a Python error set. */
static int pc_py_module_init(PyObject *m)
{
    const pc_py_family_init *init;
    if (pc_py_status_init() < 0)
        return -1;
    for (init = pc_py_families; *init != NULL; init++)
        if ((*init)(m) < 0)
            return -1;
    return 0;
}

#endif /* PC_PY_MODULE_H */
