/*  node/raft/rg_store.c - a group's durable state in the host's store.

    Keys, after the group's prefix P = env.key_prefix + group id (8 bytes,
    big-endian, so that a node's groups sort apart):
      P 'm'             term:u64 vote:u64                 (term and vote)
      P 'e' index:u64be term:u64 type:u8 data             (one log entry)
      P 's'             index term conf_index:u64 conf_len:u32 conf data
                                                          (the last snapshot)
    Values are little-endian; entry keys are big-endian so that they sort
    by index. The entries on the store are always one contiguous run
    [disk_first, disk_next): appends extend it, a truncation cuts its end,
    a snapshot cuts its start (keeping `trailing` entries before the
    snapshot's index) or, when installed from the leader (trailing 0),
    empties it. Every change goes into one store batch, so a crash keeps
    all of a flush or none of it; rgs_load () rebuilds the run and refuses
    a store whose run has a hole (RG_ECORRUPT).
*/
#include "node/raft/rg_int.h"

#include <stdlib.h>
#include <string.h>

size_t rgs_key (const rgroup_t *self, char kind, uint64_t index, uint8_t *out)
{
    memcpy (out, self->prefix, self->prefix_len);
    size_t n = self->prefix_len;
    out[n++] = (uint8_t)kind;
    if (kind == 'e')
        for (int i = 7; i >= 0; i--)
            out[n++] = (uint8_t)(index >> (8 * i));
    return n;
}

//  Writes batch B synced. 0 or RG_EIO.
static int s_write (rgroup_t *self, store_batch_t *b)
{
    store_err_t err;
    int rc = self->env.store_ops->write (self->env.store, b, true, &err);
    self->stats.writes++;
    return rc ? RG_EIO : 0;
}

bool rgs_pristine (rgroup_t *self)
{
    const store_ops_t *ops = self->env.store_ops;
    store_iter_t *it = ops->iter_new (self->env.store, false);
    if (!it)
        return false;
    ops->iter_seek (it, self->prefix, self->prefix_len);
    bool pristine = true;
    if (ops->iter_valid (it)) {
        size_t klen;
        const void *key = ops->iter_key (it, &klen);
        pristine = !(klen >= self->prefix_len && !memcmp (key, self->prefix, self->prefix_len));
    }
    ops->iter_destroy (&it);
    return pristine;
}

static void s_put_meta (rgroup_t *self, store_batch_t *b, uint64_t term, uint64_t vote)
{
    uint8_t key[RG_KEY_MAX], val[16];
    rg_put64 (val, term);
    rg_put64 (val + 8, vote);
    self->env.store_ops->batch_put (b, key, rgs_key (self, 'm', 0, key), val, sizeof val);
}

int rgs_write_meta (rgroup_t *self, uint64_t term, uint64_t vote)
{
    store_batch_t *b = self->env.store_ops->batch_new ();
    if (!b)
        return RG_ENOMEM;
    s_put_meta (self, b, term, vote);
    int rc = s_write (self, b);
    self->env.store_ops->batch_destroy (&b);
    return rc;
}

static void s_put_entry (rgroup_t *self, store_batch_t *b, uint64_t index,
                         const struct raft_entry *e)
{
    uint8_t key[RG_KEY_MAX];
    size_t klen = rgs_key (self, 'e', index, key);
    uint8_t *val = malloc (9 + e->buf.len);
    if (!val) {
        //  The batch would miss this entry: rgroup_stage () sees the
        //  flag and fails the whole stage.
        self->failed = true;
        return;
    }
    rg_put64 (val, e->term);
    val[8] = (uint8_t)e->type;
    if (e->buf.len)
        memcpy (val + 9, e->buf.base, e->buf.len);
    self->env.store_ops->batch_put (b, key, klen, val, 9 + e->buf.len);
    free (val);
}

//  Deletes entries [from, to) from the store.
static void s_del_entries (rgroup_t *self, store_batch_t *b, uint64_t from, uint64_t to)
{
    uint8_t key[RG_KEY_MAX];
    for (uint64_t i = from; i < to; i++)
        self->env.store_ops->batch_del (b, key, rgs_key (self, 'e', i, key));
}

