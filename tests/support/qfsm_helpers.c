/*  tests/support/qfsm_helpers.c - see qfsm_helpers.h. */
#include "qfsm_helpers.h"

#include <criterion/criterion.h>
#include <string.h>

qfsm_cmd_t qfh_enq (const char *id, uint8_t priority, const char *body, int64_t not_before)
{
    qfsm_cmd_t cmd = {.op = QFSM_ENQUEUE, .priority = priority, .not_before_ms = not_before};
    cmd.id = id;
    cmd.id_len = id ? (uint8_t)strlen (id) : 0;
    cmd.body = body;
    cmd.body_len = body ? (uint32_t)strlen (body) : 0;
    cmd.headers = "h";
    cmd.headers_len = 1;
    cmd.token = 1000 + priority;
    return cmd;
}

qfsm_cmd_t qfh_on (qfsm_op_t op, uint64_t seq, int64_t arg)
{
    qfsm_cmd_t cmd = {.op = op, .seq = seq};
    if (op == QFSM_DELIVERED)
        cmd.count = (uint32_t)arg;
    if (op == QFSM_NACK)
        cmd.delay_ms = arg;
    if (op == QFSM_DEAD) {
        cmd.reason = "rejected";
        cmd.reason_len = 8;
    }
    return cmd;
}

qfsm_batch_t *qfh_encode (int64_t now, const qfsm_cmd_t *cmds, size_t n)
{
    qfsm_batch_t *batch = qfsm_batch_new (now);
    cr_assert_not_null (batch);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq (qfsm_batch_add (batch, &cmds[i]), 0, "command %zu", i);
    return batch;
}

void qfh_apply_n (qfsm_t *fsm, int64_t now, const qfsm_cmd_t *cmds, size_t n, qfsm_out_t *out)
{
    qfsm_batch_t *batch = qfh_encode (now, cmds, n);
    size_t size;
    const void *data = qfsm_batch_data (batch, &size);
    qfsm_out_reset (out);
    cr_assert_eq (qfsm_apply (fsm, data, size, out), 0);
    cr_assert_eq (qfsm_out_results (out), n);
    qfsm_batch_destroy (&batch);
    cr_assert_eq (qfsm_check (fsm), 0);
}

int qfh_apply1 (qfsm_t *fsm, int64_t now, qfsm_cmd_t cmd, qfsm_out_t *out, uint64_t *seq)
{
    qfh_apply_n (fsm, now, &cmd, 1, out);
    const qfsm_result_t *res = qfsm_out_result (out, 0);
    cr_assert_eq (res->op, cmd.op);
    if (seq)
        *seq = res->seq;
    return res->status;
}

qfsm_config_t qfh_config (void)
{
    qfsm_config_t config;
    qfsm_config_init (&config);
    return config;
}
