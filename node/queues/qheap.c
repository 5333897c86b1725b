/*  node/queues/qheap.c - heap, list and tables of the queue state machine (see qheap.h). */
#include "node/queues/qheap.h"

#include "weft.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/*  Heap                                                                     */

//  True when A comes out of a heap before B.
static bool s_before (const qheap_entry_t *a, const qheap_entry_t *b)
{
    if (a->deadline != b->deadline)
        return a->deadline < b->deadline;
    return a->seq < b->seq;
}

//  The slot ITEM keeps for indexed HEAP.
static size_t *s_slot_of (const qheap_t *heap, void *item)
{
    return (size_t *)((char *)item + heap->slot_offset);
}

//  Stores ENTRY at SLOT; an indexed heap tells the item where it is.
static void s_set (qheap_t *heap, size_t slot, qheap_entry_t entry)
{
    heap->items[slot] = entry;
    if (heap->indexed)
        *s_slot_of (heap, entry.item) = slot;
}

//  Moves the entry at SLOT up until its parent comes before it.
static void s_up (qheap_t *heap, size_t slot)
{
    qheap_entry_t entry = heap->items[slot];
    while (slot > 0) {
        size_t parent = (slot - 1) / 2;
        if (!s_before (&entry, &heap->items[parent]))
            break;
        s_set (heap, slot, heap->items[parent]);
        slot = parent;
    }
    s_set (heap, slot, entry);
}

//  Moves the entry at SLOT down until it comes before its children.
static void s_down (qheap_t *heap, size_t slot)
{
    qheap_entry_t entry = heap->items[slot];
    for (;;) {
        size_t child = 2 * slot + 1;
        if (child >= heap->size)
            break;
        if (child + 1 < heap->size && s_before (&heap->items[child + 1], &heap->items[child]))
            child++;
        if (!s_before (&heap->items[child], &entry))
            break;
        s_set (heap, slot, heap->items[child]);
        slot = child;
    }
    s_set (heap, slot, entry);
}

//  Takes the entry at SLOT out of HEAP.
static void s_take (qheap_t *heap, size_t slot)
{
    qheap_entry_t last = heap->items[--heap->size];
    if (slot == heap->size)
        return;
    s_set (heap, slot, last);
    if (slot > 0 && s_before (&last, &heap->items[(slot - 1) / 2]))
        s_up (heap, slot);
    else
        s_down (heap, slot);
}

void qheap_index (qheap_t *heap, size_t slot_offset)
{
    heap->slot_offset = slot_offset;
    heap->indexed = true;
}

void qheap_release (qheap_t *heap, void (*drop) (void *item, void *arg), void *arg)
{
    if (!heap)
        return;
    for (size_t i = 0; drop && i < heap->size; i++)
        drop (heap->items[i].item, arg);
    free (heap->items);
    heap->items = NULL;
    heap->size = heap->cap = 0;
}

int qheap_reserve (qheap_t *heap, size_t want)
{
    if (want <= heap->cap)
        return 0;
    size_t cap = heap->cap ? heap->cap : 16;
    while (cap < want)
        cap *= 2;
    qheap_entry_t *items = realloc (heap->items, cap * sizeof *items);
    if (!items)
        return WEFT_ENOMEM;
    heap->items = items;
    heap->cap = cap;
    return 0;
}

void qheap_push (qheap_t *heap, int64_t deadline, uint64_t seq, void *item)
{
    size_t slot = heap->size++;
    s_set (heap, slot, (qheap_entry_t){deadline, seq, item});
    s_up (heap, slot);
}

void qheap_remove (qheap_t *heap, void *item)
{
    s_take (heap, *s_slot_of (heap, item));
}

void *qheap_pop (qheap_t *heap)
{
    void *item = heap->items[0].item;
    s_take (heap, 0);
    return item;
}

void *qheap_top (const qheap_t *heap)
{
    return heap->size ? heap->items[0].item : NULL;
}

size_t qheap_size (const qheap_t *heap)
{
    return heap->size;
}

size_t qheap_room (const qheap_t *heap)
{
    return heap->cap;
}

const qheap_entry_t *qheap_at (const qheap_t *heap, size_t i)
{
    return &heap->items[i];
}

