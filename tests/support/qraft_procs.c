/*  tests/support/qraft_procs.c - Raft queue engine fault tests with real
    processes (see qraft_procs.h). Waits poll with deadlines; nothing sleeps.
*/
#include "qraft_procs.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

#define WEFTD    WEFT_BIN_DIR "/weftd"
#define WEFT     WEFT_BIN_DIR "/weft"
#define RECV_CAP (8u << 20) //  what one `weft recv` may print

//  Adds the fabric's discovery flags and the engine to ARGS.
static void fabric_args (const qp_fabric_t *f, dm_args_t *args)
{
    dm_args_fabric (args, f->port, f->cluster);
    dm_args_add (args, "--set", "queues.engine=raft", NULL);
}

void qp_init (qp_fabric_t *f, const char *prefix)
{
    memset (f, 0, sizeof *f);
    f->port = tu_beacon_port ();
    dm_cluster_name (f->cluster, sizeof f->cluster, prefix, f->port);
    snprintf (f->dir, sizeof f->dir, "/tmp/weft-%s-XXXXXX", prefix);
    cr_assert_not_null (mkdtemp (f->dir));
}

void qp_fini (qp_fabric_t *f)
{
    weft_node_destroy (&f->client);
    dm_daemons_stop (f->members, f->count, 5000);
    f->count = 0;
    if (getenv ("QP_KEEP"))
        fprintf (stderr, "qraft: kept %s\n", f->dir);
    else
        dm_remove_tree (f->dir);
}

int qp_member_start (qp_fabric_t *f, const char *name)
{
    cr_assert_lt (f->count, QP_MAX);
    int i = (int)f->count++;
    char log[128];
    snprintf (f->data[i], sizeof f->data[i], "%s/%s", f->dir, name);
    snprintf (log, sizeof log, "%s/%s.log", f->dir, name);
    dm_args_t args = {.argc = 0};
    dm_args_add (&args, "weftd", "--name", name, "--events", "--data", f->data[i], "--log-level",
                 "info", "--set", "journal.sync=async", NULL);
    fabric_args (f, &args);
    dm_daemon_start_log (&f->members[i], WEFTD, name, args.argv, 10000, log);
    return i;
}

//  Creates the client node of F: same discovery intervals as the members.
static void client_start (qp_fabric_t *f)
{
    weft_config_t *cfg = tu_config ("qp-client", f->port);
    cr_assert_eq (weft_config_set (cfg, "cluster.name", f->cluster), 0);
    cr_assert_eq (weft_config_set (cfg, "node.role", "client"), 0);
    cr_assert_eq (weft_config_set (cfg, "queues.engine", "raft"), 0);
    cr_assert_eq (weft_config_set (cfg, "queues.window", "2000"), 0);
    cr_assert_eq (weft_config_set (cfg, "queues.send_timeout_ms", "60000"), 0);
    cr_assert_eq (weft_config_set (cfg, "discovery.interval_ms", "200"), 0);
    cr_assert_eq (weft_config_set (cfg, "discovery.evasive_ms", "600"), 0);
    cr_assert_eq (weft_config_set (cfg, "discovery.expired_ms", "1200"), 0);
    f->client = tu_node (cfg);
}

void qp_start (qp_fabric_t *f, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        char name[24];
        snprintf (name, sizeof name, "m%zu", i);
        qp_member_start (f, name);
    }
    for (size_t i = 0; i < count; i++)
        cr_assert_eq (dm_wait_joins (f->members, count, &f->members[i], 10000), 0,
                      "%s did not see every member join", f->members[i].name);
    client_start (f);
    tu_wait_peers (f->client, count, 10000);
}

void qp_kill (qp_fabric_t *f, int i)
{
    dm_daemon_t *m = &f->members[i];
    cr_assert_gt (m->pid, 0);
    kill (m->pid, SIGKILL);
    tu_stop_child (m->pid, 0, 5000); //  reap it
    close (m->out);
    m->pid = 0;
}

