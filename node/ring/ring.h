/*  node/ring/ring.h - maps queue names to owners: weighted rendezvous hashing.

    Members are node UUIDs (32 hex digits, stored and returned in lowercase,
    the form membership uses), each with a display name and a capacity
    weight. The "ring" is no longer a circle of points: every member scores
    every queue and the highest score owns it (rendezvous, or highest random
    weight, hashing), with the logarithmic method for weights:

        h     = hash64_str (queue)                      (common/hash.h)
        key   = hash64 (the member's 32 lowercase hex digits)
        x     = mix64 (h ^ key)      splitmix64 finalizer, as hash64 ends
        u     = (2 * (x >> 12) + 1) / 2^53              in (0, 1), exact
        score = weight / -ln (u)                        IEEE-754 double

    The owner is the member with the highest score, equal scores going to
    the lower UUID; replicas are the next members in decreasing score order.
    -ln (u) / weight is exponential with rate weight, so a member wins a
    queue with probability weight / (sum of weights), exactly: the same as
    rendezvous over VNODES * weight virtual nodes per member (owner = member
    of the best-scoring virtual node), for one score per member instead of
    one per virtual node. VNODES scales every member alike, so it does not
    change owners; it stays in the API, the listing and the epoch.

    Why not points on a circle (3d75206): a member's share there is the sum
    of VNODES random arcs and varies by about sqrt ((N-1) / (N*VNODES)): with
    10 members and 64 vnodes max/min load averaged 1.48, and 1.25 needed
    some 512 to 1,024 vnodes, whatever the hash. Here loads vary only by
    the multinomial noise of the queue names (max/min about 1.03 for 10
    members and 100,000 queues), at any VNODES. Movement is the least
    possible: a join moves to the newcomer only the queues it now wins
    (weight / new total, 1/(N+1) for equal weights), a leave moves only the
    leaver's queues, each to its next replica (replica 1 becomes owner).

    Every node with the same member set computes the same owners. The
    scores use the C library's log () on IEEE-754 doubles (evaluated as
    doubles, as on x86-64 and ARM64): two libraries that round log ()
    differently in the last bit could only disagree on a queue whose two
    best scores are within about 1e-16 of each other, some 1 in 2^50.
    Lookups cost O(members): a mix, a log and a division per member, about
    15 ns (150 ns for 10 members); they never allocate and cannot fail. That
    suits LAN clusters of tens of members. Link with -lm.

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
//  RING_VNODES_DEFAULT) virtual nodes per unit of weight (they count in the
//  epoch but not in ownership, see above). Returns NULL when VNODES is out
//  of range or out of memory. The caller owns the ring.
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

//  Returns the UUID (lowercase) of the member that owns QUEUE (the highest
//  score), or NULL when the ring is empty or an argument is NULL. The string
//  is borrowed from the ring: it stays valid until that member is removed,
//  the ring cleared or destroyed (adding, updating or removing other members
//  does not move it). O(members). SELF is not const because ring_replicas
//  keeps scratch space in it; ring_owner does not change the ring.
const char *ring_owner (ring_t *self, const char *queue);

//  Stores into OUT[0..] the UUIDs of the owner of QUEUE followed by the next
//  distinct members in decreasing score order, at most R of them; returns
//  how many were stored: min (R, ring_size ()), 0 when the ring is empty or
//  an argument is NULL (OUT may be NULL only when R is 0). OUT[0] is
//  ring_owner (QUEUE); when the owner leaves, OUT[1] becomes the owner and
//  the rest of the order stays. The strings are borrowed, see ring_owner.
//  O(members * min (R, members)); uses scratch space in SELF, never allocates.
size_t ring_replicas (ring_t *self, const char *queue, size_t r, const char **out);

//  Fingerprint of what decides ownership: the scoring method's version,
//  VNODES and the (UUID, weight) set (names do not count). Identical sets give identical epochs
//  whatever the order members were added in, on every platform; two nodes whose epochs differ may
//  disagree on owners. Not ordered: compare for equality only.
uint64_t ring_epoch (const ring_t *self);

#endif
