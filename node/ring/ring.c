/*  node/ring/ring.c - see ring.h.

    Members live in an array of pointers sorted by UUID, so that a member's
    UUID string never moves while it is a member, the epoch folds members in
    one canonical order, and a scan in index order meets equal scores in
    UUID order (the lower UUID wins by keeping the first). Each member keeps
    the hash of its UUID, so a lookup hashes the queue name once and then
    mixes, takes a log and divides per member. ring_replicas writes every
    member's score into a scratch array that ring_add sizes with the
    members, so lookups never allocate, then selects the best R.
*/
#include "node/ring/ring.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "weft.h"

//  Versions the epoch's layout and the scoring method: rings of different
//  versions may disagree on owners, so they must not share epochs.
//  1 was points on a circle (3d75206), 2 is weighted rendezvous.
#define EPOCH_SEED "weft-ring/2"

//  One member of the ring.
typedef struct {
    char uuid[RING_UUID_LEN + 1]; //  lowercase hex, the member's key
    char *name;                   //  display name, owned
    int weight;                   //  capacity weight, 1..RING_WEIGHT_MAX
    uint64_t key;                 //  hash64 of uuid, mixed into every score
} member_t;

struct ring {
    int vnodes;         //  virtual nodes per unit of weight
    member_t **members; //  owned, sorted by UUID
    size_t size;        //  members in use
    size_t members_cap; //  slots allocated in members and in scores
    double *scores;     //  ring_replicas scratch: one score per member
    uint64_t epoch;     //  fingerprint of version, vnodes and the (uuid, weight) set
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

//  Makes room for one more member, in members and in scores. Returns 0 or
//  WEFT_ENOMEM (nothing changed that matters: a grown array stays usable).
static int s_reserve_member (ring_t *self)
{
    if (self->size < self->members_cap)
        return 0;
    size_t cap = self->members_cap ? self->members_cap * 2 : 8;
    member_t **members = realloc (self->members, cap * sizeof *members);
    if (!members)
        return WEFT_ENOMEM;
    self->members = members;
    double *scores = realloc (self->scores, cap * sizeof *scores);
    if (!scores)
        return WEFT_ENOMEM; //  members_cap stays, so the next add retries
    self->scores = scores;
    self->members_cap = cap;
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
    free (self->scores);
    free (self);
    *self_p = NULL;
}

//  Updates member POS to NAME (a fresh copy, owned from here on) and WEIGHT.
//  Cannot fail.
static void s_update (ring_t *self, size_t pos, char *name, int weight)
{
    member_t *member = self->members[pos];
    free (member->name);
    member->name = name;
    if (weight != member->weight) {
        member->weight = weight;
        s_epoch_update (self);
    }
}

//  Inserts a new member UUID (normalized) at POS with NAME (owned from here
//  on) and WEIGHT. Returns 0 or WEFT_ENOMEM (nothing changed; NAME is freed).
static int s_insert (ring_t *self, size_t pos, const char *uuid, char *name, int weight)
{
    member_t *member = calloc (1, sizeof *member);
    if (!member || s_reserve_member (self) != 0) {
        free (member);
        free (name);
        return WEFT_ENOMEM;
    }
    memcpy (member->uuid, uuid, RING_UUID_LEN + 1);
    member->name = name;
    member->weight = weight;
    member->key = hash64 (member->uuid, RING_UUID_LEN);
    memmove (self->members + pos + 1, self->members + pos,
             (self->size - pos) * sizeof *self->members);
    self->members[pos] = member;
    self->size++;
    s_epoch_update (self);
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
    if (s_find (self, key, &pos)) {
        s_update (self, pos, copy, weight);
        return 0;
    }
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
    s_member_destroy (&self->members[pos]);
    memmove (self->members + pos, self->members + pos + 1,
             (self->size - pos - 1) * sizeof *self->members);
    self->size--;
    s_epoch_update (self);
    return 0;
}

void ring_clear (ring_t *self)
{
    if (!self)
        return;
    for (size_t i = 0; i < self->size; i++)
        s_member_destroy (&self->members[i]);
    self->size = 0;
    s_epoch_update (self);
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

//  Score of MEMBER for the queue whose hash64_str is QUEUE_HASH: weight /
//  -ln (u), u uniform in (0, 1) drawn from the pair. u is an odd multiple
//  of 2^-53, exact in a double, never 0 or 1; so -ln (u) is in
//  [1.1e-16, 36.8] and the score finite and positive.
static double s_score (uint64_t queue_hash, const member_t *member)
{
    uint64_t x = hash64_mix (queue_hash ^ member->key);
    double u = (double)((x >> 12) << 1 | 1) * 0x1p-53;
    return (double)member->weight / -log (u);
}

const char *ring_owner (ring_t *self, const char *queue)
{
    if (!self || !queue || self->size == 0)
        return NULL;
    uint64_t hash = hash64_str (queue);
    size_t best = 0;
    double top = s_score (hash, self->members[0]);
    for (size_t i = 1; i < self->size; i++) {
        double score = s_score (hash, self->members[i]);
        //  On a tie the first, lower UUID stays.
        bool better = score > top;
        best = better ? i : best;
        top = better ? score : top;
    }
    return self->members[best]->uuid;
}

size_t ring_replicas (ring_t *self, const char *queue, size_t r, const char **out)
{
    if (!self || !queue || !out || r == 0 || self->size == 0)
        return 0;
    uint64_t hash = hash64_str (queue);
    double *scores = self->scores;
    for (size_t i = 0; i < self->size; i++)
        scores[i] = s_score (hash, self->members[i]);
    size_t want = r < self->size ? r : self->size;
    //  Each pass takes the best score left (the lower UUID on a tie) and
    //  marks it taken with -1, below every score.
    for (size_t count = 0; count < want; count++) {
        size_t best = 0;
        double top = scores[0];
        for (size_t i = 1; i < self->size; i++) {
            bool better = scores[i] > top;
            best = better ? i : best;
            top = better ? scores[i] : top;
        }
        out[count] = self->members[best]->uuid;
        scores[best] = -1;
    }
    return want;
}
