/*  journal/journal_meta.c - small persistent values ("node/uuid", cursors,
    sequence marks) under the 'M' prefix, staged in the pending batch like
    everything else; reads see the batch through the overlay. See journal.h. */
#include "journal/journal_int.h"

#include <string.h>

#include "weft.h"

//  Builds the meta key of KEY into BUF (1 + JOURNAL_KEY_MAX bytes); returns
//  its size, or 0 when KEY is invalid.
static size_t s_meta_key (const char *key, uint8_t *buf)
{
    size_t len = key ? strlen (key) : 0;
    if (len == 0 || len > JOURNAL_KEY_MAX)
        return 0;
    buf[0] = JK_META;
    memcpy (buf + 1, key, len);
    return len + 1;
}

//  Stages KEY = VALUE.
int journal_meta_put (journal_t *self, const char *key, const void *value, size_t len)
{
    uint8_t k[1 + JOURNAL_KEY_MAX];
    size_t klen = s_meta_key (key, k);
    if (!self || !klen || (len && !value) || len > JOURNAL_ENTRY_MAX)
        return self ? jfail (self, WEFT_EINVAL, "journal %s: bad meta key or value", self->dir)
                    : WEFT_EINVAL;
    int rc = jready (self);
    if (rc)
        return rc;
    if (jmap_put (&self->overlay, k, klen, JOV_PUT, value, len) != 0)
        return jfail (self, WEFT_ENOMEM, "journal %s: out of memory", self->dir);
    self->ops->batch_put (self->batch, k, klen, value, len);
    self->pending++;
    return 0;
}

//  Stages the deletion of KEY.
int journal_meta_del (journal_t *self, const char *key)
{
    uint8_t k[1 + JOURNAL_KEY_MAX];
    size_t klen = s_meta_key (key, k);
    if (!self || !klen)
        return self ? jfail (self, WEFT_EINVAL, "journal %s: bad meta key", self->dir)
                    : WEFT_EINVAL;
    int rc = jready (self);
    if (rc)
        return rc;
    if (jmap_put (&self->overlay, k, klen, JOV_DELETED, NULL, 0) != 0)
        return jfail (self, WEFT_ENOMEM, "journal %s: out of memory", self->dir);
    self->ops->batch_del (self->batch, k, klen);
    self->pending++;
    return 0;
}

//  Stores VALUE (VLEN bytes) for the caller of journal_meta_get ().
static int s_copy_out (const void *value, size_t vlen, void *buf, size_t cap, size_t *len)
{
    if (len)
        *len = vlen;
    if (vlen > cap)
        return WEFT_EMSGSIZE;
    if (vlen)
        memcpy (buf, value, vlen);
    return 0;
}

//  Reads KEY: the batch's overlay first, then the database.
int journal_meta_get (journal_t *self, const char *key, void *buf, size_t cap, size_t *len)
{
    uint8_t k[1 + JOURNAL_KEY_MAX];
    size_t klen = s_meta_key (key, k);
    if (!self || !klen || (cap && !buf))
        return WEFT_EINVAL;
    int rc = jready (self);
    if (rc)
        return rc;
    const jmap_item_t *staged = jmap_find (&self->overlay, k, klen);
    if (staged)
        return staged->num == JOV_DELETED ? WEFT_ENOTFOUND
                                          : s_copy_out (staged->blob, staged->blen, buf, cap, len);
    void *value = NULL;
    size_t vlen = 0;
    store_err_t err;
    if (self->ops->get (self->db, k, klen, &value, &vlen, &err) != 0)
        return jfail_store (self, &err, "reading a meta key");
    if (!value)
        return WEFT_ENOTFOUND;
    rc = s_copy_out (value, vlen, buf, cap, len);
    self->ops->free_value (value);
    return rc;
}

//  Calls FN for the committed key K (KLEN bytes, 'M' prefix included) and
//  VALUE, as the batch left it: skipped when deleted, the staged value when
//  put again.
static void s_scan_one (journal_t *self, const char *k, size_t klen, const void *value, size_t vlen,
                        journal_meta_fn *fn, void *arg)
{
    char key[JOURNAL_KEY_MAX + 1];
    const jmap_item_t *staged = jmap_find (&self->overlay, k, klen);
    if (staged && staged->num == JOV_DELETED)
        return;
    if (staged) {
        value = staged->blob;
        vlen = staged->blen;
    }
    memcpy (key, k + 1, klen - 1);
    key[klen - 1] = 0;
    fn (key, vlen ? value : "", vlen, arg);
}

//  Calls FN for the committed meta keys that start with PREFIX (K, KLEN:
//  'M' + prefix).
static int s_scan_committed (journal_t *self, const uint8_t *k, size_t klen, journal_meta_fn *fn,
                             void *arg)
{
    const store_ops_t *ops = self->ops;
    store_iter_t *it = jscan (self);
    if (!it)
        return jfail (self, WEFT_ENOMEM, "journal %s: out of memory", self->dir);
    for (ops->iter_seek (it, k, klen); ops->iter_valid (it); ops->iter_next (it)) {
        size_t len, vlen;
        const char *key = ops->iter_key (it, &len);
        if (len < klen || memcmp (key, k, klen) != 0)
            break;
        if (len > JOURNAL_KEY_MAX + 1)
            continue;
        const char *value = ops->iter_value (it, &vlen);
        s_scan_one (self, key, len, value, vlen, fn, arg);
    }
    return jscan_error (self, it, "scanning meta keys");
}

//  Calls FN for the keys that start with PREFIX (K, KLEN: 'M' + prefix) put
//  by the batch and not committed yet (the committed ones were seen).
static int s_scan_staged (journal_t *self, const uint8_t *k, size_t klen, journal_meta_fn *fn,
                          void *arg)
{
    for (size_t i = 0; i < self->overlay.cap; i++) {
        const jmap_item_t *item = self->overlay.slots[i];
        if (!item || item->num != JOV_PUT || item->klen < klen || memcmp (item->key, k, klen))
            continue;
        void *value = NULL;
        size_t vlen = 0;
        store_err_t err;
        if (self->ops->get (self->db, item->key, item->klen, &value, &vlen, &err) != 0)
            return jfail_store (self, &err, "scanning meta keys");
        bool committed = value != NULL;
        self->ops->free_value (value);
        if (!committed) {
            char key[JOURNAL_KEY_MAX + 1];
            memcpy (key, item->key + 1, item->klen - 1);
            key[item->klen - 1] = 0;
            fn (key, item->blen ? item->blob : "", item->blen, arg);
        }
    }
    return 0;
}

//  Calls FN for every meta key that starts with PREFIX.
int journal_meta_scan (journal_t *self, const char *prefix, journal_meta_fn *fn, void *arg)
{
    uint8_t k[1 + JOURNAL_KEY_MAX];
    size_t plen = prefix ? strlen (prefix) : 0;
    if (!self || !prefix || !fn || plen > JOURNAL_KEY_MAX)
        return WEFT_EINVAL;
    int rc = jready (self);
    if (rc)
        return rc;
    k[0] = JK_META;
    memcpy (k + 1, prefix, plen);
    rc = s_scan_committed (self, k, plen + 1, fn, arg);
    return rc ? rc : s_scan_staged (self, k, plen + 1, fn, arg);
}
