/*  node/raft/rg_codec.c - libraft's messages as bytes, and back.

    Our own compact binary; integers little-endian, fixed width (u8, u32,
    u64). A message is

        version:u8 (= 1)  type:u8 (RAFT_IO_*, 1..6)  body

    and nothing after the body (trailing bytes are an error). Bodies:

      1 AppendEntries        term prev_index prev_term commit:u64  n:u32
                             n x (term:u64 type:u8 len:u32 data[len])
      2 AppendEntriesResult  term rejected last_index:u64
      3 RequestVote          term candidate last_index last_term:u64
                             flags:u8 (1 disrupt leader, 2 pre-vote)
      4 RequestVoteResult    term:u64 granted:u8 (0/1)
                             pre_vote:u8 (0 unknown, 1 yes, 2 no)
      5 InstallSnapshot      term last_index last_term conf_index:u64
                             conf_len:u32 conf[conf_len]  data_len:u32 data
      6 TimeoutNow           term last_index last_term:u64

    conf, and the data of entries of type RAFT_CHANGE, are libraft's own
    encoding of a configuration (format byte 1, n:u64, n x (id:u64,
    address NUL-terminated, role:u8), padding to 8 bytes); libraft
    decodes change entries without bounds checks, so we validate them here
    (rgc_conf_decode) before libraft sees them.

    Caps (rgroup.h): a message is at most RG_MAX_MESSAGE bytes, an entry
    RG_MAX_ENTRY_BYTES, an AppendEntries RG_MAX_ENTRIES entries (the encoder
    cuts longer ones: a shorter AppendEntries is still a valid one). Every
    length is checked against what is left of the buffer before anything
    is allocated, so a decode allocates at most about the message's size.
*/
#include "node/raft/rg_int.h"

#include <stdlib.h>
#include <string.h>

#define RG_WIRE_VERSION 1

/* ---------------------------------------------------------------------------
   Reading and writing
*/

typedef struct {
    const uint8_t *p; //  next byte
    size_t left;      //  bytes left
    bool bad;         //  ran past the end
} rd_t;

static const uint8_t *s_take (rd_t *r, size_t n)
{
    if (r->bad || n > r->left) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    r->left -= n;
    return p;
}

static uint64_t s_u64 (rd_t *r)
{
    const uint8_t *p = s_take (r, 8);
    return p ? rg_get64 (p) : 0;
}

static uint32_t s_u32 (rd_t *r)
{
    const uint8_t *p = s_take (r, 4);
    return p ? rg_get32 (p) : 0;
}

static uint8_t s_u8 (rd_t *r)
{
    const uint8_t *p = s_take (r, 1);
    return p ? *p : 0;
}

typedef struct {
    uint8_t *buf; //  the bytes (malloc'ed)
    size_t len;   //  used
} wr_t;

static void w64 (wr_t *w, uint64_t v)
{
    rg_put64 (w->buf + w->len, v);
    w->len += 8;
}
static void w32 (wr_t *w, uint32_t v)
{
    rg_put32 (w->buf + w->len, v);
    w->len += 4;
}
static void w8 (wr_t *w, uint8_t v)
{
    w->buf[w->len++] = v;
}
static void wbytes (wr_t *w, const void *p, size_t n)
{
    if (n)
        memcpy (w->buf + w->len, p, n);
    w->len += n;
}

/* ---------------------------------------------------------------------------
   Configurations (libraft's encoding)
*/

