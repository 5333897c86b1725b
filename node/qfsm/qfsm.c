/*  node/qfsm/qfsm.c - the replicated state machine of one queue (see qfsm.h): its
    life cycle, apply (one handler per command type, from a table), the leader's
    queries, the output of applies and the invariant check. Containers are in
    qfsm_tab.c, entries in qfsm_codec.c, snapshots in qfsm_snap.c.

    Apply order per entry: the clock advances to max (clock, now_ms); delayed messages
    now due leave the delay heap; dedup ids older than the window are evicted; then
    each command in order, and after each one parked letters move into the queue
    while it has room. Everything depends only on the state and the entry.
*/
#include "node/qfsm/qfsm_int.h"

#include <limits.h>

/* ------------------------------------------------------------------------ */
/*  Life cycle                                                               */

void qfsm_config_init (qfsm_config_t *config)
{
    memset (config, 0, sizeof *config);
    config->max_messages = QFSM_DEFAULT_MAX_MESSAGES;
    config->max_bytes = QFSM_DEFAULT_MAX_BYTES;
    config->max_deliver = QFSM_DEFAULT_MAX_DELIVER;
    config->dedup_max = QFSM_DEFAULT_DEDUP_MAX;
    config->dedup_window_ms = QFSM_DEFAULT_DEDUP_WINDOW_MS;
}

qfsm_t *qfsm_new (const qfsm_config_t *config)
{
    qfsm_config_t defaults;
    qfsm_config_init (&defaults);
    if (!config)
        config = &defaults;
    if (!qfsm_config_ok (config))
        return NULL;
    qfsm_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    self->next_seq = 1;
    self->clock = INT64_MIN;
    if (qtab_init (&self->by_seq, qmsg_hash_of, 0) || qtab_init (&self->by_id, qdd_hash_of, 0))
        qfsm_destroy (&self);
    return self;
}

void qfsm_destroy (qfsm_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    qfsm_t *self = *self_p;
    for (int p = 0; p <= QFSM_PRIORITIES; p++) {
        qlist_m_t *list = p < QFSM_PRIORITIES ? &self->lists[p] : &self->parked;
        for (qmsg_t *msg = list->head, *next; msg; msg = next) {
            next = msg->next;
            free (msg);
        }
    }
    for (qdd_t *dd = self->dd_head, *next; dd; dd = next) {
        next = dd->next;
        free (dd);
    }
    qtab_fini (&self->by_seq);
    qtab_fini (&self->by_id);
    free (self->heap);
    free (self);
    *self_p = NULL;
}

void qfsm_config (const qfsm_t *self, qfsm_config_t *config)
{
    *config = self->config;
}

/* ------------------------------------------------------------------------ */
/*  Dedup                                                                    */

//  True when dedup entry ITEM holds id KEY (a qfsm_cmd_t).
static bool s_dd_eq (const void *item, const void *key)
{
    const qdd_t *dd = item;
    const qfsm_cmd_t *cmd = key;
    return dd->len == cmd->id_len && memcmp (dd->id, cmd->id, dd->len) == 0;
}

//  Evicts the oldest dedup entry.
static void s_dd_evict (qfsm_t *self)
{
    qdd_t *dd = self->dd_head;
    self->dd_head = dd->next;
    if (!self->dd_head)
        self->dd_tail = NULL;
    qtab_remove (&self->by_id, dd);
    free (dd);
}

//  True when dedup entry DD is older than the window (its time is never past the clock).
static bool s_dd_expired (const qfsm_t *self, const qdd_t *dd)
{
    return (uint64_t)self->clock - (uint64_t)dd->at >= (uint64_t)self->config.dedup_window_ms;
}

//  Evicts what the window and the bound no longer allow, oldest first.
static void s_dd_trim (qfsm_t *self)
{
    while (self->dd_head &&
           (self->by_id.count > self->config.dedup_max || s_dd_expired (self, self->dd_head)))
        s_dd_evict (self);
}

//  True when the state deduplicates at all.
static bool s_dd_on (const qfsm_t *self)
{
    return self->config.dedup_max > 0 && self->config.dedup_window_ms > 0;
}

