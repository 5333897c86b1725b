/*  node/ring.h - the consistent-hash ring that maps queue names to owners.

    Members are node UUIDs (32 hex digits, stored and returned in lowercase,
    the form membership uses), each with a display name and a capacity
    weight. A member contributes VNODES * weight virtual nodes; virtual node
    i of member U sits at hash64 ("U#i") (common/hash.h), a queue at
    hash64_str (queue). The owner of a queue is the member of the first
    virtual node clockwise from the queue's hash (a virtual node at exactly
    that hash counts; past the top, wrap to the lowest); equal hashes are
    ordered by UUID, so every node that holds the same member set and VNODES
    computes the same owners. Replicas are the next distinct members clockwise.

    The sorted array of virtual nodes is rebuilt on the first lookup after a
    change (add, remove, clear), never during it; lookups are O(log V) binary
    searches. That rebuild is why lookups take a non-const ring. It never
    allocates (ring_add reserves the room), so lookups cannot fail.

    Thread: a ring belongs to one thread; nothing here is shared or global.
*/
#ifndef WEFT_NODE_RING_H
#define WEFT_NODE_RING_H

#include <stddef.h>
#include <stdint.h>

#define RING_UUID_LEN       32   //  hex digits in a member UUID
#define RING_NAME_MAX       255  //  longest display name, in bytes
#define RING_VNODES_DEFAULT 64   //  virtual nodes per unit of weight
#define RING_VNODES_MAX     1024 //  upper bound for ring_new
#define RING_WEIGHT_DEFAULT 1    //  capacity weight of an ordinary member
#define RING_WEIGHT_MAX     100  //  upper bound for ring_add

typedef struct ring ring_t;

//  Creates an empty ring with VNODES (1..RING_VNODES_MAX, usually
//  RING_VNODES_DEFAULT) virtual nodes per unit of weight. Returns NULL when
//  VNODES is out of range or out of memory. The caller owns the ring.
ring_t *ring_new (int vnodes);

//  Destroys the ring, its members and their strings, and nulls *SELF_P.
//  NULL-safe and idempotent.
void ring_destroy (ring_t **self_p);

//  Adds member UUID (exactly 32 hex digits, either case) with display NAME
//  (NULL means "", at most RING_NAME_MAX bytes; copied) and WEIGHT
//  (1..RING_WEIGHT_MAX). Adding a UUID already present updates its name and
//  weight. Returns 0, WEFT_EINVAL on a bad argument (the ring is unchanged)
//  or WEFT_ENOMEM (the ring is unchanged).
int ring_add (ring_t *self, const char *uuid, const char *name, int weight);

//  Removes member UUID (either case). Returns 0, WEFT_EINVAL when SELF or
//  UUID is NULL, or WEFT_ENOTFOUND when UUID is not a member.
int ring_remove (ring_t *self, const char *uuid);

//  Removes every member; the ring keeps its VNODES.
void ring_clear (ring_t *self);

//  Number of members (0 when SELF is NULL).
size_t ring_size (const ring_t *self);

//  Virtual nodes per unit of weight, as given to ring_new (0 when SELF is NULL).
int ring_vnodes (const ring_t *self);

//  Gets member INDEX (0..ring_size () - 1, in ascending UUID order, for
//  `weft ring` listings): stores its lowercase UUID, name and weight through
//  any non-NULL pointer. Returns 0, or WEFT_EINVAL when SELF is NULL or
//  INDEX is out of range. The strings are borrowed, see ring_owner.
int ring_member (const ring_t *self, size_t index, const char **uuid, const char **name,
                 int *weight);

//  Returns the UUID (lowercase) of the member that owns QUEUE, or NULL when
//  the ring is empty or an argument is NULL. The string is borrowed from the
//  ring: it stays valid until that member is removed, the ring cleared or
//  destroyed (adding, updating or removing other members does not move it).
const char *ring_owner (ring_t *self, const char *queue);

//  Stores into OUT[0..] the UUIDs of the owner of QUEUE followed by the next
//  distinct members clockwise, at most R of them; returns how many were
//  stored: min (R, ring_size ()), 0 when the ring is empty or an argument is
//  NULL (OUT may be NULL only when R is 0). OUT[0] is ring_owner (QUEUE).
//  The strings are borrowed, see ring_owner. O(log V + walk), the walk being
//  the virtual nodes passed until R distinct members are found.
size_t ring_replicas (ring_t *self, const char *queue, size_t r, const char **out);

//  Fingerprint of what decides ownership: VNODES and the (UUID, weight) set
//  (names do not count). Identical sets give identical epochs whatever the
//  order members were added in, on every platform; two nodes whose epochs
//  differ may disagree on owners. Not ordered: compare for equality only.
uint64_t ring_epoch (const ring_t *self);

#endif