int rgc_conf_decode (const void *buf, size_t len, struct raft_configuration *c)
{
    raft_configuration_init (c);
    rd_t r = {buf, len, false};
    if (s_u8 (&r) != 1)
        return RG_EPROTO;
    uint64_t n = s_u64 (&r);
    if (r.bad || n == 0 || n > RG_MAX_SERVERS)
        return RG_EPROTO;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t id = s_u64 (&r);
        const uint8_t *nul = r.bad ? NULL : memchr (r.p, 0, r.left);
        if (!nul || id == 0 || nul - r.p > 63)
            goto bad;
        const char *address = (const char *)r.p;
        s_take (&r, (size_t)(nul - r.p) + 1);
        uint8_t role = s_u8 (&r);
        if (r.bad || role > RAFT_SPARE)
            goto bad;
        //  raft_configuration_add refuses duplicate ids and addresses.
        int rc = raft_configuration_add (c, id, address, role);
        if (rc)
            goto bad;
    }
    //  Padding to 8 bytes (libraft leaves it uninitialized).
    if (r.left >= 8)
        goto bad;
    return 0;
bad:
    raft_configuration_close (c);
    raft_configuration_init (c);
    return RG_EPROTO;
}

/* ---------------------------------------------------------------------------
   Encoding
*/

//  How many entries of AE fit the caps, and the bytes they take.
static unsigned s_fit (const struct raft_append_entries *ae, size_t *bytes)
{
    size_t total = 2 + 32 + 4;
    unsigned n = 0;
    while (n < ae->n_entries && n < RG_MAX_ENTRIES) {
        size_t one = 13 + ae->entries[n].buf.len;
        if (ae->entries[n].buf.len > RG_MAX_ENTRY_BYTES || total + one > RG_MAX_MESSAGE)
            break;
        total += one;
        n++;
    }
    *bytes = total;
    return n;
}

int rgc_encode (const struct raft_message *m, uint8_t **out, size_t *len, bool *clipped)
{
    *out = NULL;
    *clipped = false;
    size_t size = 2;
    unsigned n = 0;
    const struct raft_install_snapshot *is = &m->install_snapshot;
    struct raft_buffer conf = {NULL, 0};
    switch (m->type) {
    case RAFT_IO_APPEND_ENTRIES:
        n = s_fit (&m->append_entries, &size);
        *clipped = n < m->append_entries.n_entries;
        break;
    case RAFT_IO_APPEND_ENTRIES_RESULT:
        size += 24;
        break;
    case RAFT_IO_REQUEST_VOTE:
        size += 33;
        break;
    case RAFT_IO_REQUEST_VOTE_RESULT:
        size += 10;
        break;
    case RAFT_IO_INSTALL_SNAPSHOT:
        if (raft_configuration_encode (&is->conf, &conf))
            return RG_ENOMEM;
        size += 32 + 4 + conf.len + 4 + is->data.len;
        if (size > RG_MAX_MESSAGE) {
            raft_free (conf.base);
            return RG_EINVAL;
        }
        break;
    case RAFT_IO_TIMEOUT_NOW:
        size += 24;
        break;
    default:
        return RG_EINVAL;
    }
    wr_t w = {malloc (size), 0};
    if (!w.buf) {
        raft_free (conf.base);
        return RG_ENOMEM;
    }
    w8 (&w, RG_WIRE_VERSION);
    w8 (&w, (uint8_t)m->type);
    switch (m->type) {
    case RAFT_IO_APPEND_ENTRIES: {
        const struct raft_append_entries *ae = &m->append_entries;
        w64 (&w, ae->term), w64 (&w, ae->prev_log_index), w64 (&w, ae->prev_log_term);
        w64 (&w, ae->leader_commit), w32 (&w, n);
        for (unsigned i = 0; i < n; i++) {
            w64 (&w, ae->entries[i].term), w8 (&w, (uint8_t)ae->entries[i].type);
            w32 (&w, (uint32_t)ae->entries[i].buf.len);
            wbytes (&w, ae->entries[i].buf.base, ae->entries[i].buf.len);
        }
        break;
    }
    case RAFT_IO_APPEND_ENTRIES_RESULT: {
        const struct raft_append_entries_result *res = &m->append_entries_result;
        w64 (&w, res->term), w64 (&w, res->rejected), w64 (&w, res->last_log_index);
        break;
    }
    case RAFT_IO_REQUEST_VOTE: {
        const struct raft_request_vote *rv = &m->request_vote;
        w64 (&w, rv->term), w64 (&w, rv->candidate_id), w64 (&w, rv->last_log_index);
        w64 (&w, rv->last_log_term);
        w8 (&w, (uint8_t)((rv->disrupt_leader ? 1 : 0) | (rv->pre_vote ? 2 : 0)));
        break;
    }
    case RAFT_IO_REQUEST_VOTE_RESULT: {
        const struct raft_request_vote_result *res = &m->request_vote_result;
        w64 (&w, res->term), w8 (&w, res->vote_granted ? 1 : 0);
        w8 (&w, (uint8_t)res->pre_vote);
        break;
    }
    case RAFT_IO_INSTALL_SNAPSHOT:
        w64 (&w, is->term), w64 (&w, is->last_index), w64 (&w, is->last_term);
        w64 (&w, is->conf_index), w32 (&w, (uint32_t)conf.len);
        wbytes (&w, conf.base, conf.len);
        w32 (&w, (uint32_t)is->data.len);
        wbytes (&w, is->data.base, is->data.len);
        raft_free (conf.base);
        break;
    case RAFT_IO_TIMEOUT_NOW: {
        const struct raft_timeout_now *tn = &m->timeout_now;
        w64 (&w, tn->term), w64 (&w, tn->last_log_index), w64 (&w, tn->last_log_term);
        break;
    }
    }
    *out = w.buf;
    *len = w.len;
    return 0;
}

