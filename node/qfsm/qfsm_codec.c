/*  node/qfsm/qfsm_codec.c - log entries of the replicated queue state machine: the
    batch encoder and the checking decoder (the format is in qfsm.h).

    The decoder is fed bytes from the network. qfsm_reader_init walks the whole
    entry once with the same record parser qfsm_reader_next uses, checking every
    length against the bytes left before reading them, so a bad entry is refused
    before anything is applied and nothing is ever allocated by the decoder.
*/
#include "node/qfsm/qfsm_int.h"

#define S_ENQUEUE_FIXED 27 //  ENQUEUE record before its id, headers and body
#define S_ENTRY_MAX     UINT32_MAX

//  The encoder's buffer.
struct qfsm_batch {
    uint8_t *data;    //  the entry so far
    size_t size;      //  bytes in it
    size_t cap;       //  room
    size_t last_ack;  //  offset of the last record when it is an ACK, else 0
    uint32_t records; //  records written
    size_t commands;  //  commands written
};

/* ------------------------------------------------------------------------ */
/*  Shared checks                                                            */

bool qfsm_id_ok (const char *p, size_t len)
{
    return memchr (p, 0, len) == NULL;
}

bool qfsm_config_ok (const qfsm_config_t *config)
{
    return config->dedup_window_ms >= 0;
}

void qfsm_config_put (uint8_t *p, const qfsm_config_t *config)
{
    qput_u64 (p, config->max_messages);
    qput_u64 (p + 8, config->max_bytes);
    qput_u32 (p + 16, config->max_deliver);
    qput_u32 (p + 20, config->dedup_max);
    qput_u64 (p + 24, (uint64_t)config->dedup_window_ms);
    p[32] = config->dlq ? 1 : 0;
}

bool qfsm_config_get (const uint8_t *p, qfsm_config_t *config)
{
    config->max_messages = qget_u64 (p);
    config->max_bytes = qget_u64 (p + 8);
    config->max_deliver = qget_u32 (p + 16);
    config->dedup_max = qget_u32 (p + 20);
    config->dedup_window_ms = (int64_t)qget_u64 (p + 24);
    config->dlq = p[32] & 1;
    return p[32] <= 1 && qfsm_config_ok (config);
}

//  True when CMD is a command the decoder would accept.
static bool s_cmd_ok (const qfsm_cmd_t *cmd)
{
    switch (cmd->op) {
    case QFSM_ENQUEUE:
        return cmd->priority < QFSM_PRIORITIES && cmd->id_len <= QFSM_ID_MAX &&
               (cmd->id_len == 0 || (cmd->id && qfsm_id_ok (cmd->id, cmd->id_len))) &&
               cmd->headers_len <= QFSM_HEADERS_MAX && cmd->body_len <= QFSM_BODY_MAX &&
               (cmd->headers_len == 0 || cmd->headers) && (cmd->body_len == 0 || cmd->body);
    case QFSM_DELIVERED:
        return cmd->count >= 1;
    case QFSM_NACK:
        return cmd->delay_ms >= 0;
    case QFSM_DEAD:
        return cmd->reason_len <= QFSM_REASON_MAX && (cmd->reason_len == 0 || cmd->reason);
    case QFSM_CONFIG:
        return qfsm_config_ok (&cmd->config);
    case QFSM_ACK:
    case QFSM_PURGE:
        return true;
    }
    return false;
}

/* ------------------------------------------------------------------------ */
/*  Encoder                                                                  */

qfsm_batch_t *qfsm_batch_new (int64_t now_ms)
{
    qfsm_batch_t *batch = calloc (1, sizeof *batch);
    if (!batch)
        return NULL;
    batch->cap = 256;
    batch->data = malloc (batch->cap);
    if (!batch->data) {
        free (batch);
        return NULL;
    }
    qput_u16 (batch->data, QFSM_MAGIC);
    batch->data[2] = QFSM_VERSION;
    batch->data[3] = 0;
    qput_u32 (batch->data + 4, 0);
    qput_u64 (batch->data + 8, (uint64_t)now_ms);
    batch->size = QFSM_ENTRY_HDR;
    return batch;
}

void qfsm_batch_destroy (qfsm_batch_t **batch_p)
{
    if (!batch_p || !*batch_p)
        return;
    free ((*batch_p)->data);
    free (*batch_p);
    *batch_p = NULL;
}

//  Makes room for MORE bytes; returns a pointer to them, or NULL (RC set).
static uint8_t *s_grow (qfsm_batch_t *batch, size_t more, int *rc)
{
    if (more > S_ENTRY_MAX - batch->size) {
        *rc = WEFT_EMSGSIZE;
        return NULL;
    }
    if (batch->size + more > batch->cap) {
        size_t cap = batch->cap;
        while (cap < batch->size + more)
            cap *= 2;
        uint8_t *data = realloc (batch->data, cap);
        if (!data) {
            *rc = WEFT_ENOMEM;
            return NULL;
        }
        batch->data = data;
        batch->cap = cap;
    }
    uint8_t *p = batch->data + batch->size;
    batch->size += more;
    return p;
}

