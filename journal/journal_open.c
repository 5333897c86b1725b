/*  journal/journal_open.c - opening (directory, store, format check,
    loading the stream records), closing and repairing the journal. See
    journal.h for the contract. */
#include "journal/journal_int.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "weft.h"

#define JOURNAL_CACHE_DEFAULT (8u << 20) //  block cache when the option is 0
#define JOURNAL_WRITE_DEFAULT (4u << 20) //  write buffer when the option is 0

/* ---------------------------------------------------------------------------
   Loading the streams
*/

//  Decodes a stream record (LEN bytes of V) into *ST and the name's place;
//  returns 0, or -1 when malformed.
static int s_record_decode (const uint8_t *v, size_t len, journal_stats_t *st, const char **name,
                            size_t *nlen)
{
    if (len <= JREC_HEADER || len > JREC_HEADER + JOURNAL_NAME_MAX || v[0] != JREC_VERSION)
        return -1;
    st->count = jget64 (v + 1);
    st->bytes = jget64 (v + 9);
    st->first_seq = jget64 (v + 17);
    st->last_seq = jget64 (v + 25);
    st->first_time_us = (int64_t)jget64 (v + 33);
    st->last_time_us = (int64_t)jget64 (v + 41);
    *name = (const char *)v + JREC_HEADER;
    *nlen = len - JREC_HEADER;
    if (memchr (*name, 0, *nlen) || st->count > st->last_seq)
        return -1;
    return 0;
}

//  Loads one stream record from the iterator's current position.
static int s_load_record (journal_t *self, store_iter_t *it)
{
    size_t klen, vlen;
    const uint8_t *k = self->ops->iter_key (it, &klen);
    const uint8_t *v = self->ops->iter_value (it, &vlen);
    journal_stats_t st;
    const char *name;
    size_t nlen;
    if (klen != JK_STREAM_LEN || s_record_decode (v, vlen, &st, &name, &nlen) != 0)
        return jfail (self, WEFT_ECORRUPT, "journal %s is corrupt: a malformed stream record",
                      self->dir);
    uint32_t sid = jget32 (k + 1);
    if (sid == 0 || jmap_find (&self->names, name, nlen))
        return jfail (self, WEFT_ECORRUPT,
                      "journal %s is corrupt: stream id %" PRIu32
                      " is invalid or its name is taken",
                      self->dir, sid);
    if (jstream_add (self, name, nlen, sid, &st) != 0)
        return jfail (self, WEFT_ENOMEM, "journal %s: out of memory", self->dir);
    if (sid >= self->next_sid)
        self->next_sid = sid + 1;
    return 0;
}

//  Loads every stream record: O(streams).
int jstreams_load (journal_t *self)
{
    const store_ops_t *ops = self->ops;
    store_iter_t *it = ops->iter_new (self->db, false);
    if (!it)
        return jfail (self, WEFT_ENOMEM, "journal %s: out of memory", self->dir);
    const char prefix = JK_STREAM;
    int rc = 0;
    self->next_sid = 1;
    for (ops->iter_seek (it, &prefix, 1); ops->iter_valid (it) && rc == 0; ops->iter_next (it)) {
        size_t klen;
        const char *k = ops->iter_key (it, &klen);
        if (klen == 0 || k[0] != JK_STREAM)
            break;
        rc = s_load_record (self, it);
    }
    if (rc == 0)
        rc = jscan_error (self, it, "reading the stream records");
    ops->iter_destroy (&it);
    self->ncommitted = self->nstreams;
    self->committed_next_sid = self->next_sid;
    return rc;
}

/* ---------------------------------------------------------------------------
   Open, close, repair
*/

//  Creates DIR and its missing parents; returns 0 or an errno value.
static int s_mkdirs (const char *dir)
{
    char path[PATH_MAX];
    size_t len = strlen (dir);
    if (len >= sizeof path)
        return ENAMETOOLONG;
    memcpy (path, dir, len + 1);
    for (char *p = path + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir (path, 0755) != 0 && errno != EEXIST)
                return errno;
            *p = '/';
        }
    if (mkdir (path, 0755) != 0 && errno != EEXIST)
        return errno;
    return 0;
}

//  Makes sure DIR is a writable directory, creating it if missing.
static int s_prepare_dir (const char *dir, const wlog_t *log, char *err, size_t errlen)
{
    struct stat info;
    int code = s_mkdirs (dir);
    if (code == 0 && stat (dir, &info) != 0)
        code = errno;
    if (code == 0 && !S_ISDIR (info.st_mode))
        code = ENOTDIR;
    if (code == ENOTDIR)
        return jfail_early (log, err, errlen, WEFT_EIO,
                            "journal %s is not a directory (or a parent is a file)", dir);
    if (code)
        return jfail_early (log, err, errlen, WEFT_EIO, "journal %s cannot be created: %s", dir,
                            strerror (code));
    if (access (dir, W_OK | X_OK) != 0)
        return jfail_early (log, err, errlen, WEFT_EIO, "journal %s is not writable: %s", dir,
                            strerror (errno));
    return 0;
}

//  Allocates a journal for DIR on the backend OPTS chooses; NULL when out of
//  memory.
static journal_t *s_new (const char *dir, const journal_options_t *opts)
{
    journal_t *self = calloc (1, sizeof *self);
    if (!self || !(self->dir = strdup (dir))) {
        free (self);
        return NULL;
    }
    self->log = opts ? opts->log : NULL;
    self->ops = opts && opts->disk ? &store_mem_ops : &store_leveldb_ops;
    if (!(self->batch = self->ops->batch_new ())) {
        free (self->dir);
        free (self);
        return NULL;
    }
    jmap_init (&self->names);
    jmap_init (&self->overlay);
    return self;
}

