/*
 * pc_async.c - see pc_async.h.
 */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include "pc_async.h"

#include <stdlib.h>

#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <winsock2.h>
#else
#include <errno.h>
#include <unistd.h>
#endif

void pc_async_list_init(pc_async_list_t *l)
{
    /* relaxed: initialisation happens before the list is shared. */
    atomic_store_explicit(&l->waiting, 0, memory_order_relaxed);
    pc_spin_init(&l->lock);
    l->head = l->tail = NULL;
}

pc_async_list_t *pc_async_list_get(pc_async_slot_t *slot)
{
    pc_async_list_t *l = pc_async_list_peek(slot), *expected = NULL;
    if (l != NULL)
        return l;
    if ((l = (pc_async_list_t *)malloc(sizeof *l)) == NULL)
        return NULL;
    pc_async_list_init(l);
    /* release on success: the initialised list is seen by every thread
     * that loads the pointer with acquire (pc_async_list_peek); acquire on
     * failure: another thread's list, initialised, is the one to use. */
    if (atomic_compare_exchange_strong_explicit(slot, &expected, l, memory_order_release,
                                                memory_order_acquire))
        return l;
    free(l);
    return expected;
}

void pc_async_list_free(pc_async_slot_t *slot)
{
    /* relaxed: the primitive is being destroyed; nobody else uses it. */
    pc_async_list_t *l = atomic_exchange_explicit(slot, NULL, memory_order_relaxed);
    free(l);
}

void pc_async_list_add(pc_async_list_t *l, pc_async_rec_t *rec)
{
    pc_spin_lock(&l->lock, false);
    rec->prev = l->tail;
    rec->next = NULL;
    if (l->tail != NULL)
        l->tail->next = rec;
    else
        l->head = rec;
    l->tail = rec;
    rec->list = l;
    /* seq_cst: the waiter's half of the Dekker pattern (pc_async.h). */
    atomic_fetch_add_explicit(&l->waiting, 1, memory_order_seq_cst);
    pc_spin_unlock(&l->lock, false);
    /* seq_cst fence: the caller's re-check (acquire or relaxed loads of the
     * queue) is ordered after the increment, against the notifier's
     * seq_cst read-modify-write of the queue and load of `waiting`. */
    PC_FENCE_SEQ_CST();
}

/* Unlink rec (its list's lock held). */
static void pc_async_unlink(pc_async_list_t *l, pc_async_rec_t *rec)
{
    if (rec->prev != NULL)
        rec->prev->next = rec->next;
    else
        l->head = rec->next;
    if (rec->next != NULL)
        rec->next->prev = rec->prev;
    else
        l->tail = rec->prev;
    rec->prev = rec->next = NULL;
    rec->list = NULL;
    /* relaxed: the lock orders the list; the count only makes notifiers
     * look (a stale non-zero costs one needless lock). */
    atomic_fetch_sub_explicit(&l->waiting, 1, memory_order_relaxed);
}

bool pc_async_list_remove(pc_async_list_t *l, pc_async_rec_t *rec)
{
    bool was_in;
    pc_spin_lock(&l->lock, false);
    was_in = rec->list == l;
    if (was_in)
        pc_async_unlink(l, rec);
    pc_spin_unlock(&l->lock, false);
    return was_in;
}

uint32_t pc_async_list_wake(pc_async_list_t *l, uint32_t n)
{
    pc_async_rec_t *fired = NULL, *last = NULL, *rec;
    uint32_t left;
    pc_spin_lock(&l->lock, false);
    while (n > 0 && (rec = l->head) != NULL) {
        pc_async_unlink(l, rec);
        /* Chain them privately (through `next`, free now) to fire them
         * outside the lock. */
        if (last != NULL)
            last->next = rec;
        else
            fired = rec;
        last = rec;
        n--;
    }
    /* relaxed: under the lock, a count. */
    left = atomic_load_explicit(&l->waiting, memory_order_relaxed);
    pc_spin_unlock(&l->lock, false);
    while (fired != NULL) {
        rec = fired;
        fired = rec->next;
        rec->next = NULL;
        /* The list's reference moves to the hub: rec stays alive until
         * the loop's drain takes it. */
        pc_async_hub_fire(rec->hub, rec);
    }
    return left;
}

