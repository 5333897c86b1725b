/*  cli/weft_queue.c - the queue commands of weft that move messages: send,
    recv, redrive (see weft_cli.h and docs/CLI.md; ring and queues are in
    weft_ring.c).

    Each first waits until this client's ring has a member (a member with a
    journal joined): before that no node could own the queue.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "loop.h"
#include "weft_cli.h"

#define RETRY_MS   10   //  a full send window is tried again at least this often
#define READ_CHUNK 4096 //  bytes read from stdin at a time
#define OWNERS_MAX 8    //  owners whose acknowledgements recv makes sure of
#define FLUSH_MS   2000 //  longest wait for an owner to answer that check

//  Waits until a member is on the ring of our node, for command NAME;
//  returns 0 or the exit code (reported).
static int ring_wait (weft_cli_t *self, const char *name)
{
    int rc = weft_wait (self, WAIT_RING);
    if (rc == 0)
        return 0;
    return weft_wait_failure (self, name, rc,
                              self->node_endpoint ? "the node is not a member with a journal"
                                                  : "no member with a journal (--data) joined");
}

/*  weft send: every message goes out with weft_send_async (); the loop
    waits on the node's events (confirms), stdin and the signals at once, so
    confirms are counted as they come and a full window (WEFT_EAGAIN) just
    pauses reading. */

//  One run of send.
typedef struct {
    const char *queue;   //  the queue
    const char *message; //  MESSAGE, until it is sent (NULL: none, or sent)
    char options[192];   //  weft_send_async () options: id, priority
    size_t max_line;     //  limits.max_message: a longer line is refused
    char *buf;           //  stdin bytes not sent yet
    size_t len;          //  used bytes of buf
    size_t cap;          //  allocated bytes of buf
    bool eof;            //  stdin ended (or MESSAGE was given)
    bool window_full;    //  the last send found the window full
    unsigned long long sent, confirmed, duplicates, failed;
    int first_error;       //  the first failed confirm's status, or 0
    int64_t waiting_since; //  when we began waiting for a confirm (-1: not waiting)
} send_run_t;

//  Builds the options of every send of RUN from the flags.
static void send_options (const weft_cli_t *self, send_run_t *run)
{
    size_t n = 0;
    if (self->msg_id)
        n += (size_t)snprintf (run->options, sizeof run->options, "id=%s", self->msg_id);
    if (self->priority >= 0)
        snprintf (run->options + n, sizeof run->options - n, "%spriority=%d", n ? "," : "",
                  self->priority);
}

//  Counts confirm event MSG of RUN (status 0: confirmed, maybe a duplicate).
static void send_confirmed (send_run_t *run, const weft_msg_t *msg)
{
    const char *status = weft_msg_header (msg, "status");
    const char *duplicate = weft_msg_header (msg, "duplicate");
    int rc = status ? atoi (status) : WEFT_EPROTO;
    if (rc == 0) {
        run->confirmed++;
        run->duplicates += duplicate && strcmp (duplicate, "yes") == 0;
    } else if (run->failed++ == 0)
        run->first_error = rc;
    run->waiting_since = cli_now_ms (); //  progress: the stall clock starts again
}

//  Sends LEN bytes of BODY. Returns 0 (sent, or the window is full: then
//  RUN->window_full is set and nothing was sent) or the exit code.
static int send_body (weft_cli_t *self, send_run_t *run, const char *body, size_t len)
{
    int rc = weft_send_async (self->node, run->queue, body, len, run->options, NULL);
    run->window_full = rc == WEFT_EAGAIN;
    if (rc == 0)
        run->sent++;
    if (rc == 0 || rc == WEFT_EAGAIN)
        return 0;
    return weft_fail (CLI_EXIT_FAILURE, "send: message %llu: %s", run->sent + 1,
                      weft_strerror (rc));
}

//  Sends MESSAGE, or the complete lines of stdin buffered in RUN (all of it
//  once stdin ended), newlines removed, until the window is full. Returns 0
//  or the exit code.
static int send_buffered (weft_cli_t *self, send_run_t *run)
{
    size_t done = 0;
    int code = 0;
    if (run->message) {
        code = send_body (self, run, run->message, strlen (run->message));
        if (!code && !run->window_full)
            run->message = NULL;
        return code;
    }
    while (!code && !run->window_full && done < run->len) {
        char *start = run->buf + done, *newline = memchr (start, '\n', run->len - done);
        if (!newline && !run->eof)
            break; //  the rest of this line has not come yet
        size_t line = newline ? (size_t)(newline - start) : run->len - done;
        code = send_body (self, run, start, line);
        if (!code && !run->window_full)
            done += line + (newline != NULL);
    }
    if (done) {
        memmove (run->buf, run->buf + done, run->len - done);
        run->len -= done;
    }
    if (!code && run->len > run->max_line && !memchr (run->buf, '\n', run->len))
        code = weft_fail (CLI_EXIT_FAILURE, "send: message %llu: %s", run->sent + 1,
                          weft_strerror (WEFT_EMSGSIZE));
    return code;
}