/* ---------------------------------------------------------------------------
   Decoding
*/

//  The entries of an AppendEntries: one batch for all their data.
static int s_decode_entries (rd_t *r, struct raft_append_entries *ae)
{
    uint32_t n = s_u32 (r);
    ae->entries = NULL;
    ae->n_entries = 0;
    if (r->bad || n > RG_MAX_ENTRIES || (size_t)n * 13 > r->left)
        return RG_EPROTO;
    if (n == 0)
        return 0;
    //  First pass: check every header and length, sum the data.
    rd_t scan = *r;
    size_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t term = s_u64 (&scan);
        uint8_t type = s_u8 (&scan);
        uint32_t len = s_u32 (&scan);
        const uint8_t *data = len <= RG_MAX_ENTRY_BYTES ? s_take (&scan, len) : NULL;
        if (scan.bad || !data || term == 0 || type < RAFT_COMMAND || type > RAFT_CHANGE)
            return RG_EPROTO;
        if (type == RAFT_CHANGE) {
            struct raft_configuration c;
            if (rgc_conf_decode (data, len, &c))
                return RG_EPROTO;
            raft_configuration_close (&c);
        }
        total += len;
    }
    struct raft_entry *entries = raft_calloc (n, sizeof *entries);
    uint8_t *batch = raft_malloc (total ? total : 1);
    if (!entries || !batch) {
        raft_free (entries);
        raft_free (batch);
        return RG_ENOMEM;
    }
    size_t at = 0;
    for (uint32_t i = 0; i < n; i++) {
        entries[i].term = s_u64 (r);
        entries[i].type = s_u8 (r);
        uint32_t len = s_u32 (r);
        memcpy (batch + at, s_take (r, len), len);
        entries[i].buf.base = batch + at;
        entries[i].buf.len = len;
        entries[i].batch = batch;
        at += len;
    }
    ae->entries = entries;
    ae->n_entries = n;
    return 0;
}

