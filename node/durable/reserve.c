/*  node/durable/reserve.c - durable topics on the publisher's side: the
    sequence numbers of each stream are reserved durably, a block at a time,
    before any of them is given out, so that a publisher never gives a
    number twice - not even after a power cut that lost its last writes.

    A stream's reserved ceiling is the meta key "r/<stream>" = u64
    big-endian (docs/JOURNAL.md). Publishing the first number above it
    stages the next block (ceiling = seq + durable.seq_block - 1) in the
    same batch as the entry, and marks that batch to be synced even when
    journal.sync is async: the message is sent only after the batch
    committed, so every number a subscriber ever saw is at most a ceiling
    that is on disk. One synced write per block, whatever the rate.

    At start a stream goes on at max (its last journaled seq, its ceiling) +
    1: above anything it ever sent. The numbers in between (those a power
    cut took, and those reserved and never used) are a known-empty range:
    replays answer it as such (replay.c: REPLAY_TRUNC at the range), and
    HEAD announces the ceiling, so subscribers move on. A clean stop gives
    the unused part of the block back (ceiling = last seq), so that a clean
    restart leaves no such range. With journal.sync = sync every batch is
    synced anyway: the journaled entries are the durable HEAD, nothing is
    reserved, and a crash leaves no range (only the ceiling of an earlier
    asynchronous run is still respected).
*/
#include "node/durable/durable.h"

#include "node/core/config.h"

//  What a stream has reserved.
typedef struct {
    uint64_t ceiling; //  highest seq reserved on disk (committed)
    uint64_t staged;  //  highest seq reserved, the pending batch included (>= ceiling)
    uint64_t skipped; //  the ceiling when this run started: numbers up to it are not reused
} seq_res_t;

static void res_put (uint8_t *value, uint64_t seq)
{
    for (int i = 0; i < 8; i++)
        value[i] = (uint8_t)(seq >> (56 - 8 * i));
}

//  Loads one reservation from the journal (at start).
static void load_one (const char *key, const void *value, size_t len, void *arg)
{
    durable_t *ds = arg;
    seq_res_t *res = len == 8 ? calloc (1, sizeof *res) : NULL;
    if (!res)
        return;
    const uint8_t *v = value;
    for (int i = 0; i < 8; i++)
        res->ceiling = res->ceiling << 8 | v[i];
    res->staged = res->skipped = res->ceiling;
    zhashx_update (ds->reserved, key + strlen (RESERVE_PREFIX), res);
}

int reserve_start (node_t *self, durable_t *ds)
{
    ds->reserved = zhashx_new ();
    if (!ds->reserved)
        return WEFT_ENOMEM;
    zhashx_set_destructor (ds->reserved, (zhashx_destructor_fn *)zstr_free);
    ds->seq_block = (uint64_t)config_int (self->cfg, CFG_DURABLE_SEQ_BLOCK);
    if (!self->journal)
        return 0;
    int rc = journal_meta_scan (self->journal, RESERVE_PREFIX, load_one, ds);
    //  every stream's head is announced again: a subscriber that missed the
    //  tail before we stopped (or crashed) learns of it now
    for (seq_res_t *res = zhashx_first (ds->reserved); res && rc == 0;
         res = zhashx_next (ds->reserved)) {
        const char *stream = zhashx_cursor (ds->reserved);
        journal_stats_t st;
        if (strncmp (stream, DURABLE_STREAM_PREFIX, 2) == 0 &&
            journal_stats (self->journal, stream, &st) == 0)
            durable_head_set (self, ds, stream + 2,
                              st.last_seq > res->skipped ? st.last_seq : res->skipped);
    }
    return rc;
}

void reserve_stop (node_t *self, durable_t *ds)
{
    for (seq_res_t *res = self && self->journal && ds->reserved ? zhashx_first (ds->reserved)
                                                                : NULL;
         res; res = zhashx_next (ds->reserved)) {
        const char *stream = zhashx_cursor (ds->reserved);
        journal_stats_t st;
        if (journal_stats (self->journal, stream, &st) != 0)
            continue;
        //  never below what this run started above: those may have been seen
        uint64_t keep = st.last_seq > res->skipped ? st.last_seq : res->skipped;
        if (keep >= res->staged)
            continue;
        uint8_t value[8];
        char key[JOURNAL_NAME_MAX + 8];
        res_put (value, keep);
        snprintf (key, sizeof key, RESERVE_PREFIX "%s", stream);
        journal_meta_put (self->journal, key, value, sizeof value);
    }
    zhashx_destroy (&ds->reserved);
}

uint64_t reserve_next (node_t *self, durable_t *ds, const char *stream)
{
    seq_res_t *res = zhashx_lookup (ds->reserved, stream);
    if (!res && (res = calloc (1, sizeof *res)))
        zhashx_insert (ds->reserved, stream, res);
    if (!res)
        return 0;
    uint64_t seq = journal_next_seq (self->journal, stream);
    if (seq <= res->skipped)
        seq = res->skipped + 1; //  after a crash: above anything ever sent
    if (seq <= res->staged || self->journal_sync)
        return seq; //  reserved, or every commit is synced: the entries are the HEAD
    uint64_t ceiling = seq + ds->seq_block - 1;
    uint8_t value[8];
    char key[JOURNAL_NAME_MAX + 8];
    res_put (value, ceiling);
    snprintf (key, sizeof key, RESERVE_PREFIX "%s", stream);
    if (journal_meta_put (self->journal, key, value, sizeof value) != 0)
        return 0;
    journal_sync_next (self->journal); //  before any of them goes out
    res->staged = ceiling;
    ds->reserve_due = true;
    return seq;
}

void reserve_after_commit (durable_t *ds, bool ok)
{
    if (!ds->reserve_due)
        return;
    ds->reserve_due = false;
    for (seq_res_t *res = zhashx_first (ds->reserved); res; res = zhashx_next (ds->reserved))
        if (ok)
            res->ceiling = res->staged;
        else
            res->staged = res->ceiling; //  not on disk: reserved again by the next publish
}

uint64_t reserve_skipped_to (durable_t *ds, const char *stream)
{
    seq_res_t *res = ds->reserved ? zhashx_lookup (ds->reserved, stream) : NULL;
    return res ? res->skipped : 0;
}
