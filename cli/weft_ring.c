/*  cli/weft_ring.c - the commands of weft that show where queues live: ring
    (the ring's members, the queues each owns and, on the Raft engine, the
    groups each leads) and queues (every queue with its owner, counters and
    group); see weft_cli.h and docs/CLI.md. Both read every member's status
    (weft_each_status ()).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groups.h"
#include "json.h"
#include "table.h"
#include "weft_cli.h"

/*  weft ring: the ring's members, as the members see it (the union of their
    views), the queues each owns by its own status, and the Raft groups. */

//  Columns of the ring's tables.
enum { RING_NAME, RING_UUID, RING_WEIGHT, RING_OWNS, RING_COLUMNS };
enum { OWNED_UUID, OWNED_QUEUE, OWNED_COLUMNS };
#define LED_COLUMNS (2 + CLI_GROUP_COLUMNS) //  queue, leader, the group's columns

//  What ring gathers from the members' status.
typedef struct {
    cli_table_t members;  //  name, uuid, weight ("owns" filled at the end)
    cli_table_t owned;    //  owner uuid, queue: role "owner" in its status
    cli_table_t answered; //  uuid of every member whose status came
    cli_groups_t groups;  //  the Raft groups, by the member that leads each
} ring_view_t;

//  True when TABLE has a row whose cell COLUMN is VALUE.
static bool table_has (const cli_table_t *table, size_t column, const char *value)
{
    for (size_t r = 0; r < table->count; r++)
        if (strcmp (cli_table_cell (table, r, column), value) == 0)
            return true;
    return false;
}

//  weft_status_fn of ring: reads the ring, the queues and the groups of one member.
static void ring_gather (weft_cli_t *self, const weft_node_info_t *node, json_t *status, void *arg)
{
    (void)self;
    ring_view_t *view = arg;
    size_t i;
    json_t *item;
    json_array_foreach (json_object_get (json_object_get (status, "ring"), "members"), i, item)
    {
        const char *uuid = cli_json_text (item, "uuid", "");
        char weight[32];
        cli_json_cell (json_object_get (item, "weight"), "", weight, sizeof weight);
        if (*uuid && !table_has (&view->members, RING_UUID, uuid))
            cli_table_add (&view->members, (const char *[RING_COLUMNS]){
                                               cli_json_text (item, "name", ""), uuid, weight, ""});
    }
    json_array_foreach (json_object_get (status, "queues"), i, item)
    {
        const char *name = cli_json_text (item, "name", "");
        if (*name && strcmp (cli_json_text (item, "role", ""), "owner") == 0)
            cli_table_add (&view->owned, (const char *[OWNED_COLUMNS]){node->uuid, name});
    }
    cli_groups_gather (&view->groups, node->uuid, node->name, status);
    cli_table_add (&view->answered, (const char *[]){node->uuid});
}

//  The queues owned by UUID, as a comma list ("-": none; "?" when its status
//  did not come), into BUF.
static const char *owns_text (const ring_view_t *view, const char *uuid, char *buf, size_t cap)
{
    size_t used = 0;
    snprintf (buf, cap, "%s", table_has (&view->answered, 0, uuid) ? "-" : "?");
    for (size_t r = 0; r < view->owned.count && used < cap; r++)
        if (strcmp (cli_table_cell (&view->owned, r, OWNED_UUID), uuid) == 0)
            used += (size_t)snprintf (buf + used, cap - used, "%s%s", used ? "," : "",
                                      cli_table_cell (&view->owned, r, OWNED_QUEUE));
    return buf;
}

