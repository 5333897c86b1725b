/*  node/qfsm/qfsm_tab.c - the containers and helpers of the replicated queue state
    machine (see qfsm_int.h): messages and their lists, an open-addressing pointer
    table, the indexed delay heap, and the streaming hash of snapshots and digests.
    None of the containers owns the items it holds.
*/
#include "node/qfsm/qfsm_int.h"

#include "common/hash.h"

/* ------------------------------------------------------------------------ */
/*  Messages and lists                                                       */

qmsg_t *qmsg_new (uint64_t seq, const char *id, size_t id_len, const void *headers,
                  size_t headers_len, const void *body, size_t body_len)
{
    qmsg_t *msg = malloc (sizeof *msg + id_len + 1 + headers_len + body_len);
    if (!msg)
        return NULL;
    memset (msg, 0, sizeof *msg);
    msg->seq = seq;
    msg->slot = QFSM_NO_SLOT;
    msg->id_len = (uint8_t)id_len;
    msg->headers_len = (uint32_t)headers_len;
    msg->body_len = (uint32_t)body_len;
    char *p = msg->data;
    if (id_len)
        memcpy (p, id, id_len);
    p[id_len] = 0;
    if (headers_len)
        memcpy (p + id_len + 1, headers, headers_len);
    if (body_len)
        memcpy (p + id_len + 1 + headers_len, body, body_len);
    return msg;
}

void qlist_m_append (qlist_m_t *list, qmsg_t *msg)
{
    msg->next = NULL;
    msg->prev = list->tail;
    if (list->tail)
        list->tail->next = msg;
    else
        list->head = msg;
    list->tail = msg;
    list->size++;
}

void qlist_m_unlink (qlist_m_t *list, qmsg_t *msg)
{
    if (msg->prev)
        msg->prev->next = msg->next;
    else
        list->head = msg->next;
    if (msg->next)
        msg->next->prev = msg->prev;
    else
        list->tail = msg->prev;
    msg->prev = msg->next = NULL;
    list->size--;
}

uint64_t qmsg_size (const qmsg_t *msg)
{
    return (uint64_t)msg->headers_len + msg->body_len;
}

bool qmsg_exhausted (const qfsm_t *self, const qmsg_t *msg)
{
    return self->config.max_deliver && !self->config.dlq &&
           msg->deliveries >= self->config.max_deliver;
}

void qmsg_detach (qfsm_t *self, qmsg_t *msg)
{
    if (msg->slot != QFSM_NO_SLOT)
        qheap_m_remove (self, msg);
    if (msg->parked) {
        qlist_m_unlink (&self->parked, msg);
        self->parked_bytes -= qmsg_size (msg);
    } else {
        qlist_m_unlink (&self->lists[msg->priority], msg);
        self->bytes -= qmsg_size (msg);
    }
    qtab_remove (&self->by_seq, msg);
}

/* ------------------------------------------------------------------------ */
/*  Table                                                                    */

//  Slots for WANT items at load <= 1/2 (a power of two, at least 16).
static size_t s_slots_for (size_t want)
{
    size_t slots = 16;
    while (slots / 2 < want)
        slots *= 2;
    return slots;
}

int qtab_init (qtab_t *tab, uint64_t (*hash_of) (const void *), size_t want)
{
    memset (tab, 0, sizeof *tab);
    tab->hash_of = hash_of;
    return qtab_reserve (tab, want);
}

void qtab_fini (qtab_t *tab)
{
    free (tab->slots);
    tab->slots = NULL;
    tab->mask = tab->count = 0;
}

//  Puts ITEM into the first free slot of its probe sequence.
static void s_place (void **slots, size_t mask, void *item, uint64_t hash)
{
    size_t i = (size_t)hash & mask;
    while (slots[i])
        i = (i + 1) & mask;
    slots[i] = item;
}

int qtab_reserve (qtab_t *tab, size_t want)
{
    if (want > SIZE_MAX / 4)
        return WEFT_ENOMEM;
    size_t slots = s_slots_for (want);
    if (tab->slots && slots <= tab->mask + 1)
        return 0;
    void **fresh = calloc (slots, sizeof *fresh);
    if (!fresh)
        return WEFT_ENOMEM;
    for (size_t i = 0; tab->slots && i <= tab->mask; i++)
        if (tab->slots[i])
            s_place (fresh, slots - 1, tab->slots[i], tab->hash_of (tab->slots[i]));
    free (tab->slots);
    tab->slots = fresh;
    tab->mask = slots - 1;
    return 0;
}

void *qtab_find (const qtab_t *tab, uint64_t hash, bool (*eq) (const void *, const void *),
                 const void *key)
{
    if (!tab->slots)
        return NULL;
    for (size_t i = (size_t)hash & tab->mask; tab->slots[i]; i = (i + 1) & tab->mask)
        if (eq (tab->slots[i], key))
            return tab->slots[i];
    return NULL;
}

void qtab_insert (qtab_t *tab, void *item)
{
    s_place (tab->slots, tab->mask, item, tab->hash_of (item));
    tab->count++;
}

