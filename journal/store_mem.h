/*  journal/store_mem.h - an in-memory disk for the journal, that outlives
    journal handles and models what a crash keeps, for the deterministic
    simulator (a cluster of real nodes in one process) and for tests. Open a
    journal on it with journal_options_t.disk (the directory is then only a
    label); the store behind it is store_mem_ops (journal/store.h).

    Durability model, LevelDB's:
      - a write committed with sync = true is durable, and so is every write
        committed before it (LevelDB's fsync of its log covers the records
        before the synced one);
      - a write committed with sync = false is "in the OS page cache": it
        survives a crash of the process but not a power loss or a kernel
        crash. The simulator's crash is the worst case of those: it loses
        writes not yet synced, but only a suffix of them, whole batches,
        because LevelDB's log recovers a prefix of its records.
    So a disk holds durable batches, then unsynced ones, in commit order:
      jdisk_crash (d, keep)  keeps the first KEEP unsynced batches (0: none;
                             more than there are: all) and drops the others;
      jdisk_sync_all (d)     the OS flushed everything: all becomes durable;
      jdisk_wipe (d)         the disk is lost: nothing is left.
    A batch is never split: after any of these it is all there or not at all.

    Crash protocol. A disk is open by at most one journal at a time (a second
    open fails with WEFT_ELOCKED, as LevelDB's lock does). Crash and wipe need
    it closed: close the node's journal first with journal_close (), which
    writes nothing to a memory disk (the staged batch it discards is what the
    crash loses anyway), then jdisk_crash (), then journal_open () again on
    the same disk. jdisk_crash () and jdisk_wipe () on an open disk refuse
    with WEFT_ESTATE and change nothing.

    Faults. jdisk_fail_writes (d, err) makes every write, and every open, fail
    with ERR (WEFT_ENOSPC "disk full", WEFT_EIO) without changing anything,
    until jdisk_fail_writes (d, 0). Reads still work.

    Determinism: no clock, no randomness, no globals; the same calls give
    the same state. Keys are kept in a skip list in bytewise order (node
    heights come from a hash of the key and version): O(log n) lookups and
    seeks. Old versions of keys stay while an iterator's snapshot or an
    unsynced batch may still need them, and are swept in amortized O(1) per
    write; a simulator that never syncs should call jdisk_sync_all () now and
    then, as an OS flushes its cache.

    Thread: a disk belongs to one thread (the simulator's).
*/
#ifndef WEFT_JOURNAL_STORE_MEM_H
#define WEFT_JOURNAL_STORE_MEM_H

#include <stdint.h>

#include "journal/store.h"

//  A new empty disk, or NULL when out of memory.
jdisk_t *jdisk_new (void);

//  Frees the disk and everything on it, and nulls *SELF_P. NULL-safe. No
//  journal may be open on it.
void jdisk_destroy (jdisk_t **self_p);

//  A crash: drops every unsynced batch but the first KEEP (in commit order);
//  the kept ones become durable. Returns 0, or WEFT_ESTATE (changing nothing)
//  while a journal has the disk open.
int jdisk_crash (jdisk_t *self, uint64_t keep);

//  Disk loss: drops everything. Returns 0, or WEFT_ESTATE while open.
int jdisk_wipe (jdisk_t *self);

//  Makes every committed batch durable (the OS flushed its cache).
void jdisk_sync_all (jdisk_t *self);

//  Makes writes and opens fail with ERR (a WEFT_E* code, e.g. WEFT_ENOSPC or
//  WEFT_EIO) until called again with 0.
void jdisk_fail_writes (jdisk_t *self, int err);

//  Returns how many committed batches are not durable yet (what a crash may
//  lose): jdisk_crash (d, k) with k < that loses some.
uint64_t jdisk_unsynced (const jdisk_t *self);

//  Returns the number of live keys on the disk (as the last write left it).
uint64_t jdisk_keys (const jdisk_t *self);

#endif