//  Member row R of VIEW as JSON: name, uuid, weight, owns (null when its
//  status did not come), and with Raft groups the groups it leads.
static json_t *member_json (const ring_view_t *view, size_t r)
{
    const char *uuid = cli_table_cell (&view->members, r, RING_UUID);
    json_t *o = json_pack ("{s:o, s:o, s:i}", "name",
                           cli_json_str (cli_table_cell (&view->members, r, RING_NAME)), "uuid",
                           cli_json_str (uuid), "weight",
                           atoi (cli_table_cell (&view->members, r, RING_WEIGHT)));
    bool answered = table_has (&view->answered, 0, uuid);
    json_t *owns = answered ? json_array () : json_null ();
    json_t *led = !cli_groups_any (&view->groups) ? NULL : answered ? json_array () : json_null ();
    int rc = json_object_set_new (o, "owns", owns); //  OWNS borrowed from here on
    for (size_t q = 0; !rc && answered && q < view->owned.count; q++) {
        if (strcmp (cli_table_cell (&view->owned, q, OWNED_UUID), uuid) != 0)
            continue;
        const char *queue = cli_table_cell (&view->owned, q, OWNED_QUEUE);
        rc = json_array_append_new (owns, cli_json_str (queue));
        const json_t *group = led ? cli_groups_led (&view->groups, uuid, queue) : NULL;
        json_t *row = group ? json_pack ("{s:o}", "queue", cli_json_str (queue)) : NULL;
        if (group &&
            (json_array_append_new (led, row) || cli_group_json (&view->groups, group, row)))
            rc = -1;
    }
    if (led && json_object_set_new (o, "groups", led))
        rc = -1;
    if (rc)
        json_decref (o);
    return rc ? NULL : o;
}

//  Prints the groups the members of VIEW lead: queue, leader and the group's
//  columns, sorted by queue (nothing without Raft groups).
static void groups_print (const ring_view_t *view)
{
    static const size_t pick[LED_COLUMNS] = {0, 1, 2, 3, 4, 5, 6};
    const char *header[LED_COLUMNS] = {"queue", "leader"};
    memcpy (header + 2, cli_group_header, sizeof cli_group_header);
    cli_table_t rows;
    cli_table_init (&rows, LED_COLUMNS);
    for (size_t q = 0; q < view->owned.count; q++) {
        const char *uuid = cli_table_cell (&view->owned, q, OWNED_UUID);
        const char *queue = cli_table_cell (&view->owned, q, OWNED_QUEUE);
        const json_t *group = cli_groups_led (&view->groups, uuid, queue);
        if (!group)
            continue;
        char cells[CLI_GROUP_COLUMNS][CLI_GROUP_CELL];
        cli_group_cells (&view->groups, group, cells);
        const char *leader = json_string_value (json_object_get (group, "leader"));
        const char *row[LED_COLUMNS] = {queue,
                                        leader ? cli_groups_name (&view->groups, leader) : "-"};
        for (size_t c = 0; c < CLI_GROUP_COLUMNS; c++)
            row[2 + c] = cells[c];
        cli_table_add (&rows, row);
    }
    cli_table_sort (&rows);
    if (rows.count) {
        printf ("\n");
        cli_table_print (&rows, stdout, header, pick, LED_COLUMNS);
    }
    cli_table_free (&rows);
}

//  Prints the ring of VIEW: tables, or a JSON array; returns the exit code.
static int ring_print (const weft_cli_t *self, ring_view_t *view)
{
    static const char *const header[] = {"name", "uuid", "weight", "owns"};
    static const size_t pick[] = {RING_NAME, RING_UUID, RING_WEIGHT, RING_OWNS};
    cli_table_sort (&view->owned);
    cli_table_sort (&view->members);
    if (self->json) {
        json_t *all = json_array ();
        int rc = all ? 0 : -1;
        for (size_t r = 0; !rc && r < view->members.count; r++)
            rc = json_array_append_new (all, member_json (view, r));
        int code = weft_print_json ("ring", rc ? NULL : all, CLI_JSON_SPACED);
        json_decref (all);
        return code;
    }
    cli_table_t rows;
    cli_table_init (&rows, RING_COLUMNS);
    for (size_t r = 0; r < view->members.count; r++) {
        char owns[1024];
        const char *uuid = cli_table_cell (&view->members, r, RING_UUID);
        cli_table_add (
            &rows, (const char *[RING_COLUMNS]){cli_table_cell (&view->members, r, RING_NAME), uuid,
                                                cli_table_cell (&view->members, r, RING_WEIGHT),
                                                owns_text (view, uuid, owns, sizeof owns)});
    }
    cli_table_print (&rows, stdout, header, pick, RING_COLUMNS);
    cli_table_free (&rows);
    groups_print (view);
    return CLI_EXIT_OK;
}