//  Reads what stdin has into RUN's buffer (sets eof at its end). Returns 0
//  or the exit code.
static int send_read (send_run_t *run)
{
    if (run->cap - run->len < READ_CHUNK) {
        size_t cap = run->cap ? run->cap * 2 : 4 * READ_CHUNK;
        char *buf = realloc (run->buf, cap);
        if (!buf)
            return weft_fail (CLI_EXIT_FAILURE, "send: out of memory");
        run->buf = buf;
        run->cap = cap;
    }
    ssize_t n = read (STDIN_FILENO, run->buf + run->len, run->cap - run->len);
    if (n < 0 && errno == EINTR)
        return 0;
    if (n < 0)
        return weft_fail (CLI_EXIT_FAILURE, "send: stdin: %s", strerror (errno));
    run->len += (size_t)n;
    run->eof = n == 0;
    return 0;
}

//  True when RUN waits for confirms only: nothing can be sent or read now.
static bool send_stalled (const send_run_t *run)
{
    return run->window_full || (run->eof && run->len == 0 && !run->message);
}

//  The deadline of the next wait of RUN: --timeout after the last progress
//  while it waits for confirms, RETRY_MS while the window is full (its room
//  may come back just after the confirm that made it), none while it only
//  waits for stdin.
static int64_t send_deadline (const weft_cli_t *self, send_run_t *run)
{
    if (!send_stalled (run)) {
        run->waiting_since = -1;
        return -1;
    }
    int64_t now = cli_now_ms ();
    if (run->waiting_since < 0)
        run->waiting_since = now;
    int64_t deadline = self->timeout_ms > 0 ? run->waiting_since + self->timeout_ms : -1;
    if (run->window_full && (deadline < 0 || deadline > now + RETRY_MS))
        deadline = now + RETRY_MS;
    return deadline;
}

//  Waits for the next thing RUN needs (a confirm, stdin, room in the window)
//  and handles it. Returns 0, WEFT_ETIMEDOUT when no confirm came for
//  --timeout, CLI_SIGNALED, or an exit code (reported).
static int send_step (weft_cli_t *self, send_run_t *run)
{
    bool stalled = send_stalled (run);
    int64_t deadline = send_deadline (self, run);
    weft_msg_t *msg = NULL;
    int rc = cli_wait (self->node, self->sigfd, run->eof || stalled ? -1 : STDIN_FILENO, deadline,
                       &msg, NULL);
    if (rc == 0 && weft_msg_kind (msg) == WEFT_MSG_CONFIRM)
        send_confirmed (run, msg);
    weft_msg_destroy (&msg);
    if (rc == CLI_INPUT)
        return send_read (run);
    if (rc == WEFT_ETIMEDOUT && run->window_full &&
        (self->timeout_ms <= 0 || cli_now_ms () < run->waiting_since + self->timeout_ms))
        return 0; //  a retry tick, not the end of --timeout
    if (rc == 0 || rc == WEFT_ETIMEDOUT || rc == CLI_SIGNALED)
        return rc;
    return weft_fail (CLI_EXIT_FAILURE, "send: %s", weft_strerror (rc));
}

//  Runs RUN until every message sent was settled (or a failure); returns
//  0, WEFT_ETIMEDOUT, CLI_SIGNALED or an exit code (reported).
static int send_loop (weft_cli_t *self, send_run_t *run)
{
    for (;;) {
        int rc = 0;
        run->window_full = false; //  a confirm came, or the retry tick: try again
        if ((rc = send_buffered (self, run)))
            return rc;
        if (run->eof && run->len == 0 && !run->message && run->confirmed + run->failed >= run->sent)
            return 0;
        if ((rc = send_step (self, run)))
            return rc;
    }
}

