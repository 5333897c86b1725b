/*  discovery/udp.c - the beacon socket of one node (see udp.h).

    Receive socket: bound to BCAST:PORT with SO_REUSEADDR. On Linux a socket
    may bind a broadcast address; it then gets exactly the datagrams sent to
    that broadcast address and port - from every sender on the host, including
    the node's own send socket - and no unicast, and every socket bound that
    way (in one process or many) gets its own copy. Nodes on different
    interfaces sharing a port do not hear each other's beacons. Where the
    kernel refuses that bind (EADDRNOTAVAIL or EINVAL, e.g. some BSDs), the
    socket binds INADDR_ANY:PORT instead: it then hears beacons of every
    interface, which is harmless because beacons are validated and carry the
    cluster id. udp_recv_any () says which bind was used.

    Send socket: bound to ADDR:0 with SO_BROADCAST, so the datagram leaves
    from the interface address and receivers learn the sender's real address
    from the source of the datagram. It only ever sends to BCAST:PORT.
*/
#include "common/log.h"
#include "discovery/udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "weft.h"

//  Retries of a call interrupted by a signal before giving up (bounded).
#define EINTR_RETRIES 8

struct udp {
    int recv_fd;             //  bound to BCAST:PORT (or INADDR_ANY:PORT), non-blocking
    int send_fd;             //  bound to ADDR:0, SO_BROADCAST, non-blocking
    bool recv_any;           //  the receive socket fell back to INADDR_ANY
    struct sockaddr_in dest; //  BCAST:PORT, the only destination of udp_send
};

//  Maps the errno of a failed socket, setsockopt or bind to a WEFT_E* code:
//  address in use, address not usable here (invalid), anything else I/O.
static int map_errno (int error)
{
    switch (error) {
    case EADDRINUSE:
        return WEFT_EADDRINUSE;
    case EADDRNOTAVAIL:
    case EINVAL:
    case EAFNOSUPPORT:
        return WEFT_EINVAL;
    default:
        return WEFT_EIO;
    }
}

