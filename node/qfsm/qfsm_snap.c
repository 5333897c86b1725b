/*  node/qfsm/qfsm_snap.c - snapshots of the replicated queue state machine (see
    qfsm.h): the whole state as bytes, restored from bytes, and the digest.

    Format, little-endian, no padding; the order is canonical, so equal states give
    equal bytes:
      header    u32 magic 0x4e534651 ("QFSN") | u8 version 1 | u8 0 | u16 0
      config    u64 max_messages | u64 max_bytes | u32 max_deliver | u32 dedup_max
                | i64 dedup_window_ms | u8 flags (bit 0: dlq)
      state     u64 next_seq | i64 clock | 11 x u64 totals: entries, enqueued, acked,
                nacked, delivered, dead, duplicates, refused, purged, parked_total, invalid
      messages  u64 n, then n x: u64 seq | i64 not_before | u64 token | u32 deliveries
                | u32 headers_len | u32 body_len | u8 priority | u8 id_len | u8 parked
                | id | headers | body
                pending ones by priority 0 .. 9, each in seq order, then the parked ones
                in seq order
      dedup     u32 n, then n x: u64 seq | i64 at | u8 id_len | id, oldest first
      checksum  u64: the streaming hash (qfsm_tab.c) of every byte before it
    qfsm_digest is that checksum, computed without building the bytes.

    Restore checks the checksum, then every length and count against the bytes
    left before it allocates for them (so a snapshot of N bytes makes at most about
    N / 39 messages), and the order, uniqueness and ranges above; anything else is
    WEFT_EINVAL and nothing is created.
*/
#include "node/qfsm/qfsm_int.h"

#define S_MAGIC     0x4e534651u
#define S_HEADER    8
#define S_STATE     (16 + 11 * 8)
#define S_MSG_FIXED 39
#define S_DD_FIXED  17

//  Where snapshot bytes go: BUF (when not NULL) and the hash.
typedef struct {
    uint8_t *buf; //  output, NULL to hash only
    size_t len;   //  bytes so far
    qhash_t hash; //  hash of them
} s_sink_t;

//  Appends LEN bytes to SINK.
static void s_put (s_sink_t *sink, const void *data, size_t len)
{
    if (!len)
        return;
    if (sink->buf)
        memcpy (sink->buf + sink->len, data, len);
    qhash_add (&sink->hash, data, len);
    sink->len += len;
}

//  The totals in snapshot order.
static uint64_t *s_total (qfsm_stats_t *t, int i)
{
    uint64_t *fields[] = {&t->entries,   &t->enqueued,     &t->acked,      &t->nacked,
                          &t->delivered, &t->dead,         &t->duplicates, &t->refused,
                          &t->purged,    &t->parked_total, &t->invalid};
    return fields[i];
}

//  Writes the header, config and state.
static void s_put_head (const qfsm_t *self, s_sink_t *sink)
{
    uint8_t head[S_HEADER + QFSM_CONFIG_SZ + S_STATE] = {0};
    qput_u32 (head, S_MAGIC);
    head[4] = 1;
    qfsm_config_put (head + S_HEADER, &self->config);
    uint8_t *p = head + S_HEADER + QFSM_CONFIG_SZ;
    qput_u64 (p, self->next_seq);
    qput_u64 (p + 8, (uint64_t)self->clock);
    qfsm_stats_t totals = self->totals;
    for (int i = 0; i < 11; i++)
        qput_u64 (p + 16 + 8 * i, *s_total (&totals, i));
    s_put (sink, head, sizeof head);
}