//  The reason a confirm with status RC gives: WEFT_ESTATE means the write
//  policy cannot be met, which weft_strerror () does not say.
static const char *send_error_text (int rc)
{
    return rc == WEFT_ESTATE ? "fewer live members than the replication (acks=all)"
                             : weft_strerror (rc);
}

//  Prints what send did (with --json) and reports how it ended (RC from
//  send_loop ()); returns the exit code.
static int send_report (const weft_cli_t *self, const send_run_t *run, int rc)
{
    if (self->json) {
        json_t *out =
            json_pack ("{s:I, s:I, s:I}", "sent", (json_int_t)run->sent, "confirmed",
                       (json_int_t)run->confirmed, "duplicates", (json_int_t)run->duplicates);
        int code = weft_print_json ("send", out, CLI_JSON_SPACED);
        json_decref (out);
        if (code && rc == 0)
            return code;
    }
    if (rc != 0 && rc != WEFT_ETIMEDOUT && rc != CLI_SIGNALED)
        return rc; //  reported already
    unsigned long long missing = run->sent - run->confirmed;
    if (rc == CLI_SIGNALED)
        return weft_fail (CLI_EXIT_FAILURE, "send: interrupted with %llu of %llu confirmed",
                          run->confirmed, run->sent);
    if (missing == 0)
        return CLI_EXIT_OK;
    if (rc == WEFT_ETIMEDOUT)
        return weft_fail (CLI_EXIT_FAILURE,
                          "send: %llu of %llu not confirmed: no confirm came within %s s", missing,
                          run->sent, self->timeout_text);
    return weft_fail (CLI_EXIT_FAILURE, "send: %llu of %llu not confirmed: %s", missing, run->sent,
                      send_error_text (run->first_error));
}

int weft_cmd_send (weft_cli_t *self)
{
    int code = ring_wait (self, "send");
    if (code)
        return code;
    send_run_t run = {.queue = self->args[0], .waiting_since = -1};
    send_options (self, &run);
    run.max_line = (size_t)atoll (weft_config_get (self->cfg, "limits.max_message"));
    if (self->arg_count == 2) { //  MESSAGE, as is: stdin is not read
        run.message = self->args[1];
        run.eof = true;
    }
    code = send_loop (self, &run);
    free (run.buf);
    return send_report (self, &run, code);
}

/*  weft recv: consume, print each delivery, then acknowledge it. */

//  Delivery MSG as a JSON object (queue, msg_id, deliveries, priority, for
//  dead letters reason and dead_deliveries, body); NULL when out of memory.
static json_t *delivery_json (const weft_msg_t *msg)
{
    size_t len = 0;
    const void *body = weft_msg_body (msg, &len);
    const char *id = weft_msg_header (msg, "msg_id");
    const char *deliveries = weft_msg_header (msg, "deliveries");
    const char *priority = weft_msg_header (msg, "priority");
    const char *reason = weft_msg_header (msg, "reason");
    const char *dead = weft_msg_header (msg, "dead_deliveries");
    json_t *o =
        json_pack ("{s:o, s:o, s:i, s:i}", "queue", cli_json_str (weft_msg_topic (msg)), "msg_id",
                   cli_json_str (id), "deliveries", deliveries ? atoi (deliveries) : 0, "priority",
                   priority ? atoi (priority) : 0);
    int rc = o ? 0 : -1;
    if (reason)
        rc |= json_object_set_new (o, "reason", cli_json_str (reason));
    if (dead)
        rc |= json_object_set_new (o, "dead_deliveries", json_integer (atoi (dead)));
    rc |= json_object_set_new (o, "body", cli_json_bytes (body, len));
    if (rc)
        json_decref (o);
    return rc ? NULL : o;
}

//  Prints delivery MSG: its body on a line, or a JSON object. Returns 0, or
//  -1 when it could not be written.
static int recv_print (const weft_cli_t *self, const weft_msg_t *msg)
{
    if (!self->json) {
        size_t len = 0;
        const void *body = weft_msg_body (msg, &len);
        fwrite (body, 1, len, stdout);
        printf ("\n");
        fflush (stdout);
        return 0;
    }
    json_t *out = delivery_json (msg);
    int rc = cli_json_print (stdout, out, CLI_JSON_SPACED);
    json_decref (out);
    return rc;
}

//  The owners recv acknowledged deliveries to (by UUID).
typedef struct {
    char uuid[OWNERS_MAX][33]; //  the first OWNERS_MAX of them
    size_t count;              //  used entries
} recv_owners_t;

