/*  node/ring.c - see ring.h.

    Members live in an array of pointers sorted by UUID, so that a member's
    UUID string never moves while it is a member, the epoch folds members in
    one canonical order, and a virtual node can name its member by index (the
    index order is the UUID order, which breaks ties of equal hashes). The
    virtual-node array always has room for every virtual node (reserved by
    ring_add) and is refilled and sorted lazily, on the first lookup after a
    change.
*/
#include "node/ring.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "weft.h"

#define EPOCH_SEED "weft-ring/1" //  versions the epoch's layout

//  One member of the ring.
typedef struct {
    char uuid[RING_UUID_LEN + 1]; //  lowercase hex, the member's key
    char *name;                   //  display name, owned
    int weight;                   //  capacity weight, 1..RING_WEIGHT_MAX
} member_t;

//  One virtual node: a point on the ring.
typedef struct {
    uint64_t hash;   //  position: hash64 ("U#i")
    uint32_t member; //  index into members (ascending UUID)
    uint32_t index;  //  i in "U#i"
} vnode_t;

struct ring {
    int vnodes;         //  virtual nodes per unit of weight
    member_t **members; //  owned, sorted by UUID
    size_t size;        //  members in use
    size_t members_cap; //  slots allocated in members
    vnode_t *points;    //  virtual nodes, sorted by (hash, member, index) when !dirty
    size_t points_cap;  //  slots allocated in points
    size_t total;       //  virtual nodes of all members: sum of vnodes * weight
    bool dirty;         //  points must be rebuilt before the next lookup
    uint64_t epoch;     //  fingerprint of vnodes and the (uuid, weight) set
};

//  Writes the lowercase form of UUID into OUT (RING_UUID_LEN + 1 bytes).
//  Returns false unless UUID is exactly RING_UUID_LEN hex digits.
static bool s_uuid_normalize (const char *uuid, char *out)
{
    for (size_t i = 0; i < RING_UUID_LEN; i++) {
        char c = uuid[i];
        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false; //  also stops at a NUL before 32 digits
        out[i] = c;
    }
    out[RING_UUID_LEN] = '\0';
    return uuid[RING_UUID_LEN] == '\0';
}

//  Binary search for normalized UUID: returns true when it is a member and
//  stores its index in *POS, otherwise stores where it would be inserted.
static bool s_find (const ring_t *self, const char *uuid, size_t *pos)
{
    size_t low = 0, high = self->size;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        int cmp = memcmp (self->members[mid]->uuid, uuid, RING_UUID_LEN);
        if (cmp == 0) {
            *pos = mid;
            return true;
        }
        if (cmp < 0)
            low = mid + 1;
        else
            high = mid;
    }
    *pos = low;
    return false;
}

//  Number of virtual nodes a member of WEIGHT contributes.
static size_t s_member_vnodes (const ring_t *self, int weight)
{
    return (size_t)self->vnodes * (size_t)weight;
}

//  Makes room for one more member. Returns 0 or WEFT_ENOMEM (nothing changed).
static int s_reserve_member (ring_t *self)
{
    if (self->size < self->members_cap)
        return 0;
    if (self->size >= UINT32_MAX)
        return WEFT_ENOMEM; //  vnode_t names members with 32 bits
    size_t cap = self->members_cap ? self->members_cap * 2 : 8;
    member_t **members = realloc (self->members, cap * sizeof *members);
    if (!members)
        return WEFT_ENOMEM;
    self->members = members;
    self->members_cap = cap;
    return 0;
}

//  Makes room for TOTAL virtual nodes. Returns 0 or WEFT_ENOMEM (nothing changed).
static int s_reserve_points (ring_t *self, size_t total)
{
    if (total <= self->points_cap)
        return 0;
    size_t cap = self->points_cap ? self->points_cap : 64;
    while (cap < total)
        cap *= 2;
    vnode_t *points = realloc (self->points, cap * sizeof *points);
    if (!points)
        return WEFT_ENOMEM;
    self->points = points;
    self->points_cap = cap;
    return 0;
}

//  Stores VALUE big-endian in the LEN bytes at OUT, so the epoch does not
//  depend on the platform's byte order.
static void s_put_be (uint8_t *out, uint64_t value, size_t len)
{
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)(value >> (8 * (len - 1 - i)));
}

