/*
 * cdef/channel_fast.h - channel declarations for cffi whose calls never
 * wait (called with the GIL HELD; see cdef/core_fast.h and build.py).
 *
 * The per-value calls (send, recv, ...) are not here: they are methods of
 * the CPython types in pyglue/pc_chan_py.h, because a cffi call can neither
 * take nor return a Python object.  pc_chan_py_install, called once at
 * import, hands those types to pyconc/channel.py.
 */

typedef struct pc_chan pc_chan_t;

#define PC_CHAN_UNBOUNDED ...
#define PC_CHAN_BOUNDED ...
#define PC_CHAN_RENDEZVOUS ...
#define PC_CHAN_READY ...
#define PC_CHAN_TIMEDOUT ...

#define PC_QBENCH_MPSC ...
#define PC_QBENCH_RING ...

/* Wake the thread parked in pc_chan_recv_wait (one system call, no wait). */
void pc_chan_rx_interrupt(pc_chan_t *c);

/* Fills the dict at address ns_address (id() of a dict the caller keeps
 * alive) with _SenderBase, _ReceiverBase and _new_channel.  0 on success. */
int pc_chan_py_install(intptr_t ns_address);