//  Records that CMD's id was enqueued as SEQ. Returns 0 or WEFT_ENOMEM.
static int s_dd_add (qfsm_t *self, const qfsm_cmd_t *cmd, uint64_t seq)
{
    qdd_t *dd = malloc (sizeof *dd + cmd->id_len + 1);
    if (!dd || qtab_reserve (&self->by_id, self->by_id.count + 1)) {
        free (dd);
        return WEFT_ENOMEM;
    }
    dd->next = NULL;
    dd->seq = seq;
    dd->at = self->clock;
    dd->hash = qfsm_id_hash (cmd->id, cmd->id_len);
    dd->len = cmd->id_len;
    memcpy (dd->id, cmd->id, cmd->id_len);
    dd->id[cmd->id_len] = 0;
    if (self->dd_tail)
        self->dd_tail->next = dd;
    else
        self->dd_head = dd;
    self->dd_tail = dd;
    qtab_insert (&self->by_id, dd);
    s_dd_trim (self);
    return 0;
}

/* ------------------------------------------------------------------------ */
/*  Commands                                                                 */

//  True when one more message of SIZE bytes fits under the limits.
static bool s_room (const qfsm_t *self, uint64_t size)
{
    const qfsm_config_t *c = &self->config;
    uint64_t pending = self->by_seq.count - self->parked.size;
    return (!c->max_messages || pending < c->max_messages) &&
           (!c->max_bytes || (size <= c->max_bytes && self->bytes <= c->max_bytes - size));
}

//  Puts detached MSG in the queue (pending), in the delay heap when not yet due.
static void s_make_pending (qfsm_t *self, qmsg_t *msg)
{
    msg->parked = 0;
    qlist_m_append (&self->lists[msg->priority], msg);
    self->bytes += qmsg_size (msg);
    if (msg->not_before > self->clock)
        qheap_m_push (self, msg);
}

//  ENQUEUE: dedup, then the limits, then a new message with the next seq.
static int s_enqueue (qfsm_t *self, const qfsm_cmd_t *cmd, qfsm_result_t *res, qfsm_out_t *out)
{
    (void)out;
    res->token = cmd->token;
    if (cmd->id_len && s_dd_on (self)) {
        const qdd_t *dd =
            qtab_find (&self->by_id, qfsm_id_hash (cmd->id, cmd->id_len), s_dd_eq, cmd);
        if (dd) {
            self->totals.duplicates++;
            res->seq = dd->seq;
            return QFSM_DUPLICATE;
        }
    }
    uint64_t size = (uint64_t)cmd->headers_len + cmd->body_len;
    bool park = self->parked.size > 0 || !s_room (self, size);
    if ((park && !self->config.dlq) || self->next_seq == UINT64_MAX) { //  or out of seqs
        self->totals.refused++;
        return WEFT_EFULL;
    }
    //  The heap gets room for every message, so a NACK never allocates.
    if (qtab_reserve (&self->by_seq, self->by_seq.count + 1) ||
        qheap_m_reserve (self, self->by_seq.count + 1))
        return WEFT_ENOMEM;
    qmsg_t *msg = qmsg_new (self->next_seq, cmd->id, cmd->id_len, cmd->headers, cmd->headers_len,
                            cmd->body, cmd->body_len);
    if (!msg)
        return WEFT_ENOMEM;
    msg->priority = cmd->priority;
    msg->token = cmd->token;
    msg->not_before = cmd->not_before_ms;
    qtab_insert (&self->by_seq, msg);
    if (park) {
        msg->parked = 1;
        qlist_m_append (&self->parked, msg);
        self->parked_bytes += size;
        self->totals.parked_total++;
    } else
        s_make_pending (self, msg);
    res->seq = self->next_seq++;
    self->totals.enqueued++;
    if (cmd->id_len && s_dd_on (self) && s_dd_add (self, cmd, msg->seq))
        return WEFT_ENOMEM;
    return park ? QFSM_PARKED : 0;
}

//  The pending (not parked) message of CMD, or NULL.
static qmsg_t *s_pending (const qfsm_t *self, const qfsm_cmd_t *cmd)
{
    qmsg_t *msg = qmsg_lookup (self, cmd->seq);
    return msg && !msg->parked ? msg : NULL;
}