size_t qp_live (const qp_fabric_t *f)
{
    size_t live = 0;
    for (size_t i = 0; i < f->count; i++)
        live += f->members[i].pid > 0;
    return live;
}

void qp_pace (void)
{
    poll (NULL, 0, 50);
}

//  Copies the string field KEY of OBJ into OUT (CAP bytes; "" if absent).
static void copy_string (json_t *obj, const char *key, char *out, size_t cap)
{
    const char *text = json_string_value (json_object_get (obj, key));
    snprintf (out, cap, "%s", text ? text : "");
}

//  Fills G from group object GROUP of a status.
static void group_read (json_t *group, qp_group_t *g)
{
    copy_string (group, "role", g->role, sizeof g->role);
    copy_string (group, "leader", g->leader, sizeof g->leader);
    g->serving = json_is_true (json_object_get (group, "serving"));
    g->term = (long long)json_integer_value (json_object_get (group, "term"));
    g->commit = (long long)json_integer_value (json_object_get (group, "commit"));
    const char *key;
    json_t *value;
    json_object_foreach (json_object_get (group, "lag"), key, value)
    {
        long long lag = (long long)json_integer_value (value);
        g->lagging += lag > 0;
        g->lag_max = lag > g->lag_max ? lag : g->lag_max;
    }
    json_t *voters = json_object_get (group, "voters");
    g->voters = json_array_size (voters);
    for (size_t v = 0; v < g->voters && v < QP_VOTERS; v++) {
        const char *uuid = json_string_value (json_array_get (voters, v));
        snprintf (g->voter[v], sizeof g->voter[v], "%s", uuid ? uuid : "");
    }
}

bool qp_group (qp_fabric_t *f, int i, const char *queue, qp_group_t *g, int timeout_ms)
{
    memset (g, 0, sizeof *g);
    char *text = NULL;
    if (f->members[i].pid <= 0 ||
        weft_peer_status (f->client, f->members[i].uuid, timeout_ms, &text) != 0)
        return false;
    json_t *status = json_loads (text, 0, NULL);
    weft_free (text);
    bool found = false;
    json_t *groups = json_object_get (status, "queue_groups");
    for (size_t k = 0; k < json_array_size (groups) && !found; k++) {
        json_t *group = json_array_get (groups, k);
        const char *name = json_string_value (json_object_get (group, "name"));
        if (name && strcmp (name, queue) == 0) {
            group_read (group, g);
            found = true;
        }
    }
    json_decref (status);
    return found;
}

int qp_wait_leader (qp_fabric_t *f, const char *queue, int timeout_ms)
{
    int64_t deadline = tu_now_ms () + timeout_ms;
    for (int round = 0; round < 1000 && tu_now_ms () < deadline; round++, qp_pace ())
        for (size_t i = 0; i < f->count; i++) {
            qp_group_t g;
            if (qp_group (f, (int)i, queue, &g, 1000) && strcmp (g.role, "leader") == 0 &&
                g.serving)
                return (int)i;
        }
    return -1;
}

bool qp_agree (qp_fabric_t *f, const char *queue, qp_group_t *agreed)
{
    int leaders = 0, views = 0;
    qp_group_t first = {.term = -1};
    for (size_t i = 0; i < f->count; i++) {
        if (f->members[i].pid <= 0)
            continue;
        qp_group_t g;
        if (!qp_group (f, (int)i, queue, &g, 1000))
            return false;
        if (strcmp (g.role, "leader") == 0) {
            leaders++;
            if (strcmp (g.leader, f->members[i].uuid) != 0)
                return false;
        }
        if (views++ == 0)
            first = g;
        else if (strcmp (g.leader, first.leader) != 0 || g.term != first.term)
            return false;
    }
    if (agreed)
        *agreed = first;
    return leaders == 1 && *first.leader;
}

bool qp_wait_caught_up (qp_fabric_t *f, int leader, const char *queue, qp_group_t *g,
                        int timeout_ms)
{
    int64_t deadline = tu_now_ms () + timeout_ms;
    for (int round = 0; round < 1000 && tu_now_ms () < deadline; round++, qp_pace ())
        if (qp_group (f, leader, queue, g, 1000) && g->serving && g->lagging == 0)
            return true;
    return false;
}