//  Adds owner UUID to OWNERS if it is new (and there is room).
static void owners_note (recv_owners_t *owners, const char *uuid)
{
    for (size_t i = 0; i < owners->count; i++)
        if (strcmp (owners->uuid[i], uuid) == 0)
            return;
    if (owners->count < OWNERS_MAX)
        snprintf (owners->uuid[owners->count++], sizeof owners->uuid[0], "%s", uuid);
}

//  Makes sure the owners handled our last acknowledgements before the node
//  stops. A status request travels to an owner on the connection the
//  acknowledgements took, and is answered after them. Without it the
//  leaving beacon the node sends (UDP) as it stops may reach the owner
//  before the last acknowledgements (TCP); the owner then takes those
//  deliveries back and delivers them again.
static void recv_flush (weft_cli_t *self, const recv_owners_t *owners)
{
    for (size_t i = 0; i < owners->count; i++) {
        char *json = NULL;
        weft_peer_status (self->node, owners->uuid[i], FLUSH_MS, &json);
        weft_free (json);
    }
}

//  Prints delivery MSG, then (unless --no-ack) acknowledges it: only what
//  reached stdout counts as done. Returns 0 or an exit code.
static int recv_deliver (weft_cli_t *self, const weft_msg_t *msg, recv_owners_t *owners)
{
    if (recv_print (self, msg))
        return weft_fail (CLI_EXIT_FAILURE, "recv: the delivery could not be written to stdout");
    if (self->no_ack)
        return 0;
    int rc = weft_ack (self->node, msg);
    if (rc == 0)
        owners_note (owners, weft_msg_sender (msg));
    return rc ? weft_fail (CLI_EXIT_FAILURE, "recv: ack: %s", weft_strerror (rc)) : 0;
}

//  Starts consuming the queue. With --count N the prefetch is at most N, so
//  that few deliveries beyond the N are taken (each delivery counts towards
//  queues.max_deliver). Returns 0 or the exit code.
static int recv_consume (weft_cli_t *self)
{
    int prefetch = self->prefetch > 0 ? self->prefetch : 100;
    if (self->count > 0 && self->count < prefetch)
        prefetch = (int)self->count;
    int rc = weft_consume (self->node, self->args[0], prefetch);
    if (rc == 0)
        return 0;
    const char *detail = weft_node_error (self->node);
    return weft_fail (CLI_EXIT_FAILURE, "recv: '%.60s': %s", self->args[0],
                      rc == WEFT_ENOTFOUND && *detail ? detail : weft_strerror (rc));
}

//  Prints and acknowledges deliveries until --count or the deadline;
//  returns the exit code.
static int recv_loop (weft_cli_t *self, recv_owners_t *owners)
{
    long long received = 0;
    int code = 0;
    while (self->count < 0 || received < self->count) {
        weft_msg_t *msg = NULL;
        int rc = cli_next (self->node, self->sigfd, weft_deadline (self), &msg, NULL);
        if (rc)
            return weft_count_end (self, "recv", rc, received);
        if (weft_msg_kind (msg) == WEFT_MSG_DELIVERY) {
            code = recv_deliver (self, msg, owners);
            received++;
        }
        weft_msg_destroy (&msg);
        if (code)
            return code;
    }
    return CLI_EXIT_OK;
}

int weft_cmd_recv (weft_cli_t *self)
{
    int code = ring_wait (self, "recv");
    if (code || (code = recv_consume (self)))
        return code;
    recv_owners_t owners = {.count = 0};
    code = recv_loop (self, &owners);
    recv_flush (self, &owners);
    return code;
}

/*  weft redrive: the dead letters of QUEUE back into it. */

int weft_cmd_redrive (weft_cli_t *self)
{
    int code = ring_wait (self, "redrive");
    if (code)
        return code;
    int64_t deadline = weft_deadline (self), left = deadline - cli_now_ms ();
    int timeout = deadline < 0 ? 3600000 : left > 0 ? (int)left : 1;
    int rc = weft_redrive (self->node, self->args[0], timeout);
    if (rc < 0)
        return weft_fail (CLI_EXIT_FAILURE, "redrive: '%.60s': %s", self->args[0],
                          weft_strerror (rc));
    if (!self->json) {
        printf ("redriven %d\n", rc);
        return CLI_EXIT_OK;
    }
    json_t *out = json_pack ("{s:i}", "redriven", rc);
    code = weft_print_json ("redrive", out, CLI_JSON_SPACED);
    json_decref (out);
    return code;
}