static int s_decode_snapshot (rd_t *r, struct raft_install_snapshot *is)
{
    is->term = s_u64 (r), is->last_index = s_u64 (r), is->last_term = s_u64 (r);
    is->conf_index = s_u64 (r);
    uint32_t conf_len = s_u32 (r);
    const uint8_t *conf = s_take (r, conf_len);
    uint32_t data_len = s_u32 (r);
    const uint8_t *data = s_take (r, data_len);
    raft_configuration_init (&is->conf);
    is->data.base = NULL;
    is->data.len = 0;
    if (r->bad || is->last_index == 0 || is->last_term == 0 || is->conf_index > is->last_index)
        return RG_EPROTO;
    if (rgc_conf_decode (conf, conf_len, &is->conf))
        return RG_EPROTO;
    is->data.base = raft_malloc (data_len ? data_len : 1);
    if (!is->data.base) {
        raft_configuration_close (&is->conf);
        return RG_ENOMEM;
    }
    if (data_len)
        memcpy (is->data.base, data, data_len);
    is->data.len = data_len;
    return 0;
}

int rgc_decode (const uint8_t *buf, size_t len, struct raft_message *m)
{
    memset (m, 0, sizeof *m);
    if (!buf || len < 2 || len > RG_MAX_MESSAGE || buf[0] != RG_WIRE_VERSION)
        return RG_EPROTO;
    rd_t r = {buf + 2, len - 2, false};
    m->type = buf[1];
    int rc = 0;
    switch (m->type) {
    case RAFT_IO_APPEND_ENTRIES: {
        struct raft_append_entries *ae = &m->append_entries;
        ae->term = s_u64 (&r), ae->prev_log_index = s_u64 (&r), ae->prev_log_term = s_u64 (&r);
        ae->leader_commit = s_u64 (&r);
        rc = s_decode_entries (&r, ae);
        break;
    }
    case RAFT_IO_APPEND_ENTRIES_RESULT: {
        struct raft_append_entries_result *res = &m->append_entries_result;
        res->term = s_u64 (&r), res->rejected = s_u64 (&r), res->last_log_index = s_u64 (&r);
        break;
    }
    case RAFT_IO_REQUEST_VOTE: {
        struct raft_request_vote *rv = &m->request_vote;
        rv->term = s_u64 (&r), rv->candidate_id = s_u64 (&r), rv->last_log_index = s_u64 (&r);
        rv->last_log_term = s_u64 (&r);
        uint8_t flags = s_u8 (&r);
        rv->disrupt_leader = flags & 1;
        rv->pre_vote = flags & 2;
        if (flags > 3)
            rc = RG_EPROTO;
        break;
    }
    case RAFT_IO_REQUEST_VOTE_RESULT: {
        struct raft_request_vote_result *res = &m->request_vote_result;
        res->term = s_u64 (&r);
        uint8_t granted = s_u8 (&r), pre = s_u8 (&r);
        res->vote_granted = granted == 1;
        res->pre_vote = (raft_tribool)pre;
        if (granted > 1 || pre > raft_tribool_false)
            rc = RG_EPROTO;
        break;
    }
    case RAFT_IO_INSTALL_SNAPSHOT:
        rc = s_decode_snapshot (&r, &m->install_snapshot);
        break;
    case RAFT_IO_TIMEOUT_NOW: {
        struct raft_timeout_now *tn = &m->timeout_now;
        tn->term = s_u64 (&r), tn->last_log_index = s_u64 (&r), tn->last_log_term = s_u64 (&r);
        break;
    }
    default:
        return RG_EPROTO;
    }
    if (!rc && (r.bad || r.left))
        rc = RG_EPROTO;
    if (rc) {
        rgc_message_free (m);
        memset (m, 0, sizeof *m);
    }
    return rc;
}

void rgc_message_free (struct raft_message *m)
{
    if (m->type == RAFT_IO_APPEND_ENTRIES && m->append_entries.entries) {
        raft_free (m->append_entries.entries[0].batch);
        raft_free (m->append_entries.entries);
        m->append_entries.entries = NULL;
        m->append_entries.n_entries = 0;
    } else if (m->type == RAFT_IO_INSTALL_SNAPSHOT) {
        raft_configuration_close (&m->install_snapshot.conf);
        raft_configuration_init (&m->install_snapshot.conf);
        raft_free (m->install_snapshot.data.base);
        m->install_snapshot.data.base = NULL;
    }
}