qheap_t *qheap_last_busy (qheap_t *heaps, int n)
{
    for (int i = n - 1; i >= 0; i--)
        if (heaps[i].size)
            return &heaps[i];
    return NULL;
}

size_t qheap_total (const qheap_t *heaps, int n)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += heaps[i].size;
    return total;
}

int qheap_check (const qheap_t *heap)
{
    int faults = heap->size > heap->cap;
    for (size_t i = 0; i < heap->size; i++) {
        const qheap_entry_t *entry = &heap->items[i];
        faults += heap->indexed && *s_slot_of (heap, entry->item) != i;
        faults += i > 0 && s_before (entry, &heap->items[(i - 1) / 2]);
    }
    return faults;
}

/* ------------------------------------------------------------------------ */
/*  List                                                                     */

void qlist_append (qlist_t *list, qlink_t *link)
{
    link->next = NULL;
    link->prev = list->tail;
    if (list->tail)
        list->tail->next = link;
    else
        list->head = link;
    list->tail = link;
    list->size++;
}

void qlist_prepend (qlist_t *list, qlink_t *link)
{
    link->prev = NULL;
    link->next = list->head;
    if (list->head)
        list->head->prev = link;
    else
        list->tail = link;
    list->head = link;
    list->size++;
}

void qlist_unlink (qlist_t *list, qlink_t *link)
{
    if (link->prev)
        link->prev->next = link->next;
    else
        list->head = link->next;
    if (link->next)
        link->next->prev = link->prev;
    else
        list->tail = link->prev;
    link->prev = link->next = NULL;
    list->size--;
}

void *qlist_item (qlink_t *link, size_t offset)
{
    return link ? (char *)link - offset : NULL;
}

qlink_t *qlist_pop (qlist_t *list)
{
    qlink_t *link = list->head;
    if (link)
        qlist_unlink (list, link);
    return link;
}

int qlist_check (const qlist_t *list)
{
    int faults = 0;
    size_t size = 0;
    const qlink_t *prev = NULL;
    for (const qlink_t *link = list->head; link; prev = link, link = link->next, size++) {
        faults += link->prev != prev;
        if (size > list->size)
            return faults + 1; //  a cycle
    }
    return faults + (size != list->size) + (list->tail != prev);
}

/* ------------------------------------------------------------------------ */
/*  Tables                                                                   */

//  Hashes a uint64_t key (the splitmix64 finalizer: sequential seqs spread well).
static size_t s_u64_hash (const void *key)
{
    uint64_t x = *(const uint64_t *)key;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return (size_t)(x ^ (x >> 31));
}

//  Orders two uint64_t keys.
static int s_u64_compare (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

//  Hashes a string key with FNV-1a (zhashx's default is weak on "m1".."m999999").
static size_t s_str_hash (const void *key)
{
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (const unsigned char *c = key; *c; c++)
        hash = (hash ^ *c) * 0x100000001b3ULL;
    return (size_t)hash;
}

//  Orders two string keys.
static int s_str_compare (const void *a, const void *b)
{
    return strcmp (a, b);
}

//  Creates a hash table whose keys point into the values (no copy, no free).
static zhashx_t *s_table_new (zhashx_hash_fn *hasher, zhashx_comparator_fn *compare)
{
    zhashx_t *table = zhashx_new ();
    if (table) {
        zhashx_set_key_duplicator (table, NULL);
        zhashx_set_key_destructor (table, NULL);
        zhashx_set_key_hasher (table, hasher);
        zhashx_set_key_comparator (table, compare);
    }
    return table;
}

zhashx_t *qheap_table_u64 (void)
{
    return s_table_new (s_u64_hash, s_u64_compare);
}

zhashx_t *qheap_table_str (void)
{
    return s_table_new (s_str_hash, s_str_compare);
}

int qheap_table_insert (zhashx_t *table, const void *key, void *item)
{
    if (zhashx_insert (table, key, item) == 0)
        return 0;
    return zhashx_lookup (table, key) ? WEFT_EINVAL : WEFT_ENOMEM;
}

/* ------------------------------------------------------------------------ */
/*  Deadlines                                                                */

int64_t qheap_deadline (int64_t now, int64_t delay)
{
    return now > INT64_MAX - delay ? INT64_MAX : now + delay;
}