bool qp_voters_live (const qp_fabric_t *f, const qp_group_t *g, size_t count)
{
    if (g->voters != count)
        return false;
    for (size_t v = 0; v < g->voters && v < QP_VOTERS; v++) {
        bool live = false;
        for (size_t i = 0; i < f->count; i++)
            live |= f->members[i].pid > 0 && strcmp (f->members[i].uuid, g->voter[v]) == 0;
        if (!live)
            return false;
    }
    return true;
}

void qp_warmup (qp_fabric_t *f, const char *queue)
{
    int rc = weft_send (f->client, queue, "warmup", 6, NULL, 20000);
    cr_assert_eq (rc, 0, "warm-up send to %s: %s", queue, weft_strerror (rc));
}

void qp_sends_init (qp_sends_t *s, int total)
{
    memset (s, 0, sizeof *s);
    s->total = total;
    s->state = calloc ((size_t)total, 1);
    cr_assert_not_null (s->state);
}

void qp_sends_fini (qp_sends_t *s)
{
    free (s->state);
    s->state = NULL;
}

//  Notes confirm MSG in S.
static void note_confirm (qp_sends_t *s, const weft_msg_t *msg)
{
    uint64_t token = weft_msg_seq (msg);
    if (token < s->base || token >= s->base + (uint64_t)s->sent)
        return; //  the warm-up's, or not ours
    char *state = &s->state[token - s->base];
    if (*state)
        return;
    const char *status = weft_msg_header (msg, "status");
    *state = status && strcmp (status, "0") == 0 ? 1 : 2;
    *state == 1 ? s->confirmed++ : s->failed++;
}

void qp_collect (qp_fabric_t *f, qp_sends_t *s, int timeout_ms)
{
    weft_msg_t *msg = NULL;
    for (int n = 0; n < 100000 && weft_recv (f->client, &msg, timeout_ms) == 0; n++) {
        if (weft_msg_kind (msg) == WEFT_MSG_CONFIRM)
            note_confirm (s, msg);
        weft_msg_destroy (&msg);
        timeout_ms = 0;
    }
}

void qp_send_next (qp_fabric_t *f, qp_sends_t *s, const char *queue, void (*wait) (void *),
                   void *ctx)
{
    cr_assert_lt (s->sent, s->total);
    char body[16];
    int n = snprintf (body, sizeof body, "%d", s->sent);
    uint64_t token = 0;
    int rc;
    int64_t deadline = tu_now_ms () + 60000;
    while ((rc = weft_send_async (f->client, queue, body, (size_t)n, NULL, &token)) ==
               WEFT_EAGAIN &&
           tu_now_ms () < deadline) {
        qp_collect (f, s, 10);
        if (wait)
            wait (ctx);
    }
    cr_assert_eq (rc, 0, "send %d: %s", s->sent, weft_strerror (rc));
    if (s->sent == 0)
        s->base = token;
    cr_assert_eq (token, s->base + (uint64_t)s->sent, "tokens are not consecutive");
    s->sent++;
}

void qp_settle (qp_fabric_t *f, qp_sends_t *s, int timeout_ms)
{
    int64_t deadline = tu_now_ms () + timeout_ms;
    while (s->confirmed + s->failed < s->sent && tu_now_ms () < deadline)
        qp_collect (f, s, 200);
}