//  Opens the store of SELF in its directory (or on OPTS' disk).
static int s_store_open (journal_t *self, const journal_options_t *opts)
{
    store_conf_t conf = {
        .dir = self->dir,
        .cache_bytes = opts && opts->cache_bytes ? opts->cache_bytes : JOURNAL_CACHE_DEFAULT,
        .write_buffer = opts && opts->write_buffer ? opts->write_buffer : JOURNAL_WRITE_DEFAULT,
        .disk = opts ? opts->disk : NULL,
    };
    store_err_t err;
    return self->ops->open (&conf, &self->db, &err) ? jfail_store (self, &err, "open") : 0;
}

//  Writes the format key on a new database (synced).
static int s_write_format (journal_t *self)
{
    const char key = JK_FORMAT;
    uint8_t v[4];
    jput32 (v, JOURNAL_FORMAT);
    store_batch_t *b = self->ops->batch_new ();
    if (!b)
        return jfail (self, WEFT_ENOMEM, "journal %s: out of memory", self->dir);
    self->ops->batch_put (b, &key, 1, v, sizeof v);
    store_err_t err;
    int rc = self->ops->write (self->db, b, true, &err);
    self->ops->batch_destroy (&b);
    return rc ? jfail_store (self, &err, "writing the format") : 0;
}

//  Checks the format key; on a new database writes it, on a database that
//  has keys but no format key refuses it.
static int s_check_format (journal_t *self)
{
    const store_ops_t *ops = self->ops;
    const char key = JK_FORMAT;
    void *value = NULL;
    size_t vlen = 0;
    store_err_t err;
    if (ops->get (self->db, &key, 1, &value, &vlen, &err) != 0)
        return jfail_store (self, &err, "reading the format");
    uint32_t format = value && vlen == 4 ? jget32 (value) : 0;
    bool found = value != NULL;
    ops->free_value (value);
    if (found && format != JOURNAL_FORMAT)
        return jfail (self, WEFT_EINVAL, "journal %s has format %" PRIu32 ", this build reads %d",
                      self->dir, format, JOURNAL_FORMAT);
    if (found)
        return 0;
    store_iter_t *it = ops->iter_new (self->db, false);
    if (!it)
        return jfail (self, WEFT_ENOMEM, "journal %s: out of memory", self->dir);
    ops->iter_seek_first (it);
    bool empty = !ops->iter_valid (it);
    int rc = jscan_error (self, it, "reading the format");
    ops->iter_destroy (&it);
    if (rc || !empty)
        return rc ? rc
                  : jfail (self, WEFT_EINVAL, "journal %s holds a database that is not a journal",
                           self->dir);
    return s_write_format (self);
}

//  Opens the journal in DIR.
int journal_open (const char *dir, const journal_options_t *opts, journal_t **out, char *err,
                  size_t errlen)
{
    const wlog_t *log = opts ? opts->log : NULL;
    if (err && errlen)
        *err = 0;
    if (out)
        *out = NULL;
    if (!dir || !*dir || !out)
        return jfail_early (log, err, errlen, WEFT_EINVAL, "journal: no directory given");
    //  on a memory disk the directory is only a label
    int rc = opts && opts->disk ? 0 : s_prepare_dir (dir, log, err, errlen);
    if (rc)
        return rc;
    journal_t *self = s_new (dir, opts);
    if (!self)
        return jfail_early (log, err, errlen, WEFT_ENOMEM, "journal %s: out of memory", dir);
    rc = s_store_open (self, opts);
    if (rc == 0)
        rc = s_check_format (self);
    if (rc == 0)
        rc = jstreams_load (self);
    if (rc) {
        if (err && errlen)
            snprintf (err, errlen, "%s", self->error);
        journal_close (&self);
        return rc;
    }
    self->error[0] = 0;
    *out = self;
    return 0;
}

//  Closes the journal, discarding staged ops.
void journal_close (journal_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    journal_t *self = *self_p;
    if (self->pending)
        wlog_warn (self->log, "journal %s: closed with %zu ops not committed (discarded)",
                   self->dir, self->pending);
    jscan_drop (self);
    self->ops->close (&self->db);
    self->ops->batch_destroy (&self->batch);
    jstreams_free (self);
    free (self->streams);
    free (self->dirty);
    jmap_free (&self->names);
    jmap_free (&self->overlay);
    free (self->vbuf);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

//  Salvages the LevelDB journal in DIR (the store's repair).
int journal_repair (const char *dir, char *err, size_t errlen)
{
    struct stat info;
    if (err && errlen)
        *err = 0;
    if (!dir || !*dir)
        return jfail_early (NULL, err, errlen, WEFT_EINVAL, "journal: no directory given");
    if (stat (dir, &info) != 0 || !S_ISDIR (info.st_mode))
        return jfail_early (NULL, err, errlen, WEFT_EIO, "journal %s is not a directory", dir);
    store_conf_t conf = {.dir = dir};
    store_err_t serr;
    int rc = store_leveldb_ops.repair (&conf, &serr);
    if (rc == WEFT_ELOCKED)
        return jfail_early (NULL, err, errlen, rc, "journal %s is in use, cannot repair it (%s)",
                            dir, serr.msg);
    if (rc)
        return jfail_early (NULL, err, errlen, WEFT_EIO, "journal %s: repair failed: %s", dir,
                            serr.msg);
    return 0;
}
