/*
 * wake.h - the event loop's wake-up pair for the validate programs of
 * pc_async.h (validate_async, validate_async_lock): a pipe on POSIX, a
 * connected pair of loopback sockets on Windows (what asyncio's self-pipe
 * is there), both non-blocking, and a wait for the read end.
 */
#ifndef PC_VALIDATE_WAKE_H
#define PC_VALIDATE_WAKE_H

#include "harness.h"

#ifdef _WIN32
/* The Windows path of pc_async.c: the hub's wake-up end is a socket (what
 * asyncio's self-pipe is there), read with WSAPoll. */
#include <winsock2.h>
#include <ws2tcpip.h>
#define PC_WAKE_KIND PC_ASYNC_FD_SOCKET
#else
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#define PC_WAKE_KIND PC_ASYNC_FD_PIPE
#endif

#ifdef _WIN32
/* A connected pair of loopback TCP sockets, both non-blocking. */
static void pc_wake_pair(intptr_t *rd, intptr_t *wr)
{
    WSADATA wsa;
    PC_CHECK(WSAStartup(MAKEWORD(2, 2), &wsa) == 0, "WSAStartup");
    SOCKET l = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    PC_CHECK(l != INVALID_SOCKET, "socket");
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int len = sizeof a;
    PC_CHECK(bind(l, (struct sockaddr *)&a, sizeof a) == 0 && listen(l, 1) == 0 &&
                 getsockname(l, (struct sockaddr *)&a, &len) == 0,
             "bind/listen");
    SOCKET w = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    PC_CHECK(w != INVALID_SOCKET && connect(w, (struct sockaddr *)&a, sizeof a) == 0, "connect");
    SOCKET r = accept(l, NULL, NULL);
    PC_CHECK(r != INVALID_SOCKET, "accept");
    closesocket(l);
    u_long on = 1;
    PC_CHECK(ioctlsocket(r, FIONBIO, &on) == 0 && ioctlsocket(w, FIONBIO, &on) == 0, "FIONBIO");
    *rd = (intptr_t)r;
    *wr = (intptr_t)w;
}
#else
static void pc_wake_pair(intptr_t *rd, intptr_t *wr)
{
    int p[2];
    PC_CHECK(pipe(p) == 0, "pipe");
    PC_CHECK(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0 && fcntl(p[1], F_SETFL, O_NONBLOCK) == 0,
             "fcntl");
    *rd = p[0];
    *wr = p[1];
}
#endif

/* Wait at most ms for the read end to be readable: 1 if it is, 0 if not. */
static int pc_wake_wait(intptr_t rd, int ms)
{
#ifdef _WIN32
    WSAPOLLFD pfd = {(SOCKET)rd, POLLRDNORM, 0};
    return WSAPoll(&pfd, 1, ms);
#else
    struct pollfd pfd = {(int)rd, POLLIN, 0};
    return poll(&pfd, 1, ms);
#endif
}

#endif /* PC_VALIDATE_WAKE_H */