//  ACK: the pending message goes.
static int s_ack (qfsm_t *self, const qfsm_cmd_t *cmd, qfsm_result_t *res, qfsm_out_t *out)
{
    (void)res;
    (void)out;
    qmsg_t *msg = s_pending (self, cmd);
    if (!msg)
        return WEFT_EINVAL;
    qmsg_detach (self, msg);
    free (msg);
    self->totals.acked++;
    return 0;
}

//  DELIVERED: the delivery count only grows.
static int s_delivered (qfsm_t *self, const qfsm_cmd_t *cmd, qfsm_result_t *res, qfsm_out_t *out)
{
    (void)out;
    qmsg_t *msg = s_pending (self, cmd);
    if (!msg)
        return WEFT_EINVAL;
    if (cmd->count > msg->deliveries)
        msg->deliveries = cmd->count;
    self->totals.delivered++;
    res->count = msg->deliveries;
    return 0;
}

//  Makes room in OUT for one more dead letter: 0 or WEFT_ENOMEM.
static int s_letter_room (qfsm_out_t *out)
{
    if (out->nletters == out->lcap) {
        size_t cap = out->lcap ? out->lcap * 2 : 8;
        qletter_t *letters = realloc (out->letters, cap * sizeof *letters);
        if (!letters)
            return WEFT_ENOMEM;
        out->letters = letters;
        out->lcap = cap;
    }
    return 0;
}

//  Dead-letters pending MSG for REASON (LEN bytes) into OUT.
static int s_kill (qfsm_t *self, qmsg_t *msg, const char *reason, size_t len, qfsm_out_t *out)
{
    if (s_letter_room (out))
        return WEFT_ENOMEM;
    qmsg_detach (self, msg);
    qletter_t *letter = &out->letters[out->nletters++];
    letter->msg = msg;
    memcpy (letter->reason, reason, len);
    letter->reason[len] = 0;
    self->totals.dead++;
    return QFSM_DEADLETTERED;
}

//  NACK: back, not before clock + delay; dead-lettered when out of deliveries.
static int s_nack (qfsm_t *self, const qfsm_cmd_t *cmd, qfsm_result_t *res, qfsm_out_t *out)
{
    (void)res;
    qmsg_t *msg = s_pending (self, cmd);
    if (!msg)
        return WEFT_EINVAL;
    if (qmsg_exhausted (self, msg))
        return s_kill (self, msg, "max_deliver", 11, out);
    if (msg->slot != QFSM_NO_SLOT)
        qheap_m_remove (self, msg);
    int64_t delay = cmd->delay_ms;
    msg->not_before = self->clock > INT64_MAX - delay ? INT64_MAX : self->clock + delay;
    if (msg->not_before > self->clock)
        qheap_m_push (self, msg); //  room: the heap has room for every message
    self->totals.nacked++;
    return 0;
}

//  DEAD: dead-lettered, except in a dead-letter queue.
static int s_dead (qfsm_t *self, const qfsm_cmd_t *cmd, qfsm_result_t *res, qfsm_out_t *out)
{
    (void)res;
    qmsg_t *msg = s_pending (self, cmd);
    if (!msg || self->config.dlq)
        return WEFT_EINVAL;
    return s_kill (self, msg, cmd->reason, cmd->reason_len, out);
}

//  PURGE: every message goes, parked ones too; the dedup table stays.
static int s_purge (qfsm_t *self, const qfsm_cmd_t *cmd, qfsm_result_t *res, qfsm_out_t *out)
{
    (void)cmd;
    (void)out;
    uint64_t removed = 0;
    for (int p = 0; p <= QFSM_PRIORITIES; p++) {
        qlist_m_t *list = p < QFSM_PRIORITIES ? &self->lists[p] : &self->parked;
        for (qmsg_t *msg = list->head, *next; msg; msg = next, removed++) {
            next = msg->next;
            free (msg);
        }
        memset (list, 0, sizeof *list);
    }
    memset (self->by_seq.slots, 0, (self->by_seq.mask + 1) * sizeof (void *));
    self->by_seq.count = 0;
    self->heap_size = 0;
    self->bytes = self->parked_bytes = 0;
    self->totals.purged += removed;
    res->count = removed;
    return 0;
}