//  Recomputes the epoch: a chain of hash64 over the seed and vnodes, then
//  over (previous, uuid, weight) for each member in ascending UUID order.
static void s_epoch_update (ring_t *self)
{
    uint8_t seed[sizeof EPOCH_SEED - 1 + 4];
    memcpy (seed, EPOCH_SEED, sizeof EPOCH_SEED - 1);
    s_put_be (seed + sizeof EPOCH_SEED - 1, (uint64_t)self->vnodes, 4);
    uint64_t epoch = hash64 (seed, sizeof seed);
    for (size_t i = 0; i < self->size; i++) {
        uint8_t link[8 + RING_UUID_LEN + 4];
        s_put_be (link, epoch, 8);
        memcpy (link + 8, self->members[i]->uuid, RING_UUID_LEN);
        s_put_be (link + 8 + RING_UUID_LEN, (uint64_t)self->members[i]->weight, 4);
        epoch = hash64 (link, sizeof link);
    }
    self->epoch = epoch;
}

//  Records a change of the member set: new epoch, points rebuilt on next lookup.
static void s_changed (ring_t *self)
{
    s_epoch_update (self);
    self->dirty = true;
}

//  Destroys a member and its name, and nulls *MEMBER_P. NULL-safe.
static void s_member_destroy (member_t **member_p)
{
    if (*member_p) {
        free ((*member_p)->name);
        free (*member_p);
        *member_p = NULL;
    }
}

ring_t *ring_new (int vnodes)
{
    if (vnodes < 1 || vnodes > RING_VNODES_MAX)
        return NULL;
    ring_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->vnodes = vnodes;
    s_epoch_update (self);
    return self;
}

void ring_destroy (ring_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ring_t *self = *self_p;
    ring_clear (self);
    free (self->members);
    free (self->points);
    free (self);
    *self_p = NULL;
}

//  Updates member POS to NAME (a fresh copy, owned from here on) and WEIGHT.
//  Returns 0 or WEFT_ENOMEM (nothing changed; NAME is freed).
static int s_update (ring_t *self, size_t pos, char *name, int weight)
{
    member_t *member = self->members[pos];
    if (weight != member->weight) {
        size_t total =
            self->total - s_member_vnodes (self, member->weight) + s_member_vnodes (self, weight);
        if (s_reserve_points (self, total) != 0) {
            free (name);
            return WEFT_ENOMEM;
        }
        self->total = total;
        member->weight = weight;
        s_changed (self);
    }
    free (member->name);
    member->name = name;
    return 0;
}

//  Inserts a new member UUID (normalized) at POS with NAME (owned from here
//  on) and WEIGHT. Returns 0 or WEFT_ENOMEM (nothing changed; NAME is freed).
static int s_insert (ring_t *self, size_t pos, const char *uuid, char *name, int weight)
{
    size_t total = self->total + s_member_vnodes (self, weight);
    member_t *member = calloc (1, sizeof *member);
    if (!member || s_reserve_member (self) != 0 || s_reserve_points (self, total) != 0) {
        free (member);
        free (name);
        return WEFT_ENOMEM;
    }
    memcpy (member->uuid, uuid, RING_UUID_LEN + 1);
    member->name = name;
    member->weight = weight;
    memmove (self->members + pos + 1, self->members + pos,
             (self->size - pos) * sizeof *self->members);
    self->members[pos] = member;
    self->size++;
    self->total = total;
    s_changed (self);
    return 0;
}

int ring_add (ring_t *self, const char *uuid, const char *name, int weight)
{
    char key[RING_UUID_LEN + 1];
    if (!self || !uuid || !s_uuid_normalize (uuid, key))
        return WEFT_EINVAL;
    if (weight < 1 || weight > RING_WEIGHT_MAX)
        return WEFT_EINVAL;
    if (!name)
        name = "";
    if (strnlen (name, RING_NAME_MAX + 1) > RING_NAME_MAX)
        return WEFT_EINVAL;
    char *copy = strdup (name);
    if (!copy)
        return WEFT_ENOMEM;
    size_t pos;
    if (s_find (self, key, &pos))
        return s_update (self, pos, copy, weight);
    return s_insert (self, pos, key, copy, weight);
}