int weft_cmd_ring (weft_cli_t *self)
{
    ring_view_t view;
    cli_table_init (&view.members, RING_COLUMNS);
    cli_table_init (&view.owned, OWNED_COLUMNS);
    cli_table_init (&view.answered, 1);
    if (cli_groups_init (&view.groups))
        return weft_fail (CLI_EXIT_FAILURE, "ring: out of memory");
    int code = weft_each_status (self, "ring", ring_gather, &view, NULL);
    if (code == CLI_EXIT_OK || view.answered.count) {
        int printed = ring_print (self, &view);
        code = code ? code : printed;
    }
    cli_table_free (&view.members);
    cli_table_free (&view.owned);
    cli_table_free (&view.answered);
    cli_groups_free (&view.groups);
    return code;
}

/*  weft queues: one row per queue a member owns, with its counters, and on
    the Raft engine its group (the owner is the group's serving leader). */

//  Members of a queue object of the status, after the queue and its owner.
static const char *const s_queue_fields[] = {
    "depth",  "delayed", "in_flight", "consumers",   "delivered", "acked", "dead",
    "active", "stored",  "enqueued",  "redelivered", "replicas",  NULL};

//  The columns of the table: queue, owner, then s_queue_fields up to "dead".
#define QUEUE_TABLE 9

//  One queue as its owner reports it.
typedef struct {
    json_t *row;         //  queue, owner, owner_uuid, then s_queue_fields (the --json object)
    const json_t *group; //  its Raft group (in the view's groups), or NULL
} queue_row_t;

//  What queues gathers from the members' status.
typedef struct {
    queue_row_t *rows;   //  the queues, by the member that owns each
    size_t count;        //  used rows
    size_t cap;          //  allocated rows
    cli_groups_t groups; //  the Raft groups
    size_t answered;     //  members whose status came
} queue_view_t;

//  The --json object of queue ITEM (of the status of NODE): queue, owner,
//  owner_uuid, then every member of s_queue_fields (null when missing).
static json_t *queue_row (const weft_node_info_t *node, const json_t *item)
{
    json_t *row =
        json_pack ("{s:o, s:o, s:o}", "queue", cli_json_str (cli_json_text (item, "name", "")),
                   "owner", cli_json_str (node->name), "owner_uuid", cli_json_str (node->uuid));
    int rc = row ? 0 : -1;
    for (size_t f = 0; !rc && s_queue_fields[f]; f++) {
        json_t *value = json_object_get (item, s_queue_fields[f]);
        rc = json_object_set_new (row, s_queue_fields[f],
                                  value ? json_incref (value) : json_null ());
    }
    if (rc)
        json_decref (row);
    return rc ? NULL : row;
}

//  weft_status_fn of queues: adds a row for each queue the member owns.
static void queues_gather (weft_cli_t *self, const weft_node_info_t *node, json_t *status,
                           void *arg)
{
    (void)self;
    queue_view_t *view = arg;
    cli_groups_gather (&view->groups, node->uuid, node->name, status);
    view->answered++;
    size_t i;
    json_t *item;
    json_array_foreach (json_object_get (status, "queues"), i, item)
    {
        const char *name = cli_json_text (item, "name", "");
        if (!*name || strcmp (cli_json_text (item, "role", ""), "owner") != 0)
            continue;
        if (view->count == view->cap) {
            size_t cap = view->cap ? view->cap * 2 : 16;
            queue_row_t *rows = realloc (view->rows, cap * sizeof *rows);
            if (!rows)
                return;
            view->rows = rows;
            view->cap = cap;
        }
        json_t *row = queue_row (node, item);
        if (row)
            view->rows[view->count++] =
                (queue_row_t){row, cli_groups_led (&view->groups, node->uuid, name)};
    }
}

