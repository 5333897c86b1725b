/*  discovery/udp.h - the beacon socket of one node.

    Written by hand because CZMQ's zbeacon takes its interface from a
    process-wide setting, and Weft needs several nodes per process, each on
    its own interface. Two UDP sockets: one bound to the broadcast address and
    the beacon port (SO_REUSEADDR, so every node on the host hears every
    beacon), falling back to INADDR_ANY where binding a broadcast address is
    refused; one bound to the interface address that sends (SO_BROADCAST), so
    receivers see the sender's real address as the datagram's source.
    Sends go only to the broadcast address given - never anywhere else.
    Every node hears its own beacons too (its receive socket gets what its
    send socket broadcasts): the caller drops those by UUID. Verified on
    Linux: three udp_t on 127.0.0.1 / 127.255.255.255 and one port each get
    all three datagrams, with source 127.0.0.1 (tests/unit/test_discovery_udp.c).
    Thread: a udp_t belongs to one thread (the node's actor).
*/
#ifndef WEFT_DISCOVERY_UDP_H
#define WEFT_DISCOVERY_UDP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct udp udp_t;

//  Opens the beacon sockets for interface address ADDR, broadcasting to
//  BCAST:PORT (all dotted IPv4). Stores the new socket in *OUT and returns 0,
//  or returns WEFT_EINVAL (bad address), WEFT_EADDRINUSE or WEFT_EIO with ERR
//  (ERRLEN bytes; may be NULL) naming the address, the port and errno's text.
//  WEFT_EINVAL covers a string that is not a dotted IPv4 address, port 0, and
//  an ADDR that is not an address of this host; WEFT_EADDRINUSE a port held
//  by a socket without SO_REUSEADDR; WEFT_ENOMEM when out of memory.
//  Both sockets are non-blocking and close-on-exec.
int udp_new (const char *addr, const char *bcast, uint16_t port, udp_t **out, char *err,
             size_t errlen);

//  Closes both sockets, frees SELF and nulls the pointer. NULL-safe.
void udp_destroy (udp_t **self_p);

//  The file descriptor to poll for incoming beacons (readable); -1 if SELF
//  is NULL. Borrowed: valid until udp_destroy ().
int udp_fd (const udp_t *self);

//  True when the receive socket is bound to INADDR_ANY:PORT because the
//  kernel refused to bind the broadcast address (not the case on Linux). It
//  then also hears beacons broadcast on other interfaces; worth one log line.
bool udp_recv_any (const udp_t *self);

//  Sends LEN bytes to the broadcast address without blocking. Returns 0,
//  WEFT_EIO (including a full send buffer: the caller logs once and goes on,
//  a lost beacon is not fatal), or WEFT_EINVAL for NULL arguments.
int udp_send (udp_t *self, const void *data, size_t len);

//  Receives one datagram without blocking into BUF (CAP bytes): stores its
//  length in *LEN and the sender's dotted IPv4 address in FROM
//  (INET_ADDRSTRLEN bytes). Returns 0, WEFT_EAGAIN when none is waiting, or
//  WEFT_EIO (WEFT_EINVAL for NULL arguments). A datagram longer than CAP is
//  truncated (*LEN = CAP) and the rest of it is discarded.
int udp_recv (udp_t *self, void *buf, size_t cap, size_t *len, char *from);

#endif