//  Bytes of CMD's record.
static size_t s_record_size (const qfsm_cmd_t *cmd)
{
    switch (cmd->op) {
    case QFSM_ENQUEUE:
        return S_ENQUEUE_FIXED + (size_t)cmd->id_len + cmd->headers_len + cmd->body_len;
    case QFSM_ACK:
        return 13;
    case QFSM_DELIVERED:
        return 13;
    case QFSM_NACK:
        return 17;
    case QFSM_DEAD:
        return 10 + (size_t)cmd->reason_len;
    case QFSM_PURGE:
        return 1;
    case QFSM_CONFIG:
        return 1 + QFSM_CONFIG_SZ;
    }
    return 0;
}

//  Writes CMD's record body (after the op byte) at P.
static void s_record_put (uint8_t *p, const qfsm_cmd_t *cmd)
{
    switch (cmd->op) {
    case QFSM_ENQUEUE:
        p[0] = cmd->priority;
        p[1] = cmd->id_len;
        qput_u32 (p + 2, cmd->headers_len);
        qput_u32 (p + 6, cmd->body_len);
        qput_u64 (p + 10, (uint64_t)cmd->not_before_ms);
        qput_u64 (p + 18, cmd->token);
        p += S_ENQUEUE_FIXED - 1;
        if (cmd->id_len)
            memcpy (p, cmd->id, cmd->id_len);
        if (cmd->headers_len)
            memcpy (p + cmd->id_len, cmd->headers, cmd->headers_len);
        if (cmd->body_len)
            memcpy (p + cmd->id_len + cmd->headers_len, cmd->body, cmd->body_len);
        break;
    case QFSM_ACK:
        qput_u32 (p, 1);
        qput_u64 (p + 4, cmd->seq);
        break;
    case QFSM_DELIVERED:
        qput_u64 (p, cmd->seq);
        qput_u32 (p + 8, cmd->count);
        break;
    case QFSM_NACK:
        qput_u64 (p, cmd->seq);
        qput_u64 (p + 8, (uint64_t)cmd->delay_ms);
        break;
    case QFSM_DEAD:
        qput_u64 (p, cmd->seq);
        p[8] = cmd->reason_len;
        if (cmd->reason_len)
            memcpy (p + 9, cmd->reason, cmd->reason_len);
        break;
    case QFSM_CONFIG:
        qfsm_config_put (p, &cmd->config);
        break;
    case QFSM_PURGE:
        break;
    }
}

int qfsm_batch_add (qfsm_batch_t *batch, const qfsm_cmd_t *cmd)
{
    if (!batch || !cmd || !s_cmd_ok (cmd))
        return WEFT_EINVAL;
    int rc = 0;
    if (cmd->op == QFSM_ACK && batch->last_ack) {
        uint8_t *p = s_grow (batch, 8, &rc);
        if (!p)
            return rc;
        uint8_t *count = batch->data + batch->last_ack + 1;
        qput_u32 (count, qget_u32 (count) + 1);
        qput_u64 (p, cmd->seq);
        batch->commands++;
        return 0;
    }
    if (batch->records == UINT32_MAX)
        return WEFT_EMSGSIZE;
    size_t at = batch->size;
    uint8_t *p = s_grow (batch, s_record_size (cmd), &rc);
    if (!p)
        return rc;
    p[0] = (uint8_t)cmd->op;
    s_record_put (p + 1, cmd);
    batch->last_ack = cmd->op == QFSM_ACK ? at : 0;
    batch->records++;
    batch->commands++;
    qput_u32 (batch->data + 4, batch->records);
    return 0;
}

const void *qfsm_batch_data (const qfsm_batch_t *batch, size_t *size)
{
    *size = batch->size;
    return batch->data;
}

size_t qfsm_batch_count (const qfsm_batch_t *batch)
{
    return batch->commands;
}

/* ------------------------------------------------------------------------ */
/*  Decoder                                                                  */

//  Bytes left to read.
static size_t s_left (const qfsm_reader_t *reader)
{
    return (size_t)(reader->end - reader->at);
}

