/*  tests/unit/test_discovery_udp.c - interface resolution (discovery/iface.h)
    and the beacon sockets (discovery/udp.h).

    Everything stays on loopback: 127.0.0.1, broadcasting to 127.255.255.255,
    on a port of this test process (tu_beacon_port). Nothing is ever sent on a
    real interface. Waits use poll () with a deadline, never sleep. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "discovery/iface.h"
#include "discovery/udp.h"
#include "testutil.h"

#define LO_ADDR  "127.0.0.1"
#define LO_BCAST "127.255.255.255"
#define NSOCKS   3
#define WAIT_MS  5000

//  --- iface ---------------------------------------------------------------

Test (iface, lo_by_name, .timeout = 10)
{
    char addr[INET_ADDRSTRLEN], bcast[INET_ADDRSTRLEN], err[256] = "";
    cr_assert_eq (iface_resolve ("lo", addr, bcast, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq (addr, LO_ADDR);
    cr_assert_str_eq (bcast, LO_BCAST);
}

Test (iface, lo_by_address, .timeout = 10)
{
    char addr[INET_ADDRSTRLEN], bcast[INET_ADDRSTRLEN], err[256] = "";
    cr_assert_eq (iface_resolve (LO_ADDR, addr, bcast, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq (addr, LO_ADDR);
    cr_assert_str_eq (bcast, LO_BCAST);
}

Test (iface, unknown_name_lists_interfaces, .timeout = 10)
{
    char addr[INET_ADDRSTRLEN] = "x", bcast[INET_ADDRSTRLEN] = "y", err[512] = "";
    cr_assert_eq (iface_resolve ("nope0", addr, bcast, err, sizeof err), WEFT_ENODEV);
    cr_assert (strstr (err, "nope0"), "message names the interface: %s", err);
    cr_assert (strstr (err, "lo " LO_ADDR), "message lists what exists: %s", err);
    cr_assert_str_eq (addr, "x", "outputs untouched on failure");
    cr_assert_str_eq (bcast, "y");
}

Test (iface, unknown_address, .timeout = 10)
{
    char addr[INET_ADDRSTRLEN], bcast[INET_ADDRSTRLEN], err[512] = "";
    //  TEST-NET-3: documentation range, on no interface of a test machine
    cr_assert_eq (iface_resolve ("203.0.113.77", addr, bcast, err, sizeof err), WEFT_ENODEV);
    cr_assert (strstr (err, "203.0.113.77"), "%s", err);
}

Test (iface, auto_never_picks_loopback, .timeout = 10)
{
    //  Resolving sends nothing. A host without a broadcast-capable interface
    //  (a bare network namespace) answers WEFT_ENODEV, which is fine too.
    char addr[INET_ADDRSTRLEN], bcast[INET_ADDRSTRLEN], err[512] = "";
    int rc = iface_resolve ("auto", addr, bcast, err, sizeof err);
    cr_assert (rc == 0 || rc == WEFT_ENODEV, "rc %d: %s", rc, err);
    if (rc == 0)
        cr_assert (strncmp (addr, "127.", 4) != 0, "auto picked loopback %s", addr);
    int rc_empty = iface_resolve ("", addr, bcast, err, sizeof err);
    cr_assert_eq (rc_empty, rc, "\"\" means auto");
}

Test (iface, tiny_error_buffer, .timeout = 10)
{
    char addr[INET_ADDRSTRLEN], bcast[INET_ADDRSTRLEN], err[8];
    cr_assert_eq (iface_resolve ("nope0", addr, bcast, err, sizeof err), WEFT_ENODEV);
    cr_assert_lt (strlen (err), sizeof err);
    cr_assert_eq (iface_resolve ("nope0", addr, bcast, NULL, 0), WEFT_ENODEV);
    cr_assert_eq (iface_resolve ("lo", NULL, bcast, NULL, 0), WEFT_EINVAL);
}

//  --- udp -----------------------------------------------------------------

//  Opens a udp_t on loopback at PORT, asserting success.
static udp_t *open_lo (uint16_t port)
{
    udp_t *udp = NULL;
    char err[256] = "";
    int rc = udp_new (LO_ADDR, LO_BCAST, port, &udp, err, sizeof err);
    cr_assert_eq (rc, 0, "udp_new %s:%u: %s", LO_BCAST, port, err);
    cr_assert_not_null (udp);
    cr_assert_geq (udp_fd (udp), 0);
    return udp;
}

//  Waits until UDP is readable or DEADLINE (tu_now_ms) passes; true if readable.
static bool wait_readable (udp_t *udp, int64_t deadline)
{
    int left = (int)(deadline - tu_now_ms ());
    if (left < 0)
        left = 0;
    struct pollfd pfd = {.fd = udp_fd (udp), .events = POLLIN};
    return poll (&pfd, 1, left) == 1 && (pfd.revents & POLLIN);
}

//  Receives on UDP until it has seen the datagram TAG of each of NSOCKS
//  senders ("<tag>:<i>"), or DEADLINE passes. Datagrams that are not ours
//  (another test process on the same port) are skipped. Returns a bit mask of
//  the senders heard; each one's source must be 127.0.0.1.
static unsigned receive_all (udp_t *udp, const char *tag, int64_t deadline)
{
    unsigned seen = 0, all = (1u << NSOCKS) - 1;
    for (int turns = 0; seen != all && turns < 1000 && wait_readable (udp, deadline); turns++) {
        char buf[128], from[INET_ADDRSTRLEN];
        size_t len = 0;
        int rc = udp_recv (udp, buf, sizeof buf - 1, &len, from);
        if (rc == WEFT_EAGAIN)
            continue;
        cr_assert_eq (rc, 0, "udp_recv: %d", rc);
        buf[len] = 0;
        size_t taglen = strlen (tag);
        if (len != taglen + 2 || strncmp (buf, tag, taglen) != 0 || buf[taglen] != ':')
            continue;
        int i = buf[taglen + 1] - '0';
        cr_assert (i >= 0 && i < NSOCKS, "datagram %s", buf);
        cr_assert_str_eq (from, LO_ADDR, "source of %s", buf);
        seen |= 1u << i;
    }
    return seen;
}

Test (udp, three_sockets_one_port_all_hear_all, .timeout = 30)
{
    uint16_t port = tu_beacon_port ();
    udp_t *udp[NSOCKS];
    for (int i = 0; i < NSOCKS; i++)
        udp[i] = open_lo (port);
    for (int i = 0; i < NSOCKS; i++)
        cr_assert_not (udp_recv_any (udp[i]), "Linux binds the broadcast address");
    char tag[32];
    snprintf (tag, sizeof tag, "weft-test-%ld", (long)getpid ());
    for (int i = 0; i < NSOCKS; i++) {
        char msg[48];
        int n = snprintf (msg, sizeof msg, "%s:%d", tag, i);
        cr_assert_eq (udp_send (udp[i], msg, (size_t)n), 0);
    }
    int64_t deadline = tu_now_ms () + WAIT_MS;
    for (int i = 0; i < NSOCKS; i++) {
        unsigned seen = receive_all (udp[i], tag, deadline);
        cr_assert_eq (seen, (1u << NSOCKS) - 1, "socket %d heard mask %#x (own included)", i, seen);
    }
    for (int i = 0; i < NSOCKS; i++) {
        udp_destroy (&udp[i]);
        cr_assert_null (udp[i]);
    }
}

Test (udp, recv_nothing_waiting_is_eagain, .timeout = 10)
{
    udp_t *udp = open_lo (tu_beacon_port ());
    char buf[64], from[INET_ADDRSTRLEN];
    size_t len = 0;
    //  Drain anything another process may have sent to this port (bounded),
    //  then the next call must answer EAGAIN at once.
    int rc = 0;
    for (int i = 0; i < 100 && rc == 0; i++)
        rc = udp_recv (udp, buf, sizeof buf, &len, from);
    cr_assert_eq (rc, WEFT_EAGAIN);
    udp_destroy (&udp);
}

Test (udp, long_datagram_truncated, .timeout = 10)
{
    udp_t *udp = open_lo (tu_beacon_port ());
    char big[200];
    memset (big, 'z', sizeof big);
    cr_assert_eq (udp_send (udp, big, sizeof big), 0);
    int64_t deadline = tu_now_ms () + WAIT_MS;
    bool got = false;
    for (int i = 0; i < 100 && !got && wait_readable (udp, deadline); i++) {
        char buf[10], from[INET_ADDRSTRLEN];
        size_t len = 0;
        if (udp_recv (udp, buf, sizeof buf, &len, from) == 0 && buf[0] == 'z') {
            cr_assert_eq (len, sizeof buf);
            got = true;
        }
    }
    cr_assert (got, "own datagram not received");
    udp_destroy (&udp);
}

Test (udp, bad_addresses_are_einval, .timeout = 10)
{
    udp_t *udp = NULL;
    char err[256] = "";
    uint16_t port = tu_beacon_port ();
    cr_assert_eq (udp_new ("not-an-ip", LO_BCAST, port, &udp, err, sizeof err), WEFT_EINVAL);
    cr_assert (strstr (err, "not-an-ip"), "%s", err);
    cr_assert_null (udp);
    cr_assert_eq (udp_new (LO_ADDR, "300.1.1.1", port, &udp, err, sizeof err), WEFT_EINVAL);
    cr_assert_eq (udp_new (NULL, LO_BCAST, port, &udp, err, sizeof err), WEFT_EINVAL);
    cr_assert_eq (udp_new (LO_ADDR, LO_BCAST, 0, &udp, err, sizeof err), WEFT_EINVAL);
    //  a well-formed address that is not on this host (nothing is sent)
    cr_assert_eq (udp_new ("203.0.113.77", LO_BCAST, port, &udp, err, sizeof err), WEFT_EINVAL);
    cr_assert (strstr (err, "203.0.113.77"), "%s", err);
    cr_assert_null (udp);
}

Test (udp, port_held_without_reuse_is_eaddrinuse, .timeout = 10)
{
    uint16_t port = tu_beacon_port ();
    int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    cr_assert_geq (fd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons (port)};
    inet_pton (AF_INET, LO_BCAST, &sa.sin_addr);
    cr_assert_eq (bind (fd, (struct sockaddr *)&sa, sizeof sa), 0);
    udp_t *udp = NULL;
    char err[256] = "";
    cr_assert_eq (udp_new (LO_ADDR, LO_BCAST, port, &udp, err, sizeof err), WEFT_EADDRINUSE);
    cr_assert (strlen (err) > 0);
    cr_assert_null (udp);
    close (fd);
}

Test (udp, null_safety, .timeout = 10)
{
    udp_t *udp = NULL;
    udp_destroy (&udp);
    udp_destroy (NULL);
    cr_assert_eq (udp_fd (NULL), -1);
    cr_assert_eq (udp_send (NULL, "x", 1), WEFT_EINVAL);
    size_t len;
    char from[INET_ADDRSTRLEN];
    cr_assert_eq (udp_recv (NULL, from, 1, &len, from), WEFT_EINVAL);
}