//  qsort comparator of queue rows: by queue, owner, owner's UUID.
static int row_compare (const void *a, const void *b)
{
    const json_t *x = ((const queue_row_t *)a)->row, *y = ((const queue_row_t *)b)->row;
    static const char *const keys[] = {"queue", "owner", "owner_uuid"};
    for (size_t k = 0; k < 3; k++) {
        int order = strcmp (cli_json_text (x, keys[k], ""), cli_json_text (y, keys[k], ""));
        if (order)
            return order;
    }
    return 0;
}

//  Prints the rows of VIEW as a JSON array of objects, each with its group's
//  columns when it has a group; returns the exit code.
static int queues_json (queue_view_t *view)
{
    json_t *all = json_array ();
    int rc = all ? 0 : -1;
    for (size_t r = 0; !rc && r < view->count; r++) {
        const queue_row_t *q = &view->rows[r];
        rc = json_array_append (all, q->row);
        if (!rc && q->group)
            rc = cli_group_json (&view->groups, q->group, q->row);
    }
    int code = weft_print_json ("queues", rc ? NULL : all, CLI_JSON_SPACED);
    json_decref (all);
    return code;
}

//  Prints the rows of VIEW as a table, with the group columns when a row
//  has a group.
static void queues_table (const queue_view_t *view)
{
    static const char *const first[QUEUE_TABLE] = {"queue",     "owner",     "depth",
                                                   "delayed",   "in_flight", "consumers",
                                                   "delivered", "acked",     "dead"};
    bool groups = false;
    for (size_t r = 0; r < view->count; r++)
        groups |= view->rows[r].group != NULL;
    size_t columns = QUEUE_TABLE + (groups ? CLI_GROUP_COLUMNS : 0);
    const char *header[QUEUE_TABLE + CLI_GROUP_COLUMNS];
    size_t pick[QUEUE_TABLE + CLI_GROUP_COLUMNS];
    memcpy (header, first, sizeof first);
    memcpy (header + QUEUE_TABLE, cli_group_header, sizeof cli_group_header);
    for (size_t c = 0; c < columns; c++)
        pick[c] = c;
    cli_table_t table;
    cli_table_init (&table, columns);
    for (size_t r = 0; r < view->count; r++) {
        const json_t *row = view->rows[r].row;
        char values[QUEUE_TABLE][64], cells[CLI_GROUP_COLUMNS][CLI_GROUP_CELL];
        const char *line[QUEUE_TABLE + CLI_GROUP_COLUMNS];
        line[0] = cli_json_text (row, "queue", "");
        line[1] = cli_json_text (row, "owner", "");
        for (size_t f = 0; f + 2 < QUEUE_TABLE; f++)
            line[f + 2] = cli_json_cell (json_object_get (row, s_queue_fields[f]), "null",
                                         values[f], sizeof values[f]);
        cli_group_cells (&view->groups, view->rows[r].group, cells);
        for (size_t c = 0; c < CLI_GROUP_COLUMNS; c++)
            line[QUEUE_TABLE + c] = cells[c];
        cli_table_add (&table, line);
    }
    cli_table_print (&table, stdout, header, pick, columns);
    cli_table_free (&table);
}

int weft_cmd_queues (weft_cli_t *self)
{
    queue_view_t view = {.rows = NULL};
    if (cli_groups_init (&view.groups))
        return weft_fail (CLI_EXIT_FAILURE, "queues: out of memory");
    int code = weft_each_status (self, "queues", queues_gather, &view, NULL);
    if (view.count > 1)
        qsort (view.rows, view.count, sizeof *view.rows, row_compare);
    if (code == CLI_EXIT_OK || view.answered) {
        int printed = CLI_EXIT_OK;
        if (self->json)
            printed = queues_json (&view);
        else
            queues_table (&view);
        code = code ? code : printed;
    }
    for (size_t r = 0; r < view.count; r++)
        json_decref (view.rows[r].row);
    free (view.rows);
    cli_groups_free (&view.groups);
    return code;
}