//  Deletes ITEM by shifting back the entries of its cluster that would no longer
//  be found (no tombstones, so probes stay short).
void qtab_remove (qtab_t *tab, const void *item)
{
    size_t mask = tab->mask;
    size_t i = (size_t)tab->hash_of (item) & mask;
    while (tab->slots[i] != item)
        i = (i + 1) & mask;
    for (size_t j = (i + 1) & mask; tab->slots[j]; j = (j + 1) & mask) {
        size_t home = (size_t)tab->hash_of (tab->slots[j]) & mask;
        //  The entry at J may move to I when its home is not in (I, J] cyclically.
        if (((j - home) & mask) >= ((j - i) & mask)) {
            tab->slots[i] = tab->slots[j];
            i = j;
        }
    }
    tab->slots[i] = NULL;
    tab->count--;
}

uint64_t qfsm_seq_hash (uint64_t seq)
{
    return hash64_mix (seq);
}

uint64_t qfsm_id_hash (const char *id, size_t len)
{
    return hash64 (id, len);
}

uint64_t qmsg_hash_of (const void *item)
{
    return qfsm_seq_hash (((const qmsg_t *)item)->seq);
}

uint64_t qdd_hash_of (const void *item)
{
    return ((const qdd_t *)item)->hash;
}

/* ------------------------------------------------------------------------ */
/*  Delay heap: min-heap of messages by (not_before, seq), each knowing its slot */

//  True when A is due before B.
static bool s_before (const qmsg_t *a, const qmsg_t *b)
{
    if (a->not_before != b->not_before)
        return a->not_before < b->not_before;
    return a->seq < b->seq;
}

//  Stores MSG at SLOT.
static void s_set (qfsm_t *self, size_t slot, qmsg_t *msg)
{
    self->heap[slot] = msg;
    msg->slot = (uint32_t)slot;
}

//  Sifts the message at SLOT up, then down, to where it belongs.
static void s_sift (qfsm_t *self, size_t slot)
{
    qmsg_t *msg = self->heap[slot];
    while (slot > 0 && s_before (msg, self->heap[(slot - 1) / 2])) {
        s_set (self, slot, self->heap[(slot - 1) / 2]);
        slot = (slot - 1) / 2;
    }
    for (;;) {
        size_t child = 2 * slot + 1;
        if (child >= self->heap_size)
            break;
        if (child + 1 < self->heap_size && s_before (self->heap[child + 1], self->heap[child]))
            child++;
        if (!s_before (self->heap[child], msg))
            break;
        s_set (self, slot, self->heap[child]);
        slot = child;
    }
    s_set (self, slot, msg);
}

int qheap_m_reserve (qfsm_t *self, size_t want)
{
    if (want <= self->heap_cap)
        return 0;
    if (want >= QFSM_NO_SLOT)
        return WEFT_ENOMEM;
    size_t cap = self->heap_cap ? self->heap_cap : 16;
    while (cap < want)
        cap *= 2;
    qmsg_t **heap = realloc (self->heap, cap * sizeof *heap);
    if (!heap)
        return WEFT_ENOMEM;
    self->heap = heap;
    self->heap_cap = cap;
    return 0;
}

void qheap_m_push (qfsm_t *self, qmsg_t *msg)
{
    size_t slot = self->heap_size++;
    s_set (self, slot, msg);
    s_sift (self, slot);
}

void qheap_m_remove (qfsm_t *self, qmsg_t *msg)
{
    size_t slot = msg->slot;
    qmsg_t *last = self->heap[--self->heap_size];
    msg->slot = QFSM_NO_SLOT;
    if (slot == self->heap_size)
        return;
    s_set (self, slot, last);
    s_sift (self, slot);
}

qmsg_t *qheap_m_top (const qfsm_t *self)
{
    return self->heap_size ? self->heap[0] : NULL;
}

/* ------------------------------------------------------------------------ */
/*  Streaming hash: 8 bytes at a time, multiply-rotate, finished with hash64_mix  */

#define QHASH_K1 0x9e3779b97f4a7c15ULL
#define QHASH_K2 0xc2b2ae3d27d4eb4fULL

//  Absorbs one little-endian word.
static void s_absorb (qhash_t *hash, uint64_t word)
{
    uint64_t x = hash->h ^ (word * QHASH_K1);
    hash->h = ((x << 31) | (x >> 33)) * QHASH_K2;
}

void qhash_init (qhash_t *hash)
{
    memset (hash, 0, sizeof *hash);
    hash->h = 0x51464d31ULL; //  "QFM1"
}

void qhash_add (qhash_t *hash, const void *data, size_t len)
{
    const uint8_t *p = data;
    hash->total += len;
    while (len && hash->fill) {
        hash->word |= (uint64_t)*p++ << (8 * hash->fill);
        len--;
        if (++hash->fill == 8) {
            s_absorb (hash, hash->word);
            hash->word = 0;
            hash->fill = 0;
        }
    }
    for (; len >= 8; p += 8, len -= 8)
        s_absorb (hash, qget_u64 (p));
    for (; len; len--)
        hash->word |= (uint64_t)*p++ << (8 * hash->fill++);
}

uint64_t qhash_end (const qhash_t *hash)
{
    qhash_t copy = *hash;
    s_absorb (&copy, copy.word);
    s_absorb (&copy, copy.total);
    return hash64_mix (copy.h);
}