//  Writes the messages of LIST.
static void s_put_list (const qlist_m_t *list, s_sink_t *sink)
{
    for (const qmsg_t *msg = list->head; msg; msg = msg->next) {
        uint8_t fixed[S_MSG_FIXED];
        qput_u64 (fixed, msg->seq);
        qput_u64 (fixed + 8, (uint64_t)msg->not_before);
        qput_u64 (fixed + 16, msg->token);
        qput_u32 (fixed + 24, msg->deliveries);
        qput_u32 (fixed + 28, msg->headers_len);
        qput_u32 (fixed + 32, msg->body_len);
        fixed[36] = msg->priority;
        fixed[37] = msg->id_len;
        fixed[38] = msg->parked;
        s_put (sink, fixed, sizeof fixed);
        s_put (sink, msg->data, msg->id_len);
        s_put (sink, msg->data + msg->id_len + 1, (size_t)msg->headers_len + msg->body_len);
    }
}

//  Writes the whole state to SINK, the checksum last; returns the checksum.
static uint64_t s_write (const qfsm_t *self, s_sink_t *sink)
{
    s_put_head (self, sink);
    uint8_t n[8];
    qput_u64 (n, self->by_seq.count);
    s_put (sink, n, 8);
    for (int p = 0; p < QFSM_PRIORITIES; p++)
        s_put_list (&self->lists[p], sink);
    s_put_list (&self->parked, sink);
    qput_u32 (n, (uint32_t)self->by_id.count);
    s_put (sink, n, 4);
    for (const qdd_t *dd = self->dd_head; dd; dd = dd->next) {
        uint8_t fixed[S_DD_FIXED];
        qput_u64 (fixed, dd->seq);
        qput_u64 (fixed + 8, (uint64_t)dd->at);
        fixed[16] = dd->len;
        s_put (sink, fixed, sizeof fixed);
        s_put (sink, dd->id, dd->len);
    }
    uint64_t sum = qhash_end (&sink->hash);
    qput_u64 (n, sum);
    if (sink->buf)
        memcpy (sink->buf + sink->len, n, 8);
    sink->len += 8;
    return sum;
}

//  Bytes of SELF's snapshot.
static size_t s_snapshot_size (const qfsm_t *self)
{
    size_t size = S_HEADER + QFSM_CONFIG_SZ + S_STATE + 8 + 4 + 8;
    size += self->by_seq.count * S_MSG_FIXED + self->bytes + self->parked_bytes;
    for (int p = 0; p <= QFSM_PRIORITIES; p++) {
        const qlist_m_t *list = p < QFSM_PRIORITIES ? &self->lists[p] : &self->parked;
        for (const qmsg_t *msg = list->head; msg; msg = msg->next)
            size += msg->id_len;
    }
    for (const qdd_t *dd = self->dd_head; dd; dd = dd->next)
        size += S_DD_FIXED + dd->len;
    return size;
}

int qfsm_snapshot (const qfsm_t *self, void **data, size_t *size)
{
    if (!self || !data || !size)
        return WEFT_EINVAL;
    if (self->broken)
        return WEFT_ESTATE;
    size_t want = s_snapshot_size (self);
    s_sink_t sink = {.buf = malloc (want)};
    if (!sink.buf)
        return WEFT_ENOMEM;
    qhash_init (&sink.hash);
    s_write (self, &sink);
    *data = sink.buf;
    *size = sink.len;
    return sink.len == want ? 0 : WEFT_EINTERNAL;
}

uint64_t qfsm_digest (const qfsm_t *self)
{
    s_sink_t sink = {.buf = NULL};
    qhash_init (&sink.hash);
    return s_write (self, &sink);
}

bool qfsm_equal (const qfsm_t *a, const qfsm_t *b)
{
    void *da = NULL, *db = NULL;
    size_t sa = 0, sb = 0;
    bool equal = qfsm_snapshot (a, &da, &sa) == 0 && qfsm_snapshot (b, &db, &sb) == 0 && sa == sb &&
                 memcmp (da, db, sa) == 0;
    free (da);
    free (db);
    return equal;
}

/* ------------------------------------------------------------------------ */
/*  Restore                                                                  */

//  A bounded reader over the snapshot.
typedef struct {
    const uint8_t *at;  //  next byte
    const uint8_t *end; //  end of the checked part (before the checksum)
} s_src_t;

