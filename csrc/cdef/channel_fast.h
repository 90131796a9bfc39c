/*
 * cdef/channel_fast.h - channel declarations for cffi whose calls never
 * wait (called with the GIL HELD; see cdef/core_fast.h and build.py).
 *
 * The channel itself is not here: pyconc.Sender and pyconc.Receiver are C
 * types of the compiled module (pyglue/pc_chan_py.h, created by its init),
 * because a cffi call can neither take nor return a Python object.  What
 * is left is the C-only queue benchmark's kinds.
 */

#define PC_QBENCH_MPSC ...
#define PC_QBENCH_RING ...
