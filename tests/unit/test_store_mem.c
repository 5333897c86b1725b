/*  tests/unit/test_store_mem.c - the memory backend of journal/store.h on its
    own: bytewise key order, seeks both ways, batches (later op wins),
    snapshots of iterators, what a crash restores of overwritten and deleted
    keys, and 100k keys in O(log n). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "journal/store_mem.h"
#include "weft.h"

static const store_ops_t *s_ops = &store_mem_ops;
static jdisk_t *s_disk;    //  this test's disk
static store_t *s_st;      //  the store open on it
static store_batch_t *s_b; //  a batch

//  Opens a store on the disk into s_st.
static void s_open (void)
{
    store_conf_t conf = {.dir = "mem", .disk = s_disk};
    store_err_t err;
    cr_assert_eq (s_ops->open (&conf, &s_st, &err), 0, "%s", err.msg);
}

static void s_setup (void)
{
    s_disk = jdisk_new ();
    cr_assert_not_null (s_disk);
    s_open ();
    s_b = s_ops->batch_new ();
    cr_assert_not_null (s_b);
}

static void s_teardown (void)
{
    s_ops->batch_destroy (&s_b);
    s_ops->close (&s_st);
    jdisk_destroy (&s_disk);
}

TestSuite (store_mem, .init = s_setup, .fini = s_teardown, .timeout = 30);

//  Puts KEY = VALUE (strings) in a batch of its own.
static void s_put (const char *key, const char *value, bool sync)
{
    s_ops->batch_clear (s_b);
    s_ops->batch_put (s_b, key, strlen (key), value, strlen (value));
    store_err_t err;
    cr_assert_eq (s_ops->write (s_st, s_b, sync, &err), 0, "%s", err.msg);
}

//  Deletes KEY in a batch of its own.
static void s_del (const char *key, bool sync)
{
    s_ops->batch_clear (s_b);
    s_ops->batch_del (s_b, key, strlen (key));
    store_err_t err;
    cr_assert_eq (s_ops->write (s_st, s_b, sync, &err), 0, "%s", err.msg);
}

//  Returns the value of KEY ("" when missing) in a static buffer.
static const char *s_get (const char *key)
{
    static char out[64];
    void *value = NULL;
    size_t vlen = 0;
    store_err_t err;
    cr_assert_eq (s_ops->get (s_st, key, strlen (key), &value, &vlen, &err), 0);
    snprintf (out, sizeof out, "%.*s", (int)vlen, value ? (const char *)value : "");
    s_ops->free_value (value);
    return value ? out : "(none)";
}

//  Lists the keys IT reads from its position, forward (or backward), as
//  "k1,k2," (keys are printable test strings).
static const char *s_list (store_iter_t *it, bool backward)
{
    static char out[256];
    out[0] = 0;
    for (; s_ops->iter_valid (it); backward ? s_ops->iter_prev (it) : s_ops->iter_next (it)) {
        size_t klen, vlen;
        const char *k = s_ops->iter_key (it, &klen);
        const char *v = s_ops->iter_value (it, &vlen);
        size_t used = strlen (out);
        snprintf (out + used, sizeof out - used, "%.*s=%.*s,", (int)klen, k, (int)vlen, v);
    }
    return out;
}

Test (store_mem, bytewise_order_and_seeks)
{
    const char *keys[] = {"b", "a", "ab", "\x7f", "aa", "a\x01", "ba"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        s_put (keys[i], "v", false);
    store_iter_t *it = s_ops->iter_new (s_st, false);
    s_ops->iter_seek_first (it);
    cr_assert_str_eq (s_list (it, false), "a=v,a\x01=v,aa=v,ab=v,b=v,ba=v,\x7f=v,");
    s_ops->iter_seek_last (it);
    cr_assert_str_eq (s_list (it, true), "\x7f=v,ba=v,b=v,ab=v,aa=v,a\x01=v,a=v,");
    s_ops->iter_seek (it, "ab", 2);
    cr_assert_str_eq (s_list (it, false), "ab=v,b=v,ba=v,\x7f=v,");
    s_ops->iter_seek (it, "a\x02", 2);
    cr_assert_str_eq (s_list (it, true), "aa=v,a\x01=v,a=v,");
    s_ops->iter_seek (it, "\x80", 1);
    cr_assert (!s_ops->iter_valid (it));
    store_err_t err;
    cr_assert_eq (s_ops->iter_error (it, &err), 0);
    s_ops->iter_destroy (&it);
    cr_assert_null (it);
}

Test (store_mem, batch_later_op_wins_and_deletes)
{
    s_ops->batch_put (s_b, "k", 1, "1", 1);
    s_ops->batch_put (s_b, "k", 1, "2", 1);
    s_ops->batch_put (s_b, "gone", 4, "x", 1);
    s_ops->batch_del (s_b, "gone", 4);
    s_ops->batch_put (s_b, "empty", 5, NULL, 0);
    store_err_t err;
    cr_assert_eq (s_ops->write (s_st, s_b, true, &err), 0);
    cr_assert_str_eq (s_get ("k"), "2");
    cr_assert_str_eq (s_get ("gone"), "(none)");
    cr_assert_str_eq (s_get ("empty"), "");
    cr_assert_eq (jdisk_keys (s_disk), 2);
    s_del ("k", false);
    s_del ("never", false);
    cr_assert_str_eq (s_get ("k"), "(none)");
    cr_assert_eq (jdisk_keys (s_disk), 1);
}

Test (store_mem, iterators_read_a_snapshot)
{
    s_put ("a", "1", false);
    s_put ("b", "1", false);
    s_put ("c", "1", false);
    store_iter_t *old = s_ops->iter_new (s_st, true);
    s_put ("b", "2", false);
    s_del ("c", false);
    s_put ("d", "2", false);
    s_del ("a", false);
    store_iter_t *now = s_ops->iter_new (s_st, true);
    s_ops->iter_seek_first (old);
    cr_assert_str_eq (s_list (old, false), "a=1,b=1,c=1,");
    s_ops->iter_seek_last (old);
    cr_assert_str_eq (s_list (old, true), "c=1,b=1,a=1,");
    s_ops->iter_seek_first (now);
    cr_assert_str_eq (s_list (now, false), "b=2,d=2,");
    s_ops->iter_seek_last (now);
    cr_assert_str_eq (s_list (now, true), "d=2,b=2,");
    //  Many writes under a live snapshot (sweeps happen) change nothing it reads.
    for (int i = 0; i < 5000; i++)
        s_put ("b", i % 2 ? "x" : "y", true);
    s_ops->iter_seek (old, "b", 1);
    cr_assert_str_eq (s_list (old, false), "b=1,c=1,");
    s_ops->iter_destroy (&old);
    s_ops->iter_destroy (&now);
    cr_assert_str_eq (s_get ("b"), "x");
}

//  Closes the store, crashes the disk keeping KEEP unsynced batches, reopens.
static void s_crash (uint64_t keep)
{
    s_ops->close (&s_st);
    cr_assert_eq (jdisk_crash (s_disk, keep), 0);
    s_open ();
}

Test (store_mem, crash_restores_overwritten_and_deleted_keys)
{
    s_put ("k", "v1", true);
    s_put ("k", "v2", false);
    s_del ("k", false);
    s_put ("k", "v3", false);
    cr_assert_str_eq (s_get ("k"), "v3");
    cr_assert_eq (jdisk_unsynced (s_disk), 3);
    cr_assert_eq (jdisk_crash (s_disk, 0), WEFT_ESTATE, "refused while open");
    cr_assert_eq (jdisk_unsynced (s_disk), 3);
    s_crash (2); //  keeps v2 and the delete
    cr_assert_str_eq (s_get ("k"), "(none)");
    s_put ("k", "v4", false);
    s_crash (0);
    cr_assert_str_eq (s_get ("k"), "(none)", "the kept delete became durable");
    s_put ("k", "v5", true);
    s_put ("k", "v6", false);
    s_crash (0);
    cr_assert_str_eq (s_get ("k"), "v5");
    s_put ("k", "v7", false);
    s_crash (1);
    cr_assert_str_eq (s_get ("k"), "v7");
    s_put ("k", "v8", false);
    s_crash (100); //  more than there are: all
    cr_assert_str_eq (s_get ("k"), "v8");
}

Test (store_mem, locked_and_failing)
{
    store_conf_t conf = {.dir = "mem", .disk = s_disk};
    store_t *other = NULL;
    store_err_t err;
    cr_assert_eq (s_ops->open (&conf, &other, &err), WEFT_ELOCKED);
    cr_assert (err.held_here);
    cr_assert_null (other);
    s_put ("a", "1", true);
    jdisk_fail_writes (s_disk, WEFT_ENOSPC);
    s_ops->batch_clear (s_b);
    s_ops->batch_put (s_b, "b", 1, "2", 1);
    s_ops->batch_put (s_b, "c", 1, "3", 1);
    cr_assert_eq (s_ops->write (s_st, s_b, true, &err), WEFT_ENOSPC);
    cr_assert_eq (err.code, WEFT_ENOSPC);
    cr_assert_eq (jdisk_keys (s_disk), 1);
    cr_assert_eq (s_ops->reopen (s_st, &err), WEFT_ENOSPC, "a full disk cannot reopen");
    cr_assert_str_eq (s_get ("a"), "1", "reads still work");
    jdisk_fail_writes (s_disk, 0);
    cr_assert_eq (s_ops->reopen (s_st, &err), 0);
    cr_assert_eq (s_ops->write (s_st, s_b, true, &err), 0);
    cr_assert_eq (jdisk_keys (s_disk), 3);
    cr_assert_eq (s_ops->repair (&conf, &err), WEFT_ELOCKED);
}

Test (store_mem, hundred_thousand_keys)
{
    enum { N = 100000 };
    //  Keys in a scrambled order (i * 7919 mod N is a bijection), 1000 a batch.
    uint8_t key[8];
    for (uint32_t i = 0; i < N; i++) {
        uint32_t k = (uint32_t)((uint64_t)i * 7919 % N);
        for (int b = 0; b < 8; b++)
            key[b] = (uint8_t)((uint64_t)k >> (56 - 8 * b));
        s_ops->batch_put (s_b, key, sizeof key, &k, sizeof k);
        if (i % 1000 == 999) {
            store_err_t err;
            cr_assert_eq (s_ops->write (s_st, s_b, i % 3000 == 999, &err), 0);
            s_ops->batch_clear (s_b);
        }
    }
    cr_assert_eq (jdisk_keys (s_disk), N);
    store_iter_t *it = s_ops->iter_new (s_st, false);
    uint32_t want = 0;
    for (s_ops->iter_seek_first (it); s_ops->iter_valid (it); s_ops->iter_next (it), want++) {
        size_t vlen;
        uint32_t v;
        memcpy (&v, s_ops->iter_value (it, &vlen), sizeof v);
        cr_assert_eq (v, want);
    }
    cr_assert_eq (want, N);
    //  Seeks: 100k of them, each O(log n).
    for (uint32_t k = 0; k < N; k++) {
        for (int b = 0; b < 8; b++)
            key[b] = (uint8_t)((uint64_t)k >> (56 - 8 * b));
        s_ops->iter_seek (it, key, sizeof key);
        cr_assert (s_ops->iter_valid (it));
        size_t klen;
        cr_assert_eq (memcmp (s_ops->iter_key (it, &klen), key, sizeof key), 0);
    }
    s_ops->iter_seek_last (it);
    s_ops->iter_prev (it);
    size_t vlen;
    uint32_t v;
    memcpy (&v, s_ops->iter_value (it, &vlen), sizeof v);
    cr_assert_eq (v, N - 2);
    s_ops->iter_destroy (&it);
}