//  Runs `weft recv QUEUE --count COUNT --json` once; counts each numeric
//  body of what it printed in SEEN (S->total entries). Returns how many
//  deliveries it printed.
static int recv_once (qp_fabric_t *f, const qp_sends_t *s, const char *queue, int count, int *seen)
{
    static char out[RECV_CAP];
    char text[16];
    snprintf (text, sizeof text, "%d", count);
    dm_args_t args = {.argc = 0};
    dm_args_add (&args, "weft", "--json", "--timeout", "10", "recv", queue, "--count", text, NULL);
    fabric_args (f, &args);
    dm_run_t run = {.out = out, .out_cap = sizeof out};
    dm_run_tool (&run, WEFT, args.argv, NULL, 30000);
    if (run.code != 0)
        fprintf (stderr, "qraft: weft recv exited %d: %.300s\n", run.code, run.err);
    int lines = 0;
    char *save = NULL;
    for (char *line = strtok_r (out, "\n", &save); line; line = strtok_r (NULL, "\n", &save)) {
        json_t *obj = json_loads (line, 0, NULL);
        const char *body = json_string_value (json_object_get (obj, "body"));
        char *end = NULL;
        long value = body ? strtol (body, &end, 10) : -1;
        if (body && *body && !*end && value >= 0 && value < s->total)
            seen[value]++;
        lines += obj != NULL;
        json_decref (obj);
    }
    return lines;
}

//  Confirmed messages of S that SEEN lacks.
static int missing (const qp_sends_t *s, const int *seen)
{
    int n = 0;
    for (int i = 0; i < s->sent; i++)
        n += s->state[i] == 1 && !seen[i];
    return n;
}

qp_counts_t qp_drain (qp_fabric_t *f, const qp_sends_t *s, const char *queue, const char *label)
{
    int *seen = calloc ((size_t)s->total, sizeof *seen);
    cr_assert_not_null (seen);
    //  duplicates and unconfirmed messages take places of --count: ask again
    //  for what is still missing, while runs bring something
    for (int run = 0; run < 8 && missing (s, seen) > 0; run++)
        if (recv_once (f, s, queue, missing (s, seen), seen) == 0)
            break;
    qp_counts_t c = {.confirmed = s->confirmed, .lost = missing (s, seen)};
    for (int i = 0; i < s->total; i++) {
        c.delivered += seen[i] > 0;
        c.duplicates += seen[i] > 1 ? seen[i] - 1 : 0;
    }
    free (seen);
    fprintf (stderr,
             "qraft %s: sent %d, confirmed %d, failed %d, delivered %d, lost %d, duplicates %d\n",
             label, s->sent, c.confirmed, s->failed, c.delivered, c.lost, c.duplicates);
    return c;
}

//  Prints the last LINES lines of file PATH on stderr, each after PREFIX.
static void tail_file (const char *path, const char *prefix, int lines)
{
    FILE *file = fopen (path, "r");
    if (!file)
        return;
    static char ring[200][512];
    int n = 0;
    while (fgets (ring[n % 200], sizeof ring[0], file))
        n++;
    fclose (file);
    int keep = lines < 200 ? lines : 200;
    for (int k = n > keep ? n - keep : 0; k < n; k++)
        fprintf (stderr, "%s%s", prefix, ring[k % 200]);
}

void qp_dump (qp_fabric_t *f, const char *queue, int lines)
{
    for (size_t i = 0; i < f->count; i++) {
        qp_group_t g;
        bool known = qp_group (f, (int)i, queue, &g, 1000);
        fprintf (stderr,
                 "qraft: %s %s pid %d: %s role=%s serving=%d leader=%.8s term=%lld "
                 "voters=%zu\n",
                 f->members[i].name, f->members[i].uuid, (int)f->members[i].pid,
                 known ? "group" : "no answer/group", g.role, g.serving, g.leader, g.term,
                 g.voters);
    }
    for (size_t i = 0; i < f->count; i++) {
        char path[128], prefix[48];
        snprintf (path, sizeof path, "%s/%s.log", f->dir, f->members[i].name);
        snprintf (prefix, sizeof prefix, "qraft: log %s: ", f->members[i].name);
        tail_file (path, prefix, lines);
    }
}

int qp_ready (qp_fabric_t *f, int n, const char *queue)
{
    qp_start (f, n);
    qp_warmup (f, queue);
    int leader = qp_wait_leader (f, queue, 10000);
    cr_assert_geq (leader, 0, "no leader for %s", queue);
    return leader;
}
