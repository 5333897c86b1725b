/*  discovery/iface.h - choosing the network interface a node lives on.

    A node binds its sockets to one IPv4 address and broadcasts beacons to that
    interface's broadcast address, chosen per node (never a process-wide
    setting), so one process can hold nodes on different interfaces.
    Thread: pure (reads the interface list with getifaddrs).
*/
#ifndef WEFT_DISCOVERY_IFACE_H
#define WEFT_DISCOVERY_IFACE_H

#include <netinet/in.h>
#include <stddef.h>

//  Resolves NAME to an IPv4 address and broadcast address, both dotted quads
//  written into ADDR and BCAST (INET_ADDRSTRLEN bytes each). NAME is:
//   - an interface name ("lo", "eth0", "veth1"): its first IPv4 address; its
//     broadcast address, or for an interface without one (loopback,
//     point-to-point) the directed broadcast of its subnet (127.255.255.255 on lo);
//   - a dotted IPv4 address of a local interface: that interface;
//   - "auto" or "" : the first interface that is up, not loopback, can
//     broadcast and has an IPv4 address.
//  An interface that matches but is down is refused rather than returned, as
//  beacons sent through it would vanish without an error.
//  Returns 0, or WEFT_ENODEV with ERR (ERRLEN bytes; may be NULL) saying what
//  was asked and which IPv4 interfaces exist; WEFT_EINVAL when ADDR or BCAST
//  is NULL; WEFT_EIO when getifaddrs fails. NAME NULL counts as "".
//  ADDR and BCAST are written only on success.
int iface_resolve (const char *name, char *addr, char *bcast, char *err, size_t errlen);

#endif
