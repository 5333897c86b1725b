/*  node/queues/qheap.h - the containers of the queue state machine (node/qstate.c):
    a binary min-heap of items keyed by (deadline, seq), an intrusive doubly
    linked list, the zhashx tables that index messages, and deadline sums.

    Heap: each entry carries copies of its keys, so sifting never touches the
    items. An indexed heap also keeps a size_t slot inside each item up to
    date, so any item can leave it in O(log n); an unindexed heap only gives
    up its top, which saves a write into a cold item at every level of a sift.
    A heap grows only in qheap_reserve: push never allocates, so a caller that
    reserves room in advance cannot fail later for lack of memory.

    List: items embed a qlink_t and the list links those; the caller maps a
    link back to its item (offsetof). The list does not own its items.

    Neither container owns its items: they are never freed here.

    Thread: pure data structures; a heap, list or table belongs to one thread.
    No globals.
*/
#ifndef WEFT_NODE_QHEAP_H
#define WEFT_NODE_QHEAP_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------ */
/*  Heap                                                                     */

//  A heap entry: the keys are copied in, so sifting never touches the item.
typedef struct {
    int64_t deadline; //  first key (a timer heap's firing time; 0 in a ready heap)
    uint64_t seq;     //  second key: the tie-break, the only key of a ready heap
    void *item;       //  the item, not owned
} qheap_entry_t;

//  A binary min-heap of items by (deadline, seq). All zeroes is a valid empty,
//  unindexed heap.
typedef struct {
    qheap_entry_t *items; //  the heap array
    size_t size;          //  items in it
    size_t cap;           //  room in items
    size_t slot_offset;   //  indexed heap: where each item keeps its size_t slot
    bool indexed;         //  maintains each item's slot
} qheap_t;

//  Makes empty HEAP indexed: from now on it keeps the size_t at SLOT_OFFSET
//  bytes into each item equal to the item's index, so qheap_remove can take
//  any item out.
void qheap_index (qheap_t *heap, size_t slot_offset);

//  Calls DROP (ITEM, ARG) on every item of HEAP, in no particular order,
//  unless DROP is NULL, then frees HEAP's array and leaves it empty, with no
//  room. NULL-safe.
void qheap_release (qheap_t *heap, void (*drop) (void *item, void *arg), void *arg);

//  Makes room for WANT items in HEAP. Returns 0 or WEFT_ENOMEM (HEAP unchanged).
int qheap_reserve (qheap_t *heap, size_t want);

//  Adds ITEM with keys (DEADLINE, SEQ) to HEAP, which must have room for it
//  (qheap_reserve): never allocates, never fails.
void qheap_push (qheap_t *heap, int64_t deadline, uint64_t seq, void *item);

//  Takes ITEM out of indexed HEAP, wherever it is. ITEM must be in HEAP.
void qheap_remove (qheap_t *heap, void *item);

//  Takes the first item (lowest deadline, then lowest seq) out of non-empty
//  HEAP and returns it.
void *qheap_pop (qheap_t *heap);

//  The first item of HEAP, or NULL when it is empty.
void *qheap_top (const qheap_t *heap);

//  Number of items in HEAP.
size_t qheap_size (const qheap_t *heap);

//  Items HEAP has room for without growing.
size_t qheap_room (const qheap_t *heap);

//  The entry at index I (< qheap_size) of HEAP, in heap order (not sorted).
//  Borrowed: valid until HEAP changes.
const qheap_entry_t *qheap_at (const qheap_t *heap, size_t i);

//  The last heap of HEAPS[0 .. N) that holds an item (with heaps by priority,
//  the highest priority that has one), or NULL when all are empty.
qheap_t *qheap_last_busy (qheap_t *heaps, int n);

//  Items in HEAPS[0 .. N) altogether.
size_t qheap_total (const qheap_t *heaps, int n);

//  Checks HEAP's own invariants: size within room, each entry ordered after
//  its parent, and (indexed) each item's slot. Returns the number of faults.
int qheap_check (const qheap_t *heap);

/* ------------------------------------------------------------------------ */
/*  List                                                                     */

//  The links an item embeds to sit on one qlist_t.
typedef struct qlink {
    struct qlink *prev; //  neighbour towards the head, NULL at the head
    struct qlink *next; //  neighbour towards the tail, NULL at the tail
} qlink_t;

//  A doubly linked list of qlink_t. All zeroes is a valid empty list.
typedef struct {
    qlink_t *head; //  first link
    qlink_t *tail; //  last link
    size_t size;   //  number of links
} qlist_t;

//  Appends LINK, on no list, to LIST.
void qlist_append (qlist_t *list, qlink_t *link);

//  Inserts LINK, on no list, at the head of LIST.
void qlist_prepend (qlist_t *list, qlink_t *link);

//  Takes the first link off LIST and returns it, or NULL when LIST is empty.
qlink_t *qlist_pop (qlist_t *list);

//  Unlinks LINK from LIST, which holds it, and clears LINK's neighbours.
void qlist_unlink (qlist_t *list, qlink_t *link);

//  The item that embeds LINK at OFFSET bytes (offsetof), or NULL when LINK
//  is NULL. QLIST_ITEM (link, type, member) does the same, typed.
void *qlist_item (qlink_t *link, size_t offset);
#define QLIST_ITEM(link, type, member) ((type *)qlist_item ((link), offsetof (type, member)))

//  Checks LIST's links (each prev points back, the tail is the last link),
//  its size, and that it has no cycle. Returns the number of faults; when it
//  is not 0 the list may be unsafe to walk.
int qlist_check (const qlist_t *list);

/* ------------------------------------------------------------------------ */
/*  Tables                                                                   */

//  Creates a zhashx table keyed by uint64_t, the keys pointing into the values
//  (no copy, no free). Returns NULL when out of memory.
zhashx_t *qheap_table_u64 (void);

//  Creates a zhashx table keyed by NUL-terminated strings, the keys pointing
//  into the values (no copy, no free). Returns NULL when out of memory.
zhashx_t *qheap_table_str (void);

//  Inserts ITEM under KEY into TABLE. Returns 0, WEFT_EINVAL when KEY is there
//  already (TABLE unchanged), or WEFT_ENOMEM.
int qheap_table_insert (zhashx_t *table, const void *key, void *item);

/* ------------------------------------------------------------------------ */
/*  Deadlines                                                                */

//  The time DELAY (>= 0) after NOW, saturating at INT64_MAX.
int64_t qheap_deadline (int64_t now, int64_t delay);

#endif