int rgs_bootstrap (rgroup_t *self, const struct raft_configuration *conf)
{
    struct raft_buffer buf;
    if (raft_configuration_encode (conf, &buf))
        return RG_ENOMEM;
    store_batch_t *b = self->env.store_ops->batch_new ();
    int rc = RG_ENOMEM;
    if (b) {
        struct raft_entry e = {.term = 1, .type = RAFT_CHANGE, .buf = buf};
        s_put_meta (self, b, 1, 0);
        s_put_entry (self, b, 1, &e);
        rc = self->failed ? RG_ENOMEM : s_write (self, b);
        self->env.store_ops->batch_destroy (&b);
    }
    raft_free (buf.base);
    return rc;
}

/* ---------------------------------------------------------------------------
   Staging (rg_io.c calls these in submission order)
*/

void rgs_stage_append (rgroup_t *self, store_batch_t *b, const rg_op_t *op)
{
    for (unsigned i = 0; i < op->append.n; i++)
        s_put_entry (self, b, op->append.first + i, &op->append.entries[i]);
    if (self->disk_first == self->disk_next)
        self->disk_first = op->append.first;
    self->disk_next = op->append.first + op->append.n;
}

void rgs_stage_truncate (rgroup_t *self, store_batch_t *b, uint64_t index)
{
    if (index >= self->disk_next)
        return;
    if (index <= self->disk_first) {
        s_del_entries (self, b, self->disk_first, self->disk_next);
        self->disk_first = self->disk_next = index;
        return;
    }
    s_del_entries (self, b, index, self->disk_next);
    self->disk_next = index;
}

