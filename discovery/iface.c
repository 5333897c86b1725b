/*  discovery/iface.c - choosing the network interface a node lives on
    (see iface.h). Reads the interface list once per call with getifaddrs and
    keeps nothing: no globals, no cache.
*/
#include "common/log.h"
#include "discovery/iface.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "weft.h"

//  How NAME selects an interface.
typedef enum {
    PICK_AUTO,    //  "auto" or "": first up, non-loopback, broadcast-capable
    PICK_ADDRESS, //  a dotted IPv4 address of a local interface
    PICK_NAME     //  an interface name
} pick_t;

//  Appends formatted text to the NUL-terminated ERR (ERRLEN bytes), silently
//  cutting it at the end of the buffer.
static void append_error (char *err, size_t errlen, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static void append_error (char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    size_t used = strnlen (err, errlen);
    if (used + 1 >= errlen)
        return;
    va_list args;
    va_start (args, fmt);
    vsnprintf (err + used, errlen - used, fmt, args);
    va_end (args);
}

//  The IPv4 address of IFA in host order; IFA must be an AF_INET entry.
static uint32_t ifa_ipv4 (const struct ifaddrs *ifa)
{
    return ntohl (((const struct sockaddr_in *)ifa->ifa_addr)->sin_addr.s_addr);
}

//  True when IFA carries an IPv4 address.
static bool is_ipv4 (const struct ifaddrs *ifa)
{
    return ifa->ifa_addr && ifa->ifa_addr->sa_family == AF_INET;
}

//  True when IFA is the interface that NAME asks for (see pick_t); WANTED is
//  the parsed address (host order) for PICK_ADDRESS.
static bool matches (const struct ifaddrs *ifa, pick_t pick, const char *name, uint32_t wanted)
{
    if (!is_ipv4 (ifa))
        return false;
    switch (pick) {
    case PICK_AUTO:
        return (ifa->ifa_flags & IFF_UP) && !(ifa->ifa_flags & IFF_LOOPBACK) &&
               (ifa->ifa_flags & IFF_BROADCAST);
    case PICK_ADDRESS:
        return ifa_ipv4 (ifa) == wanted;
    case PICK_NAME:
        return strcmp (ifa->ifa_name, name) == 0;
    }
    return false;
}

//  The broadcast address of IFA in host order: the interface's own when it
//  has one, else the directed broadcast of its subnet (address | ~netmask),
//  which is what loopback (127.255.255.255 on lo 127.0.0.1/8) and
//  point-to-point links need. ifa_broadaddr shares a union with ifa_dstaddr,
//  so it is read only when IFF_BROADCAST says it holds a broadcast address.
static uint32_t ifa_broadcast (const struct ifaddrs *ifa)
{
    const struct sockaddr *brd = ifa->ifa_broadaddr;
    if ((ifa->ifa_flags & IFF_BROADCAST) && brd && brd->sa_family == AF_INET)
        return ntohl (((const struct sockaddr_in *)brd)->sin_addr.s_addr);
    uint32_t mask = 0xffffffffu; //  no netmask: a /32, its own address
    const struct sockaddr *nm = ifa->ifa_netmask;
    if (nm && nm->sa_family == AF_INET)
        mask = ntohl (((const struct sockaddr_in *)nm)->sin_addr.s_addr);
    return ifa_ipv4 (ifa) | ~mask;
}

//  Writes the host-order IPv4 address HOST as a dotted quad into OUT
//  (INET_ADDRSTRLEN bytes).
static void format_ipv4 (uint32_t host, char *out)
{
    struct in_addr in = {.s_addr = htonl (host)};
    inet_ntop (AF_INET, &in, out, INET_ADDRSTRLEN);
}

//  Appends "name address[ (down)]" for every IPv4 interface in LIST to ERR,
//  so the message tells the user what they could have asked for.
static void list_interfaces (const struct ifaddrs *list, char *err, size_t errlen)
{
    const char *sep = "";
    append_error (err, errlen, "; IPv4 interfaces:");
    for (const struct ifaddrs *ifa = list; ifa; ifa = ifa->ifa_next) {
        if (!is_ipv4 (ifa))
            continue;
        char text[INET_ADDRSTRLEN];
        format_ipv4 (ifa_ipv4 (ifa), text);
        append_error (err, errlen, "%s %s %s%s", sep, ifa->ifa_name, text,
                      (ifa->ifa_flags & IFF_UP) ? "" : " (down)");
        sep = ",";
    }
    if (!*sep)
        append_error (err, errlen, " none");
}

//  Classifies NAME and, for an address, parses it into *WANTED (host order).
static pick_t classify (const char *name, uint32_t *wanted)
{
    struct in_addr in;
    if (name[0] == 0 || strcmp (name, "auto") == 0)
        return PICK_AUTO;
    if (inet_pton (AF_INET, name, &in) == 1) {
        *wanted = ntohl (in.s_addr);
        return PICK_ADDRESS;
    }
    return PICK_NAME;
}

//  Explains in ERR why no interface in LIST matched NAME, listing the ones
//  that exist. Returns WEFT_ENODEV.
static int not_found (const struct ifaddrs *list, pick_t pick, const char *name, char *err,
                      size_t errlen)
{
    if (pick == PICK_AUTO)
        werr_set (err, errlen, "no interface is up, non-loopback, broadcast-capable and IPv4");
    else if (pick == PICK_ADDRESS)
        werr_set (err, errlen, "no local interface has IPv4 address %s", name);
    else
        werr_set (err, errlen, "no interface \"%s\" with an IPv4 address", name);
    list_interfaces (list, err, errlen);
    return WEFT_ENODEV;
}

int iface_resolve (const char *name, char *addr, char *bcast, char *err, size_t errlen)
{
    if (!addr || !bcast) {
        werr_set (err, errlen, "iface_resolve: NULL output buffer");
        return WEFT_EINVAL;
    }
    if (!name)
        name = "";
    struct ifaddrs *list = NULL;
    if (getifaddrs (&list) != 0) {
        werr_set (err, errlen, "getifaddrs: %s", strerror (errno));
        return WEFT_EIO;
    }
    uint32_t wanted = 0;
    pick_t pick = classify (name, &wanted);
    const struct ifaddrs *found = NULL;
    for (const struct ifaddrs *ifa = list; ifa && !found; ifa = ifa->ifa_next)
        if (matches (ifa, pick, name, wanted))
            found = ifa;
    int rc = 0;
    if (!found)
        rc = not_found (list, pick, name, err, errlen);
    else if (!(found->ifa_flags & IFF_UP)) {
        werr_set (err, errlen, "interface %s (%s) is down", found->ifa_name, name);
        list_interfaces (list, err, errlen);
        rc = WEFT_ENODEV;
    } else {
        format_ipv4 (ifa_ipv4 (found), addr);
        format_ipv4 (ifa_broadcast (found), bcast);
    }
    freeifaddrs (list);
    return rc;
}