//  Takes LEN bytes from SRC: a pointer to them, or NULL when fewer are left.
static const uint8_t *s_take (s_src_t *src, size_t len)
{
    if ((size_t)(src->end - src->at) < len)
        return NULL;
    const uint8_t *p = src->at;
    src->at += len;
    return p;
}

//  Reads the header, config and state into a new *SELF_P. 0, WEFT_EINVAL, WEFT_ENOMEM.
static int s_get_head (s_src_t *src, qfsm_t **self_p)
{
    const uint8_t *p = s_take (src, S_HEADER + QFSM_CONFIG_SZ + S_STATE);
    qfsm_config_t config;
    if (!p || qget_u32 (p) != S_MAGIC || p[4] != 1 || p[5] || qget_u16 (p + 6) ||
        !qfsm_config_get (p + S_HEADER, &config))
        return WEFT_EINVAL;
    qfsm_t *self = qfsm_new (&config);
    if (!self)
        return WEFT_ENOMEM;
    p += S_HEADER + QFSM_CONFIG_SZ;
    self->next_seq = qget_u64 (p);
    self->clock = (int64_t)qget_u64 (p + 8);
    for (int i = 0; i < 11; i++)
        *s_total (&self->totals, i) = qget_u64 (p + 16 + 8 * i);
    *self_p = self;
    return self->next_seq >= 1 ? 0 : WEFT_EINVAL;
}

//  Reads one message into SELF; *KEY is the list of the previous one (priority, or
//  QFSM_PRIORITIES for parked), *MAX_PENDING the highest pending seq so far.
static int s_get_msg (qfsm_t *self, s_src_t *src, int *key, uint64_t *max_pending)
{
    const uint8_t *p = s_take (src, S_MSG_FIXED);
    if (!p)
        return WEFT_EINVAL;
    uint64_t seq = qget_u64 (p);
    uint32_t headers_len = qget_u32 (p + 28), body_len = qget_u32 (p + 32);
    uint8_t priority = p[36], id_len = p[37], parked = p[38];
    if (seq == 0 || seq >= self->next_seq || priority >= QFSM_PRIORITIES || id_len > QFSM_ID_MAX ||
        parked > 1 || headers_len > QFSM_HEADERS_MAX || body_len > QFSM_BODY_MAX)
        return WEFT_EINVAL;
    int here = parked ? QFSM_PRIORITIES : priority;
    const qlist_m_t *list = parked ? &self->parked : &self->lists[priority];
    if (here < *key || (list->tail && list->tail->seq >= seq) || qmsg_lookup (self, seq) ||
        (parked && seq <= *max_pending))
        return WEFT_EINVAL;
    const uint8_t *data = s_take (src, (size_t)id_len + headers_len + body_len);
    if (!data || !qfsm_id_ok ((const char *)data, id_len))
        return WEFT_EINVAL;
    qmsg_t *msg = qmsg_new (seq, (const char *)data, id_len, data + id_len, headers_len,
                            data + id_len + headers_len, body_len);
    if (!msg)
        return WEFT_ENOMEM;
    msg->not_before = (int64_t)qget_u64 (p + 8);
    msg->token = qget_u64 (p + 16);
    msg->deliveries = qget_u32 (p + 24);
    msg->priority = priority;
    msg->parked = parked;
    qtab_insert (&self->by_seq, msg); //  room reserved for every message
    qlist_m_append (parked ? &self->parked : &self->lists[priority], msg);
    if (parked)
        self->parked_bytes += qmsg_size (msg);
    else {
        self->bytes += qmsg_size (msg);
        if (msg->not_before > self->clock)
            qheap_m_push (self, msg);
        if (seq > *max_pending)
            *max_pending = seq;
    }
    *key = here;
    return 0;
}

