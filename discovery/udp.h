/*  discovery/udp.h - the beacon socket of one node.

    Written by hand because CZMQ's zbeacon takes its interface from a
    process-wide setting, and Weft needs several nodes per process, each on
    its own interface. Two UDP sockets: one bound to the broadcast address and
    the beacon port (SO_REUSEADDR, so every node on the host hears every
    beacon), falling back to INADDR_ANY where binding a broadcast address is
    refused; one bound to the interface address that sends (SO_BROADCAST), so
    receivers see the sender's real address as the datagram's source.
    Sends go only to the broadcast address given - never anywhere else.
    Thread: a udp_t belongs to one thread (the node's actor).
*/
#ifndef WEFT_DISCOVERY_UDP_H
#define WEFT_DISCOVERY_UDP_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

typedef struct udp udp_t;

//  Opens the beacon sockets for interface address ADDR, broadcasting to
//  BCAST:PORT (all dotted IPv4). Stores the new socket in *OUT and returns 0,
//  or returns WEFT_EINVAL (bad address), WEFT_EADDRINUSE or WEFT_EIO with ERR
//  (ERRLEN bytes) naming the address, the port and errno's text.
int udp_new (const char *addr, const char *bcast, uint16_t port, udp_t **out, char *err,
             size_t errlen);

//  Closes both sockets, frees SELF and nulls the pointer. NULL-safe.
void udp_destroy (udp_t **self_p);

//  The file descriptor to poll for incoming beacons (readable).
int udp_fd (const udp_t *self);

//  Sends LEN bytes to the broadcast address. Returns 0 or WEFT_EIO
//  (the caller logs once and goes on: a lost beacon is not fatal).
int udp_send (udp_t *self, const void *data, size_t len);

//  Receives one datagram without blocking into BUF (CAP bytes): stores its
//  length in *LEN and the sender's dotted IPv4 address in FROM
//  (INET_ADDRSTRLEN bytes). Returns 0, WEFT_EAGAIN when none is waiting, or
//  WEFT_EIO. A datagram longer than CAP is truncated (*LEN = CAP).
int udp_recv (udp_t *self, void *buf, size_t cap, size_t *len, char *from);

#endif
