/*  tests/integration/test_cli_qraft.c - weft queues and weft ring on the
    Raft engine (queues.engine = raft, the default): each queue's group with
    its leader, term, commit index, voters, standbys and the lag of each
    member, in the tables and with --json (docs/CLI.md). Three weftd members
    on loopback (tests/support/qraft_procs.h), one queue founded and its
    followers caught up; weft runs to completion with its output captured.
    Waits have deadlines; nothing sleeps.
*/
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "qraft_procs.h"
#include "testutil.h"

#define WEFT  WEFT_BIN_DIR "/weft"
#define QUEUE "jobs"

static qp_fabric_t s_fab;

//  The stdout of the last run (static: a failed assertion leaks nothing).
static char s_out[256 * 1024];

static void fabric_init (void)
{
    qp_init (&s_fab, "cli-qraft");
}

static void fabric_fini (void)
{
    qp_fini (&s_fab);
}

//  Runs weft on the fabric (raft engine) with the NULL-terminated arguments
//  to completion; fails the test unless it exits 0. Its stdout is in s_out.
static void run_weft (const char *first, ...)
{
    dm_args_t args = {.argc = 0};
    dm_args_add (&args, "weft", "--timeout", "20", NULL);
    dm_args_fabric (&args, s_fab.port, s_fab.cluster);
    dm_args_add (&args, "--set", "queues.engine=raft", first, NULL);
    va_list list;
    va_start (list, first);
    dm_args_addv (&args, list);
    va_end (list);
    dm_run_t run = {.out = s_out, .out_cap = sizeof s_out};
    dm_run_tool (&run, WEFT, args.argv, NULL, 30000);
    cr_assert_eq (run.code, 0, "weft %s: exit %d: %s", first, run.code, run.err);
}

//  The index of the member named NAME, or -1.
static int member_named (const char *name)
{
    for (size_t i = 0; name && i < s_fab.count; i++)
        if (strcmp (s_fab.members[i].name, name) == 0)
            return (int)i;
    return -1;
}

//  Checks the group columns of OBJECT (a row of queues --json, an item of
//  a ring member's groups) for a 3-member fabric whose leader is OWNER.
static void expect_group (const json_t *object, const char *owner)
{
    json_t *term = json_object_get (object, "term"), *commit = json_object_get (object, "commit");
    cr_assert (json_is_integer (term) && json_integer_value (term) >= 1, "term");
    cr_assert (json_is_integer (commit) && json_integer_value (commit) >= 1, "commit");
    json_t *voters = json_object_get (object, "voters");
    cr_assert_eq (json_array_size (voters), 3, "voters");
    bool seen[QP_MAX] = {false}, owner_votes = false;
    size_t i;
    json_t *v;
    json_array_foreach (voters, i, v)
    {
        int m = member_named (json_string_value (v));
        cr_assert_geq (m, 0, "voter %s is not a member", json_string_value (v));
        cr_assert_not (seen[m], "voter %s twice", s_fab.members[m].name);
        seen[m] = true;
        owner_votes |= strcmp (s_fab.members[m].name, owner) == 0;
    }
    cr_assert (owner_votes, "the leader %s is not a voter", owner);
    cr_assert (json_is_array (json_object_get (object, "standbys")));
    cr_assert_eq (json_array_size (json_object_get (object, "standbys")), 0, "standbys");
    json_t *lag = json_object_get (object, "lag");
    cr_assert_eq (json_object_size (lag), 2, "lag: one entry per follower");
    const char *name;
    json_object_foreach (lag, name, v)
    {
        cr_assert_geq (member_named (name), 0, "lag of %s, not a member", name);
        cr_assert_str_neq (name, owner, "the leader has no lag");
        cr_assert (json_is_integer (v) && json_integer_value (v) >= 0, "lag of %s", name);
    }
}