int rgs_stage_put (rgroup_t *self, store_batch_t *b, const rg_op_t *op)
{
    const struct raft_snapshot *s = op->put.snap;
    struct raft_buffer conf;
    if (raft_configuration_encode (&s->configuration, &conf))
        return RG_ENOMEM;
    size_t data = 0;
    for (unsigned i = 0; i < s->n_bufs; i++)
        data += s->bufs[i].len;
    size_t len = 28 + conf.len + data;
    uint8_t *val = malloc (len), *p = val;
    if (!val) {
        raft_free (conf.base);
        return RG_ENOMEM;
    }
    rg_put64 (p, s->index), rg_put64 (p + 8, s->term), rg_put64 (p + 16, s->configuration_index);
    rg_put32 (p + 24, (uint32_t)conf.len);
    memcpy (p + 28, conf.base, conf.len);
    p += 28 + conf.len;
    for (unsigned i = 0; i < s->n_bufs; i++) {
        if (s->bufs[i].len)
            memcpy (p, s->bufs[i].base, s->bufs[i].len);
        p += s->bufs[i].len;
    }
    uint8_t key[RG_KEY_MAX];
    self->env.store_ops->batch_put (b, key, rgs_key (self, 's', 0, key), val, len);
    free (val);
    raft_free (conf.base);

    if (op->put.trailing == 0) {
        s_del_entries (self, b, self->disk_first, self->disk_next);
        self->disk_first = self->disk_next = s->index + 1;
    } else if (s->index > op->put.trailing) {
        uint64_t cut = s->index - op->put.trailing + 1; //  first entry kept
        if (cut > self->disk_next)
            cut = self->disk_next;
        if (cut > self->disk_first) {
            s_del_entries (self, b, self->disk_first, cut);
            self->disk_first = cut;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------------------
   Loading
*/

int rgs_read_snapshot (rgroup_t *self, struct raft_snapshot **out)
{
    *out = NULL;
    uint8_t key[RG_KEY_MAX];
    void *val = NULL;
    size_t vlen = 0;
    store_err_t err;
    if (self->env.store_ops->get (self->env.store, key, rgs_key (self, 's', 0, key), &val, &vlen,
                                  &err))
        return RG_EIO;
    if (!val)
        return 0;
    const uint8_t *p = val;
    int rc = RG_ECORRUPT;
    uint32_t conf_len = vlen >= 28 ? rg_get32 (p + 24) : 0;
    if (vlen < 28 || conf_len > vlen - 28)
        goto done;
    struct raft_snapshot *s = raft_calloc (1, sizeof *s);
    if (!s) {
        rc = RG_ENOMEM;
        goto done;
    }
    s->index = rg_get64 (p), s->term = rg_get64 (p + 8), s->configuration_index = rg_get64 (p + 16);
    if (s->index == 0 || s->term == 0 || rgc_conf_decode (p + 28, conf_len, &s->configuration)) {
        raft_free (s);
        goto done;
    }
    size_t data = vlen - 28 - conf_len;
    s->bufs = raft_malloc (sizeof *s->bufs);
    void *base = raft_malloc (data ? data : 1);
    if (!s->bufs || !base) {
        raft_free (s->bufs), raft_free (base);
        raft_configuration_close (&s->configuration);
        raft_free (s);
        rc = RG_ENOMEM;
        goto done;
    }
    if (data)
        memcpy (base, p + 28 + conf_len, data);
    s->bufs[0].base = base;
    s->bufs[0].len = data;
    s->n_bufs = 1;
    *out = s;
    rc = 0;
done:
    self->env.store_ops->free_value (val);
    return rc;
}

//  Appends the entry at IT (index INDEX) to *ENTRIES (of *N, room for *CAP).
static int s_load_entry (rgroup_t *self, store_iter_t *it, struct raft_entry **entries, size_t *n,
                         size_t *cap)
{
    size_t vlen;
    const uint8_t *v = self->env.store_ops->iter_value (it, &vlen);
    if (vlen < 9 || v[8] < RAFT_COMMAND || v[8] > RAFT_CHANGE || rg_get64 (v) == 0)
        return RG_ECORRUPT;
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        struct raft_entry *grown = raft_realloc (*entries, ncap * sizeof **entries);
        if (!grown)
            return RG_ENOMEM;
        *entries = grown, *cap = ncap;
    }
    struct raft_entry *e = &(*entries)[*n];
    e->term = rg_get64 (v);
    e->type = v[8];
    e->buf.len = vlen - 9;
    e->buf.base = raft_malloc (vlen > 9 ? vlen - 9 : 1);
    e->batch = NULL;
    if (!e->buf.base)
        return RG_ENOMEM;
    if (vlen > 9)
        memcpy (e->buf.base, v + 9, vlen - 9);
    (*n)++;
    return 0;
}

//  Reads the run of entries into *ENTRIES, *N, from *FIRST.
static int s_load_entries (rgroup_t *self, struct raft_entry **entries, size_t *n, uint64_t *first)
{
    const store_ops_t *ops = self->env.store_ops;
    uint8_t key[RG_KEY_MAX];
    size_t plen = rgs_key (self, 'e', 0, key) - 8, cap = 0;
    store_iter_t *it = ops->iter_new (self->env.store, false);
    if (!it)
        return RG_ENOMEM;
    int rc = 0;
    for (ops->iter_seek (it, key, plen); !rc && ops->iter_valid (it); ops->iter_next (it)) {
        size_t klen;
        const uint8_t *k = ops->iter_key (it, &klen);
        if (klen != plen + 8 || memcmp (k, key, plen))
            break;
        uint64_t index = 0;
        for (int i = 0; i < 8; i++)
            index = (index << 8) | k[plen + i];
        if (*n == 0)
            *first = index;
        else if (index != *first + *n)
            rc = RG_ECORRUPT; //  a hole in the run
        if (!rc)
            rc = s_load_entry (self, it, entries, n, &cap);
    }
    if (!rc && ops->iter_error (it, &(store_err_t){0}))
        rc = RG_EIO;
    ops->iter_destroy (&it);
    return rc;
}

static void s_free_entries (struct raft_entry *entries, size_t n)
{
    for (size_t i = 0; i < n; i++)
        raft_free (entries[i].buf.base);
    raft_free (entries);
}

int rgs_load (rgroup_t *self, raft_term *term, raft_id *vote, struct raft_snapshot **snap,
              raft_index *start, struct raft_entry **entries, size_t *n)
{
    *term = 0, *vote = 0, *snap = NULL, *start = 1, *entries = NULL, *n = 0;
    uint8_t key[RG_KEY_MAX];
    void *val = NULL;
    size_t vlen = 0;
    store_err_t err;
    if (self->env.store_ops->get (self->env.store, key, rgs_key (self, 'm', 0, key), &val, &vlen,
                                  &err))
        return RG_EIO;
    if (val && vlen == 16)
        *term = rg_get64 (val), *vote = rg_get64 ((uint8_t *)val + 8);
    self->env.store_ops->free_value (val);
    if (val && vlen != 16)
        return RG_ECORRUPT;
    int rc = rgs_read_snapshot (self, snap);
    uint64_t first = 1;
    if (!rc)
        rc = s_load_entries (self, entries, n, &first);
    uint64_t snap_index = *snap ? (*snap)->index : 0;
    if (!rc && *n && (first > snap_index + 1 || (!*snap && first != 1)))
        rc = RG_ECORRUPT; //  a hole between the snapshot and the log
    if (!rc && *n && first + *n - 1 < snap_index) {
        //  The whole log is older than the snapshot: keep none of it.
        s_free_entries (*entries, *n);
        *entries = NULL, *n = 0;
    }
    if (rc) {
        s_free_entries (*entries, *n);
        if (*snap) {
            raft_configuration_close (&(*snap)->configuration);
            raft_free ((*snap)->bufs[0].base), raft_free ((*snap)->bufs), raft_free (*snap);
        }
        *entries = NULL, *n = 0, *snap = NULL;
        return rc;
    }
    *start = *n ? first : snap_index + 1;
    self->disk_first = *start;
    self->disk_next = *start + *n;
    if (*n == 0)
        self->disk_first = self->disk_next = snap_index + 1;
    self->next_index = self->disk_next;
    return 0;
}

/* ---------------------------------------------------------------------------
   Leftovers of groups no longer hosted
*/

#define ERASE_BATCH 4096 //  deletes per store write

//  The prefix of group ID under KEY_PREFIX into OUT; its length.
static size_t s_group_prefix (const char *key_prefix, uint64_t id, uint8_t *out)
{
    size_t n = strlen (key_prefix);
    memcpy (out, key_prefix, n);
    for (int i = 7; i >= 0; i--)
        out[n++] = (uint8_t)(id >> (8 * i));
    return n;
}

int rgroup_erase (const store_ops_t *ops, store_t *store, const char *key_prefix, uint64_t id,
                  size_t *erased)
{
    if (strlen (key_prefix) > RG_KEY_MAX - 20)
        return RG_EINVAL;
    uint8_t prefix[RG_KEY_MAX];
    size_t plen = s_group_prefix (key_prefix, id, prefix);
    store_iter_t *it = ops->iter_new (store, false);
    store_batch_t *b = ops->batch_new ();
    int rc = it && b ? 0 : RG_ENOMEM;
    size_t count = 0, inbatch = 0;
    store_err_t err;
    for (ops->iter_seek (it, prefix, plen); rc == 0 && it && ops->iter_valid (it);
         ops->iter_next (it)) {
        size_t klen;
        const uint8_t *key = ops->iter_key (it, &klen);
        if (klen <= plen || memcmp (key, prefix, plen) != 0)
            break;
        if (key[plen] == 'm')
            continue; //  term and vote stay
        ops->batch_del (b, key, klen);
        count++;
        if (++inbatch == ERASE_BATCH) {
            rc = ops->write (store, b, false, &err) ? RG_EIO : 0;
            ops->batch_clear (b);
            inbatch = 0;
        }
    }
    if (rc == 0 && it && ops->iter_error (it, &err))
        rc = RG_EIO;
    if (rc == 0 && inbatch)
        rc = ops->write (store, b, false, &err) ? RG_EIO : 0;
    if (b)
        ops->batch_destroy (&b);
    if (it)
        ops->iter_destroy (&it);
    if (erased)
        *erased = count;
    return rc;
}

int rgroup_stored (const store_ops_t *ops, store_t *store, const char *key_prefix,
                   void (*fn) (void *arg, uint64_t id), void *arg)
{
    size_t plen = strlen (key_prefix);
    if (plen > RG_KEY_MAX - 20)
        return RG_EINVAL;
    store_iter_t *it = ops->iter_new (store, false);
    if (!it)
        return RG_ENOMEM;
    ops->iter_seek (it, key_prefix, plen);
    //  bounded: each step moves to a later key or past a group
    while (ops->iter_valid (it)) {
        size_t klen;
        const uint8_t *key = ops->iter_key (it, &klen);
        if (klen < plen || memcmp (key, key_prefix, plen) != 0)
            break;
        if (klen < plen + 9 || key[plen + 8] == 'm') {
            ops->iter_next (it); //  a group's term and vote alone: nothing to erase
            continue;
        }
        uint64_t id = 0;
        for (int i = 0; i < 8; i++)
            id = id << 8 | key[plen + (size_t)i];
        fn (arg, id);
        if (id == UINT64_MAX)
            break;
        uint8_t next[RG_KEY_MAX];
        ops->iter_seek (it, next, s_group_prefix (key_prefix, id + 1, next));
    }
    store_err_t err;
    int rc = ops->iter_error (it, &err) ? RG_EIO : 0;
    ops->iter_destroy (&it);
    return rc;
}