//  Decodes an ENQUEUE record body into CMD. Returns false when it does not fit.
static bool s_get_enqueue (qfsm_reader_t *reader, qfsm_cmd_t *cmd)
{
    const uint8_t *p = reader->at;
    if (s_left (reader) < S_ENQUEUE_FIXED - 1)
        return false;
    cmd->priority = p[0];
    cmd->id_len = p[1];
    cmd->headers_len = qget_u32 (p + 2);
    cmd->body_len = qget_u32 (p + 6);
    cmd->not_before_ms = (int64_t)qget_u64 (p + 10);
    cmd->token = qget_u64 (p + 18);
    reader->at += S_ENQUEUE_FIXED - 1;
    if (cmd->priority >= QFSM_PRIORITIES || cmd->id_len > QFSM_ID_MAX ||
        cmd->headers_len > QFSM_HEADERS_MAX || cmd->body_len > QFSM_BODY_MAX)
        return false;
    size_t need = (size_t)cmd->id_len + cmd->headers_len + cmd->body_len;
    if (s_left (reader) < need)
        return false;
    cmd->id = (const char *)reader->at;
    cmd->headers = reader->at + cmd->id_len;
    cmd->body = reader->at + cmd->id_len + cmd->headers_len;
    reader->at += need;
    return qfsm_id_ok (cmd->id, cmd->id_len);
}

//  Decodes the body of a record of type OP into CMD. Returns false when malformed.
static bool s_get_record (qfsm_reader_t *reader, uint8_t op, qfsm_cmd_t *cmd)
{
    const uint8_t *p = reader->at;
    size_t left = s_left (reader);
    cmd->op = (qfsm_op_t)op;
    switch (op) {
    case QFSM_ENQUEUE:
        return s_get_enqueue (reader, cmd);
    case QFSM_ACK:
        if (left < 4 || qget_u32 (p) == 0 || qget_u32 (p) > (left - 4) / 8)
            return false;
        reader->acks_left = qget_u32 (p);
        reader->at += 4;
        return true;
    case QFSM_DELIVERED:
        if (left < 12)
            return false;
        cmd->seq = qget_u64 (p);
        cmd->count = qget_u32 (p + 8);
        reader->at += 12;
        return cmd->count >= 1;
    case QFSM_NACK:
        if (left < 16)
            return false;
        cmd->seq = qget_u64 (p);
        cmd->delay_ms = (int64_t)qget_u64 (p + 8);
        reader->at += 16;
        return cmd->delay_ms >= 0;
    case QFSM_DEAD:
        if (left < 9 || p[8] > QFSM_REASON_MAX || left - 9 < p[8])
            return false;
        cmd->seq = qget_u64 (p);
        cmd->reason_len = p[8];
        cmd->reason = (const char *)p + 9;
        reader->at += 9 + (size_t)p[8];
        return true;
    case QFSM_PURGE:
        return true;
    case QFSM_CONFIG:
        if (left < QFSM_CONFIG_SZ)
            return false;
        reader->at += QFSM_CONFIG_SZ;
        return qfsm_config_get (p, &cmd->config);
    }
    return false;
}

//  Reads the next command into CMD: 1, 0 at the end, WEFT_EINVAL when malformed.
static int s_next (qfsm_reader_t *reader, qfsm_cmd_t *cmd)
{
    memset (cmd, 0, sizeof *cmd);
    if (reader->acks_left) {
        cmd->op = QFSM_ACK;
        cmd->seq = qget_u64 (reader->at);
        reader->at += 8;
        reader->acks_left--;
        return 1;
    }
    if (reader->records == 0)
        return 0;
    if (s_left (reader) < 1)
        return WEFT_EINVAL;
    uint8_t op = *reader->at++;
    reader->records--;
    if (!s_get_record (reader, op, cmd))
        return WEFT_EINVAL;
    if (op == QFSM_ACK)
        return s_next (reader, cmd); //  one level: acks_left > 0 now
    return 1;
}

int qfsm_reader_init (qfsm_reader_t *reader, const void *data, size_t size)
{
    memset (reader, 0, sizeof *reader);
    const uint8_t *p = data;
    if (!p || size < QFSM_ENTRY_HDR || qget_u16 (p) != QFSM_MAGIC || p[2] != QFSM_VERSION ||
        p[3] != 0)
        return WEFT_EINVAL;
    reader->records = qget_u32 (p + 4);
    reader->now_ms = (int64_t)qget_u64 (p + 8);
    reader->at = p + QFSM_ENTRY_HDR;
    reader->end = p + size;
    if (reader->records > size - QFSM_ENTRY_HDR)
        return WEFT_EINVAL; //  every record takes a byte at least
    qfsm_reader_t walk = *reader;
    qfsm_cmd_t cmd;
    int rc;
    size_t commands = 0;
    while ((rc = s_next (&walk, &cmd)) == 1)
        commands++;
    if (rc < 0 || walk.at != walk.end) {
        memset (reader, 0, sizeof *reader);
        return WEFT_EINVAL;
    }
    reader->commands = commands;
    return 0;
}

int qfsm_reader_next (qfsm_reader_t *reader, qfsm_cmd_t *cmd)
{
    int rc = s_next (reader, cmd);
    return rc == 1 ? 1 : 0;
}
