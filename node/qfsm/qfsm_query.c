/*  node/qfsm/qfsm_query.c - what the leader asks the replicated queue state machine
    (see qfsm.h): counters, lookups, the walk in dispatch order, the next due time;
    the output of applies; and the invariant check tests run.
*/
#include "node/qfsm/qfsm_int.h"

void qmsg_info (const qfsm_t *self, const qmsg_t *msg, qfsm_info_t *info)
{
    info->seq = msg->seq;
    info->token = msg->token;
    info->not_before_ms = msg->not_before;
    info->deliveries = msg->deliveries;
    info->priority = msg->priority;
    info->parked = msg->parked;
    info->exhausted = self && qmsg_exhausted (self, msg);
    info->id = msg->data;
    info->id_len = msg->id_len;
    info->headers = msg->data + msg->id_len + 1;
    info->headers_len = msg->headers_len;
    info->body = msg->data + msg->id_len + 1 + msg->headers_len;
    info->body_len = msg->body_len;
    info->reason = NULL;
}

/* ------------------------------------------------------------------------ */
/*  Queries                                                                  */

void qfsm_stats (const qfsm_t *self, qfsm_stats_t *stats)
{
    *stats = self->totals;
    stats->parked = self->parked.size;
    stats->pending = self->by_seq.count - self->parked.size;
    stats->delayed = self->heap_size;
    stats->ready = stats->pending - stats->delayed;
    stats->bytes = self->bytes;
    stats->parked_bytes = self->parked_bytes;
    stats->dedup_ids = self->by_id.count;
    stats->next_seq = self->next_seq;
    stats->clock = self->clock;
}

int qfsm_find (const qfsm_t *self, uint64_t seq, qfsm_info_t *info)
{
    const qmsg_t *msg = qmsg_lookup (self, seq);
    if (!msg)
        return WEFT_ENOTFOUND;
    qmsg_info (self, msg, info);
    return 0;
}

//  From MSG on (then the lower priorities), the first message due by NOW, or NULL.
static const qmsg_t *s_due_from (const qfsm_t *self, const qmsg_t *msg, int priority, int64_t now)
{
    for (;;) {
        for (; msg; msg = msg->next)
            if (msg->not_before <= now)
                return msg;
        if (--priority < 0)
            return NULL;
        msg = self->lists[priority].head;
    }
}

//  Stores MSG in ITER and INFO: 1, or 0 when MSG is NULL.
static int s_iter_at (const qfsm_t *self, qfsm_iter_t *iter, const qmsg_t *msg, qfsm_info_t *info)
{
    iter->msg = msg;
    if (!msg)
        return 0;
    qmsg_info (self, msg, info);
    return 1;
}

int qfsm_iter_first (const qfsm_t *self, int64_t now, qfsm_iter_t *iter, qfsm_info_t *info)
{
    iter->now = now;
    int top = QFSM_PRIORITIES - 1;
    return s_iter_at (self, iter, s_due_from (self, self->lists[top].head, top, now), info);
}

int qfsm_iter_next (const qfsm_t *self, qfsm_iter_t *iter, qfsm_info_t *info)
{
    const qmsg_t *msg = iter->msg;
    if (!msg)
        return 0;
    return s_iter_at (self, iter, s_due_from (self, msg->next, msg->priority, iter->now), info);
}

int64_t qfsm_next_due (const qfsm_t *self)
{
    const qmsg_t *msg = qheap_m_top (self);
    return msg ? msg->not_before : INT64_MAX;
}

/* ------------------------------------------------------------------------ */
/*  Output                                                                   */

qfsm_out_t *qfsm_out_new (void)
{
    return calloc (1, sizeof (qfsm_out_t));
}

void qfsm_out_reset (qfsm_out_t *out)
{
    for (size_t i = 0; i < out->nletters; i++)
        free (out->letters[i].msg);
    out->nletters = 0;
    out->nresults = 0;
}

void qfsm_out_destroy (qfsm_out_t **out_p)
{
    if (!out_p || !*out_p)
        return;
    qfsm_out_reset (*out_p);
    free ((*out_p)->results);
    free ((*out_p)->letters);
    free (*out_p);
    *out_p = NULL;
}

size_t qfsm_out_results (const qfsm_out_t *out)
{
    return out->nresults;
}

const qfsm_result_t *qfsm_out_result (const qfsm_out_t *out, size_t i)
{
    return i < out->nresults ? &out->results[i] : NULL;
}

size_t qfsm_out_letters (const qfsm_out_t *out)
{
    return out->nletters;
}

int qfsm_out_letter (const qfsm_out_t *out, size_t i, qfsm_info_t *info)
{
    if (i >= out->nletters)
        return WEFT_EINVAL;
    qmsg_info (NULL, out->letters[i].msg, info);
    info->reason = out->letters[i].reason;
    return 0;
}

/* ------------------------------------------------------------------------ */
/*  Invariants                                                               */

//  Checks LIST: links, seq order, PARKED flags, priority; adds its bytes to *BYTES.
static int s_check_list (const qfsm_t *self, const qlist_m_t *list, int priority, bool parked,
                         uint64_t *bytes)
{
    int faults = 0;
    size_t size = 0;
    const qmsg_t *prev = NULL;
    for (const qmsg_t *msg = list->head; msg && size <= list->size; prev = msg, msg = msg->next) {
        faults += msg->prev != prev || (prev && prev->seq >= msg->seq);
        faults += msg->parked != parked || (!parked && msg->priority != priority);
        faults += msg->priority >= QFSM_PRIORITIES || msg->seq >= self->next_seq;
        faults += qmsg_lookup (self, msg->seq) != msg;
        faults += !parked && (msg->slot != QFSM_NO_SLOT) != (msg->not_before > self->clock);
        faults += parked && msg->slot != QFSM_NO_SLOT;
        *bytes += qmsg_size (msg);
        size++;
    }
    return faults + (size != list->size) + (list->tail != prev);
}

int qfsm_check (const qfsm_t *self)
{
    int faults = 0;
    uint64_t bytes = 0, parked_bytes = 0, max_pending = 0;
    for (int p = 0; p < QFSM_PRIORITIES; p++) {
        faults += s_check_list (self, &self->lists[p], p, false, &bytes);
        if (self->lists[p].tail && self->lists[p].tail->seq > max_pending)
            max_pending = self->lists[p].tail->seq;
    }
    faults += s_check_list (self, &self->parked, 0, true, &parked_bytes);
    faults += self->parked.head && self->parked.head->seq <= max_pending;
    size_t listed = self->parked.size;
    for (int p = 0; p < QFSM_PRIORITIES; p++)
        listed += self->lists[p].size;
    faults += listed != self->by_seq.count || bytes != self->bytes;
    faults += parked_bytes != self->parked_bytes || self->heap_size > self->heap_cap;
    for (size_t i = 0; i < self->heap_size; i++) {
        const qmsg_t *msg = self->heap[i];
        faults += msg->slot != i || (i && msg->not_before < self->heap[(i - 1) / 2]->not_before);
    }
    size_t ids = 0;
    for (const qdd_t *dd = self->dd_head; dd && ids <= self->by_id.count; dd = dd->next, ids++) {
        faults += dd->next && dd->next->at < dd->at;
        faults += dd->seq >= self->next_seq || dd->hash != qfsm_id_hash (dd->id, dd->len);
    }
    faults += ids != self->by_id.count || ids > self->config.dedup_max;
    return faults ? WEFT_EINTERNAL : 0;
}