int ring_remove (ring_t *self, const char *uuid)
{
    char key[RING_UUID_LEN + 1];
    size_t pos;
    if (!self || !uuid)
        return WEFT_EINVAL;
    if (!s_uuid_normalize (uuid, key) || !s_find (self, key, &pos))
        return WEFT_ENOTFOUND; //  a malformed UUID cannot be a member
    self->total -= s_member_vnodes (self, self->members[pos]->weight);
    s_member_destroy (&self->members[pos]);
    memmove (self->members + pos, self->members + pos + 1,
             (self->size - pos - 1) * sizeof *self->members);
    self->size--;
    s_changed (self);
    return 0;
}

void ring_clear (ring_t *self)
{
    if (!self)
        return;
    for (size_t i = 0; i < self->size; i++)
        s_member_destroy (&self->members[i]);
    self->size = 0;
    self->total = 0;
    s_changed (self);
}

size_t ring_size (const ring_t *self)
{
    return self ? self->size : 0;
}

int ring_vnodes (const ring_t *self)
{
    return self ? self->vnodes : 0;
}

int ring_member (const ring_t *self, size_t index, const char **uuid, const char **name,
                 int *weight)
{
    if (!self || index >= self->size)
        return WEFT_EINVAL;
    const member_t *member = self->members[index];
    if (uuid)
        *uuid = member->uuid;
    if (name)
        *name = member->name;
    if (weight)
        *weight = member->weight;
    return 0;
}

uint64_t ring_epoch (const ring_t *self)
{
    return self ? self->epoch : 0;
}

//  Position of virtual node INDEX of member UUID: hash64 of "UUID#INDEX".
static uint64_t s_vnode_hash (const char *uuid, uint32_t index)
{
    char text[RING_UUID_LEN + 16];
    int len = snprintf (text, sizeof text, "%s#%u", uuid, (unsigned)index);
    return hash64 (text, (size_t)len);
}

//  qsort order of virtual nodes: by hash, then member (that is, UUID), then index.
static int s_vnode_compare (const void *a, const void *b)
{
    const vnode_t *x = a, *y = b;
    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    if (x->member != y->member)
        return x->member < y->member ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

//  Refills and sorts the virtual nodes if the member set changed since the
//  last lookup. Never allocates: ring_add reserved points_cap >= total.
static void s_prepare (ring_t *self)
{
    if (!self->dirty)
        return;
    size_t n = 0;
    for (size_t m = 0; m < self->size; m++) {
        uint32_t count = (uint32_t)s_member_vnodes (self, self->members[m]->weight);
        for (uint32_t i = 0; i < count; i++) {
            self->points[n].hash = s_vnode_hash (self->members[m]->uuid, i);
            self->points[n].member = (uint32_t)m;
            self->points[n].index = i;
            n++;
        }
    }
    qsort (self->points, n, sizeof *self->points, s_vnode_compare);
    self->dirty = false;
}

//  Index of the first virtual node clockwise from HASH: the lowest with a
//  hash >= HASH, or 0 (wrap around) when there is none. The ring is not empty.
static size_t s_successor (const ring_t *self, uint64_t hash)
{
    size_t low = 0, high = self->total;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        if (self->points[mid].hash < hash)
            low = mid + 1;
        else
            high = mid;
    }
    return low == self->total ? 0 : low;
}

const char *ring_owner (ring_t *self, const char *queue)
{
    if (!self || !queue || self->size == 0)
        return NULL;
    s_prepare (self);
    size_t at = s_successor (self, hash64_str (queue));
    return self->members[self->points[at].member]->uuid;
}

//  True when UUID (a member's own string) is among the COUNT entries of OUT.
static bool s_listed (const char **out, size_t count, const char *uuid)
{
    for (size_t i = 0; i < count; i++)
        if (out[i] == uuid)
            return true;
    return false;
}

size_t ring_replicas (ring_t *self, const char *queue, size_t r, const char **out)
{
    if (!self || !queue || !out || r == 0 || self->size == 0)
        return 0;
    s_prepare (self);
    size_t want = r < self->size ? r : self->size;
    size_t at = s_successor (self, hash64_str (queue));
    size_t count = 0;
    //  Every member has at least one virtual node, so one lap finds them all.
    for (size_t step = 0; step < self->total && count < want; step++) {
        const char *uuid = self->members[self->points[(at + step) % self->total].member]->uuid;
        if (!s_listed (out, count, uuid))
            out[count++] = uuid;
    }
    return count;
}