//  Parses dotted IPv4 TEXT into *SA with PORT. Returns 0 or WEFT_EINVAL
//  with ERR naming WHAT ("address", "broadcast address") and TEXT.
static int parse_ipv4 (const char *text, uint16_t port, struct sockaddr_in *sa, const char *what,
                       char *err, size_t errlen)
{
    memset (sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons (port);
    if (text && inet_pton (AF_INET, text, &sa->sin_addr) == 1)
        return 0;
    werr_set (err, errlen, "udp: bad IPv4 %s \"%s\"", what, text ? text : "(null)");
    return WEFT_EINVAL;
}

//  Opens a non-blocking, close-on-exec UDP socket with boolean option OPTION
//  set (SO_REUSEADDR or SO_BROADCAST). Returns the fd, or -1 with errno set.
static int open_socket (int option)
{
    int fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int on = 1;
    if (setsockopt (fd, SOL_SOCKET, option, &on, sizeof on) != 0) {
        int saved = errno;
        close (fd);
        errno = saved;
        return -1;
    }
    return fd;
}

//  Writes "udp: WHAT A.B.C.D:PORT: strerror" into ERR and returns the mapped
//  code of ERROR.
static int socket_error (const char *what, const struct sockaddr_in *sa, int error, char *err,
                         size_t errlen)
{
    char text[INET_ADDRSTRLEN] = "?";
    inet_ntop (AF_INET, &sa->sin_addr, text, sizeof text);
    werr_set (err, errlen, "udp: %s %s:%u: %s", what, text, (unsigned)ntohs (sa->sin_port),
              strerror (error));
    return map_errno (error);
}

//  Opens the receive socket of SELF bound to BCAST (with the beacon port),
//  falling back to INADDR_ANY when the kernel refuses to bind a broadcast
//  address. Returns 0 or a WEFT_E* code with ERR.
static int open_recv (struct udp *self, const struct sockaddr_in *bcast, char *err, size_t errlen)
{
    self->recv_fd = open_socket (SO_REUSEADDR);
    if (self->recv_fd < 0)
        return socket_error ("receive socket for", bcast, errno, err, errlen);
    if (bind (self->recv_fd, (const struct sockaddr *)bcast, sizeof *bcast) == 0)
        return 0;
    int error = errno;
    if (error != EADDRNOTAVAIL && error != EINVAL)
        return socket_error ("bind receive socket to", bcast, error, err, errlen);
    struct sockaddr_in any = *bcast;
    any.sin_addr.s_addr = htonl (INADDR_ANY);
    if (bind (self->recv_fd, (const struct sockaddr *)&any, sizeof any) != 0)
        return socket_error ("bind receive socket (fallback) to", &any, errno, err, errlen);
    self->recv_any = true;
    return 0;
}

//  Opens the send socket of SELF bound to ADDR with an ephemeral port and
//  SO_BROADCAST. Returns 0 or a WEFT_E* code with ERR.
static int open_send (struct udp *self, const struct sockaddr_in *addr, char *err, size_t errlen)
{
    self->send_fd = open_socket (SO_BROADCAST);
    if (self->send_fd < 0)
        return socket_error ("send socket for", addr, errno, err, errlen);
    if (bind (self->send_fd, (const struct sockaddr *)addr, sizeof *addr) != 0)
        return socket_error ("bind send socket to", addr, errno, err, errlen);
    return 0;
}

int udp_new (const char *addr, const char *bcast, uint16_t port, udp_t **out, char *err,
             size_t errlen)
{
    if (!out || port == 0) {
        werr_set (err, errlen, "udp: %s", out ? "beacon port 0" : "NULL output pointer");
        return WEFT_EINVAL;
    }
    struct sockaddr_in local, dest;
    int rc = parse_ipv4 (addr, 0, &local, "address", err, errlen);
    if (rc == 0)
        rc = parse_ipv4 (bcast, port, &dest, "broadcast address", err, errlen);
    if (rc != 0)
        return rc;
    struct udp *self = calloc (1, sizeof *self);
    if (!self) {
        werr_set (err, errlen, "udp: out of memory");
        return WEFT_ENOMEM;
    }
    self->recv_fd = self->send_fd = -1;
    self->dest = dest;
    rc = open_recv (self, &dest, err, errlen);
    if (rc == 0)
        rc = open_send (self, &local, err, errlen);
    if (rc != 0) {
        udp_destroy (&self);
        return rc;
    }
    *out = self;
    return 0;
}

void udp_destroy (udp_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    struct udp *self = *self_p;
    if (self->recv_fd >= 0)
        close (self->recv_fd);
    if (self->send_fd >= 0)
        close (self->send_fd);
    free (self);
    *self_p = NULL;
}

int udp_fd (const udp_t *self)
{
    return self ? self->recv_fd : -1;
}

bool udp_recv_any (const udp_t *self)
{
    return self && self->recv_any;
}

int udp_send (udp_t *self, const void *data, size_t len)
{
    if (!self || (!data && len > 0))
        return WEFT_EINVAL;
    for (int tries = 0; tries < EINTR_RETRIES; tries++) {
        ssize_t sent = sendto (self->send_fd, data, len, 0, (const struct sockaddr *)&self->dest,
                               sizeof self->dest);
        if (sent >= 0)
            return (size_t)sent == len ? 0 : WEFT_EIO;
        if (errno != EINTR)
            break;
    }
    return WEFT_EIO;
}

int udp_recv (udp_t *self, void *buf, size_t cap, size_t *len, char *from)
{
    if (!self || !len || !from || (!buf && cap > 0))
        return WEFT_EINVAL;
    for (int tries = 0; tries < EINTR_RETRIES; tries++) {
        struct sockaddr_in src;
        socklen_t srclen = sizeof src;
        ssize_t got =
            recvfrom (self->recv_fd, buf, cap, MSG_DONTWAIT, (struct sockaddr *)&src, &srclen);
        if (got >= 0) {
            if (srclen < sizeof src || src.sin_family != AF_INET ||
                !inet_ntop (AF_INET, &src.sin_addr, from, INET_ADDRSTRLEN))
                return WEFT_EIO; //  cannot happen on an AF_INET socket
            *len = (size_t)got;
            return 0;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return WEFT_EAGAIN;
        if (errno != EINTR)
            return WEFT_EIO;
    }
    return WEFT_EAGAIN; //  interrupted every time: try again later
}