void pc_async_hub_init(pc_async_hub_t *h, int kind, intptr_t wfd)
{
    /* relaxed: before the hub is shared. */
    atomic_store_explicit(&h->ready, NULL, memory_order_relaxed);
    atomic_store_explicit(&h->signalled, 0, memory_order_relaxed);
    h->kind = kind;
    h->wfd = wfd;
}

/* One byte (eight for an eventfd) into the fd.  A full pipe or socket
 * buffer already holds a wake-up, so EAGAIN is success.
 *
 * Not so for a Windows socket: a non-blocking send() may fail with
 * WSAEWOULDBLOCK while the peer's buffer is empty (seen under Wine with the
 * loop draining in another thread, make cwine's validate_async: the
 * wake-up was lost and the loop slept on).  So on WSAEWOULDBLOCK wait
 * until the socket is writable (1 ms at a time) and send again, at most
 * PC_ASYNC_SEND_TRIES times: were the buffer really full, it holds
 * wake-ups already, and the bound keeps a reader that is gone from
 * stalling the notifier for more than about that many milliseconds. */
#define PC_ASYNC_SEND_TRIES 64
static void pc_async_fd_signal(int kind, intptr_t wfd)
{
#ifdef _WIN32
    (void)kind;
    for (int i = 0; i < PC_ASYNC_SEND_TRIES; i++) {
        if (send((SOCKET)wfd, "x", 1, 0) == 1 || WSAGetLastError() != WSAEWOULDBLOCK)
            return;
        fd_set w;
        FD_ZERO(&w);
        FD_SET((SOCKET)wfd, &w);
        struct timeval t = {0, 1000};
        (void)select(0, NULL, &w, NULL, &t);
    }
#else
    uint64_t one = 1;
    ssize_t r;
    do {
        if (kind == PC_ASYNC_FD_EVENTFD)
            r = write((int)wfd, &one, sizeof one);
        else
            r = write((int)wfd, "x", 1);
    } while (r < 0 && errno == EINTR);
#endif
}

void pc_async_hub_fire(pc_async_hub_t *h, pc_async_rec_t *rec)
{
    pc_async_rec_t *top = atomic_load_explicit(&h->ready, memory_order_relaxed);
    do {
        rec->ready_next = top;
        /* release: the record's fields are visible to the drain that takes
         * it (acquire); relaxed on failure, we only retry. */
    } while (!atomic_compare_exchange_weak_explicit(&h->ready, &top, rec,
                                                    memory_order_release,
                                                    memory_order_relaxed));
    /* acq_rel: pairs with the drain's exchange (pc_async_hub_take): if the
     * drain cleared the flag before this, we write the fd; if after, the
     * drain's exchange of the stack comes after our push (it acquired it
     * through the flag) and takes our record. */
    if (atomic_exchange_explicit(&h->signalled, 1, memory_order_acq_rel) == 0)
        pc_async_fd_signal(h->kind, h->wfd);
}

pc_async_rec_t *pc_async_hub_take(pc_async_hub_t *h)
{
    pc_async_rec_t *top, *out = NULL;
    /* acq_rel: see pc_async_hub_fire. */
    atomic_exchange_explicit(&h->signalled, 0, memory_order_acq_rel);
    /* acquire: the fired records' fields (pairs with the push's release). */
    top = atomic_exchange_explicit(&h->ready, NULL, memory_order_acquire);
    /* Newest first: reverse, so that coroutines resume in the order their
     * records were fired. */
    while (top != NULL) {
        pc_async_rec_t *next = top->ready_next;
        top->ready_next = out;
        out = top;
        top = next;
    }
    return out;
}

void pc_async_fd_drain(int kind, intptr_t rfd)
{
#ifdef _WIN32
    char buf[256];
    (void)kind;
    while (recv((SOCKET)rfd, buf, sizeof buf, 0) > 0)
        ;
#else
    char buf[256];
    ssize_t r;
    if (kind == PC_ASYNC_FD_EVENTFD) {
        uint64_t count;
        do
            r = read((int)rfd, &count, sizeof count);
        while (r < 0 && errno == EINTR);
        return;
    }
    do
        r = read((int)rfd, buf, sizeof buf);
    while (r > 0 || (r < 0 && errno == EINTR));
#endif
}

void pc_async_fd_close(intptr_t fd)
{
    if (fd < 0)
        return;
#ifdef _WIN32
    closesocket((SOCKET)fd);
#else
    close((int)fd);
#endif
}