//  The one row of QUEUE in queues --json output OUT (a new reference).
static json_t *queue_row (const char *out)
{
    json_error_t error;
    json_t *all = json_loads (out, 0, &error);
    cr_assert (json_is_array (all), "%s: %s", error.text, out);
    json_t *found = NULL, *row;
    size_t i;
    json_array_foreach (all, i, row)
    {
        if (strcmp (json_string_value (json_object_get (row, "queue")), QUEUE) == 0) {
            cr_assert_null (found, "two owners of %s: %s", QUEUE, out);
            found = json_incref (row);
        }
    }
    json_decref (all);
    cr_assert_not_null (found, "no row of %s: %s", QUEUE, out);
    return found;
}

//  Copies into LINE (CAP bytes) the line of TEXT that NEEDLE (starting with
//  "\n") starts; fails the test when there is none.
static void line_of (const char *text, const char *needle, char *line, size_t cap)
{
    const char *at = strstr (text, needle);
    cr_assert_not_null (at, "no '%s' in %s", needle + 1, text);
    at++;
    snprintf (line, cap, "%.*s", (int)strcspn (at, "\n"), at);
}

TestSuite (cli_qraft, .init = fabric_init, .fini = fabric_fini);

Test (cli_qraft, queues_and_ring_show_each_group, .timeout = 120)
{
    int leader = qp_ready (&s_fab, 3, QUEUE);
    qp_group_t g;
    cr_assert (qp_wait_caught_up (&s_fab, leader, QUEUE, &g, 10000), "followers never caught up");

    run_weft ("queues", "--json", NULL);
    json_t *row = queue_row (s_out);
    const char *owner = json_string_value (json_object_get (row, "owner"));
    int m = member_named (owner);
    cr_assert_geq (m, 0, "owner %s is not a member: %s", owner, s_out);
    cr_assert_str_eq (json_string_value (json_object_get (row, "owner_uuid")),
                      s_fab.members[m].uuid);
    cr_assert_eq (json_integer_value (json_object_get (row, "replicas")), 3);
    expect_group (row, owner);
    char owner_name[64];
    snprintf (owner_name, sizeof owner_name, "%s", owner);
    json_decref (row);

    run_weft ("queues", NULL);
    const char *header = strstr (s_out, "queue ");
    cr_assert (header && strstr (header, "term") && strstr (header, "commit") &&
                   strstr (header, "voters") && strstr (header, "standbys") &&
                   strstr (header, "lag"),
               "%s", s_out);
    char row_text[1024];
    line_of (s_out, "\n" QUEUE " ", row_text, sizeof row_text);
    for (size_t i = 0; i < s_fab.count; i++) {
        char lag[64];
        snprintf (lag, sizeof lag, "%s:", s_fab.members[i].name);
        const char *at = strstr (row_text, lag);
        bool follower = strcmp (s_fab.members[i].name, owner_name) != 0;
        cr_assert (follower ? at != NULL : at == NULL, "lag of %s in %s", lag, s_out);
    }

    run_weft ("ring", "--json", NULL);
    json_error_t error;
    json_t *ring = json_loads (s_out, 0, &error);
    cr_assert_eq (json_array_size (ring), 3, "%s", s_out);
    size_t i, leading = 0;
    json_t *member;
    json_array_foreach (ring, i, member)
    {
        json_t *groups = json_object_get (member, "groups"), *group = NULL;
        cr_assert (json_is_array (groups), "%s", s_out);
        for (size_t k = 0; k < json_array_size (groups); k++)
            if (strcmp (json_string_value (json_object_get (json_array_get (groups, k), "queue")),
                        QUEUE) == 0)
                group = json_array_get (groups, k);
        const char *name = json_string_value (json_object_get (member, "name"));
        if (strcmp (name, owner_name) != 0) {
            cr_assert_null (group, "%s does not lead %s: %s", name, QUEUE, s_out);
            continue;
        }
        cr_assert_not_null (group, "%s leads %s: %s", name, QUEUE, s_out);
        leading++;
        expect_group (group, owner_name);
    }
    cr_assert_eq (leading, 1, "%s", s_out);
    json_decref (ring);

    run_weft ("ring", NULL);
    header = strstr (s_out, "\nqueue ");
    cr_assert (header && strstr (header, "leader") && strstr (header, "voters"), "%s", s_out);
    line_of (header, "\n" QUEUE " ", row_text, sizeof row_text);
    cr_assert (strstr (row_text, owner_name), "%s", s_out);
}
