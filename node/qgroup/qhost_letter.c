/*  node/qgroup/qhost_letter.c - dead letters (qhost.h): the leader sends a
    letter first and keeps its message (leased, not dispatched); only once the
    host says the letter is stored in `<queue>.dlq` (qhost_lettered) does it
    log the DEAD that removes it. A leader that fails meanwhile leaves the
    message in the queue, ready, and the next one sends its letter again. */
#include "node/qgroup/qhost_int.h"

#include <stdio.h>
#include <string.h>

#include "weft.h"

//  Lease L (QL_LETTERING, reason set): the letter of INFO goes out. Nothing
//  touches L after the call: the host may store it at once.
static void s_letter_out (qhost_t *self, qh_lease_t *l, const qfsm_info_t *info)
{
    qfsm_info_t letter = *info;
    letter.reason = l->reason;
    self->lettering++;
    self->stats.letters_sent++;
    self->conf.letter (self->conf.arg, &letter);
}

bool qh_letters_first (qhost_t *self, uint64_t seq, qfsm_info_t *info)
{
    qfsm_config_t config;
    qfsm_config (self->fsm, &config);
    return self->conf.letter && !config.dlq && qfsm_find (self->fsm, seq, info) == 0 &&
           !info->parked;
}

int qh_letter_send (qhost_t *self, qh_lease_t *l, const qfsm_info_t *info, const char *reason,
                    qhost_done_fn *cb, void *arg)
{
    if (!l) {
        l = qh_lease_new (self, info->seq, NULL, QL_LETTERING);
        if (!l)
            return WEFT_ENOMEM;
    } else {
        qh_consumer_t *c = l->consumer ? qh_consumer (self, l->consumer) : NULL;
        if (c && c->inflight)
            c->inflight--; //  its credit is free again
        l->consumer = 0;
        l->state = QL_LETTERING;
        self->dirty = true;
    }
    l->cb = cb;
    l->arg = arg;
    snprintf (l->reason, sizeof l->reason, "%s", reason);
    s_letter_out (self, l, info);
    return 0;
}

int qhost_lettered (qhost_t *self, uint64_t seq)
{
    if (!self->leading || !rgroup_is_leader (self->g))
        return QHOST_ENOTLEADER;
    qh_lease_t *l = qh_lease (self, seq);
    if (!l || l->state != QL_LETTERING)
        return WEFT_ENOTFOUND;
    qfsm_cmd_t cmd = {.op = QFSM_DEAD,
                      .seq = seq,
                      .reason_len = (uint8_t)strlen (l->reason),
                      .reason = l->reason};
    int rc = qh_add (self, &cmd, QH_LETTERED, l->cb, l->arg);
    if (rc)
        return rc;
    self->lettering--;
    l->state = QL_KILLING;
    l->cb = NULL; //  the op has it now
    return 0;
}