//  CONFIG: the new configuration; the dedup table is trimmed to it.
static int s_configure (qfsm_t *self, const qfsm_cmd_t *cmd, qfsm_result_t *res, qfsm_out_t *out)
{
    (void)res;
    (void)out;
    self->config = cmd->config;
    s_dd_trim (self);
    return 0;
}

//  A command handler: returns the result's status (or WEFT_ENOMEM).
typedef int (s_handler_fn) (qfsm_t *self, const qfsm_cmd_t *cmd, qfsm_result_t *res,
                            qfsm_out_t *out);

static s_handler_fn *const s_handlers[] = {
    [QFSM_ENQUEUE] = s_enqueue,  [QFSM_ACK] = s_ack,   [QFSM_DELIVERED] = s_delivered,
    [QFSM_NACK] = s_nack,        [QFSM_DEAD] = s_dead, [QFSM_PURGE] = s_purge,
    [QFSM_CONFIG] = s_configure,
};

/* ------------------------------------------------------------------------ */
/*  Apply                                                                    */

//  True when message ITEM has seq *KEY.
static bool s_seq_eq (const void *item, const void *key)
{
    return ((const qmsg_t *)item)->seq == *(const uint64_t *)key;
}

qmsg_t *qmsg_lookup (const qfsm_t *self, uint64_t seq)
{
    return qtab_find (&self->by_seq, qfsm_seq_hash (seq), s_seq_eq, &seq);
}

//  Moves parked letters into the queue, oldest first, while there is room.
static void s_unpark (qfsm_t *self)
{
    qmsg_t *msg;
    while ((msg = self->parked.head) && s_room (self, qmsg_size (msg))) {
        qlist_m_unlink (&self->parked, msg);
        self->parked_bytes -= qmsg_size (msg);
        s_make_pending (self, msg);
    }
}

//  Advances the clock to NOW: due messages leave the delay heap, old ids the table.
static void s_advance (qfsm_t *self, int64_t now)
{
    if (now > self->clock)
        self->clock = now;
    qmsg_t *msg;
    while ((msg = qheap_m_top (self)) && msg->not_before <= self->clock)
        qheap_m_remove (self, msg);
    s_dd_trim (self);
}

//  Appends an empty result to OUT; NULL when out of memory.
static qfsm_result_t *s_result (qfsm_out_t *out)
{
    if (out->nresults == out->rcap) {
        size_t cap = out->rcap ? out->rcap * 2 : 16;
        qfsm_result_t *results = realloc (out->results, cap * sizeof *results);
        if (!results)
            return NULL;
        out->results = results;
        out->rcap = cap;
    }
    qfsm_result_t *res = &out->results[out->nresults++];
    memset (res, 0, sizeof *res);
    return res;
}

int qfsm_apply (qfsm_t *self, const void *entry, size_t size, qfsm_out_t *out)
{
    if (!self || !out)
        return WEFT_EINVAL;
    if (self->broken)
        return WEFT_ESTATE;
    qfsm_reader_t reader;
    if (qfsm_reader_init (&reader, entry, size))
        return WEFT_EINVAL;
    s_advance (self, reader.now_ms);
    qfsm_cmd_t cmd;
    while (qfsm_reader_next (&reader, &cmd)) {
        qfsm_result_t *res = s_result (out);
        int rc = res ? s_handlers[cmd.op](self, &cmd, res, out) : WEFT_ENOMEM;
        if (rc == WEFT_ENOMEM) {
            self->broken = true;
            return WEFT_ENOMEM;
        }
        res->op = cmd.op;
        res->status = rc;
        if (cmd.op != QFSM_ENQUEUE && cmd.op != QFSM_PURGE && cmd.op != QFSM_CONFIG)
            res->seq = cmd.seq;
        if (rc == WEFT_EINVAL)
            self->totals.invalid++;
        if (self->parked.size)
            s_unpark (self);
    }
    self->totals.entries++;
    return 0;
}