//  True when dedup entry ITEM holds the same id as dedup entry KEY.
static bool s_dd_same (const void *item, const void *key)
{
    const qdd_t *a = item, *b = key;
    return a->len == b->len && memcmp (a->id, b->id, a->len) == 0;
}

//  Reads one dedup entry into SELF, younger than or as old as the previous one.
static int s_get_dd (qfsm_t *self, s_src_t *src)
{
    const uint8_t *p = s_take (src, S_DD_FIXED);
    if (!p || p[16] == 0 || p[16] > QFSM_ID_MAX)
        return WEFT_EINVAL;
    const uint8_t *id = s_take (src, p[16]);
    if (!id || !qfsm_id_ok ((const char *)id, p[16]))
        return WEFT_EINVAL;
    qdd_t *dd = malloc (sizeof *dd + p[16] + 1);
    if (!dd)
        return WEFT_ENOMEM;
    dd->next = NULL;
    dd->seq = qget_u64 (p);
    dd->at = (int64_t)qget_u64 (p + 8);
    dd->len = p[16];
    memcpy (dd->id, id, dd->len);
    dd->id[dd->len] = 0;
    dd->hash = qfsm_id_hash (dd->id, dd->len);
    if (dd->seq == 0 || dd->seq >= self->next_seq || dd->at > self->clock ||
        (self->dd_tail && dd->at < self->dd_tail->at) ||
        qtab_find (&self->by_id, dd->hash, s_dd_same, dd)) {
        free (dd);
        return WEFT_EINVAL;
    }
    if (self->dd_tail)
        self->dd_tail->next = dd;
    else
        self->dd_head = dd;
    self->dd_tail = dd;
    qtab_insert (&self->by_id, dd); //  room reserved
    return 0;
}

//  Reads the messages and the dedup table into SELF.
static int s_get_body (qfsm_t *self, s_src_t *src)
{
    const uint8_t *p = s_take (src, 8);
    if (!p)
        return WEFT_EINVAL;
    uint64_t n = qget_u64 (p);
    if (n > (uint64_t)(src->end - src->at) / S_MSG_FIXED)
        return WEFT_EINVAL;
    if (qtab_reserve (&self->by_seq, (size_t)n) || qheap_m_reserve (self, (size_t)n + 1))
        return WEFT_ENOMEM;
    int rc = 0, key = 0;
    uint64_t max_pending = 0;
    for (uint64_t i = 0; i < n && rc == 0; i++)
        rc = s_get_msg (self, src, &key, &max_pending);
    if (rc || !(p = s_take (src, 4)))
        return rc ? rc : WEFT_EINVAL;
    uint32_t ids = qget_u32 (p);
    if (ids > self->config.dedup_max || ids > (size_t)(src->end - src->at) / S_DD_FIXED)
        return WEFT_EINVAL;
    if (qtab_reserve (&self->by_id, ids))
        return WEFT_ENOMEM;
    for (uint32_t i = 0; i < ids && rc == 0; i++)
        rc = s_get_dd (self, src);
    return rc;
}

int qfsm_restore (const void *data, size_t size, qfsm_t **self_p)
{
    if (!data || !self_p)
        return WEFT_EINVAL;
    *self_p = NULL;
    if (size < S_HEADER + QFSM_CONFIG_SZ + S_STATE + 8 + 4 + 8)
        return WEFT_EINVAL;
    s_src_t src = {.at = data, .end = (const uint8_t *)data + size - 8};
    qhash_t hash;
    qhash_init (&hash);
    qhash_add (&hash, data, size - 8);
    if (qhash_end (&hash) != qget_u64 (src.end))
        return WEFT_EINVAL;
    qfsm_t *self = NULL;
    int rc = s_get_head (&src, &self);
    if (rc == 0)
        rc = s_get_body (self, &src);
    if (rc == 0 && src.at != src.end)
        rc = WEFT_EINVAL;
    if (rc) {
        qfsm_destroy (&self);
        return rc;
    }
    *self_p = self;
    return 0;
}
