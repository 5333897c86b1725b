/*  node/wire/entry.h - the framing of a journal entry that carries a message:
      u32 big-endian header length | header (msgpack) | body
    Queues (node/queues/queue_store.c) and durable topics (node/durable/)
    store their entries this way. This is only the framing: what the header
    holds is its owner's business.

    wire_entry_split never trusts the stored length: an entry shorter than
    its prefix, or whose header length runs past its end, is refused.
    Thread: pure functions, safe from any thread.
*/
#ifndef WEFT_NODE_WIRE_ENTRY_H
#define WEFT_NODE_WIRE_ENTRY_H

#include <stddef.h>

#define WIRE_ENTRY_PREFIX 4 //  bytes of the header length in front of an entry

//  The size of an entry with a header of HLEN bytes and a body of BLEN bytes;
//  0 when it cannot be framed (HLEN over 4 GiB - 1, or the sum overflows).
size_t wire_entry_size (size_t hlen, size_t blen);

//  Writes the entry of HEADER (HLEN bytes) and BODY (BLEN bytes; BODY may be
//  NULL when BLEN is 0) into OUT, which holds wire_entry_size (HLEN, BLEN)
//  bytes. Returns 0, or WEFT_EINVAL when it cannot be framed (OUT untouched).
int wire_entry_pack (const void *header, size_t hlen, const void *body, size_t blen, void *out);

//  Splits entry DATA (LEN bytes) into its header and body, which point into
//  DATA (valid as long as DATA is). Returns 0, or WEFT_ECORRUPT when DATA is
//  shorter than the prefix or the stored header length runs past LEN (the
//  outputs are then untouched).
int wire_entry_split (const void *data, size_t len, const void **header, size_t *hlen,
                      const void **body, size_t *blen);

#endif
