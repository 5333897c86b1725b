/*  cli/weft_ring.c - the commands of weft that show where queues live: ring
    (the ring's members and the queues each owns) and queues (every queue
    with its owner and counters); see weft_cli.h and docs/CLI.md. Both read
    every member's status (weft_each_status ()).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "table.h"
#include "weft_cli.h"

/*  weft ring: the ring's members, as the members see it (the union of their
    views), and the queues each owns by its own status. */

//  Columns of the ring's tables.
enum { RING_NAME, RING_UUID, RING_WEIGHT, RING_OWNS, RING_COLUMNS };
enum { OWNED_UUID, OWNED_QUEUE, OWNED_COLUMNS };

//  What ring gathers from the members' status.
typedef struct {
    cli_table_t members;  //  name, uuid, weight ("owns" filled at the end)
    cli_table_t owned;    //  owner uuid, queue: role "owner" in its status
    cli_table_t answered; //  uuid of every member whose status came
    const char *uuid;     //  the member whose status is being read
} ring_view_t;

//  True when TABLE has a row whose cell COLUMN is VALUE.
static bool table_has (const cli_table_t *table, size_t column, const char *value)
{
    for (size_t r = 0; r < table->count; r++)
        if (strcmp (cli_table_cell (table, r, column), value) == 0)
            return true;
    return false;
}

//  json_item_fn: adds ring member ITEM ({uuid, name, weight}) if new.
static void ring_member (const char *item, void *arg)
{
    ring_view_t *view = arg;
    char uuid[64] = "", name[256] = "", weight[32] = "";
    json_get (item, "uuid", uuid, sizeof uuid);
    json_get (item, "name", name, sizeof name);
    json_get (item, "weight", weight, sizeof weight);
    if (*uuid && !table_has (&view->members, RING_UUID, uuid))
        cli_table_add (&view->members, (const char *[RING_COLUMNS]){name, uuid, weight, ""});
}

//  json_item_fn: records queue ITEM of the member being read if it owns it.
static void ring_queue (const char *item, void *arg)
{
    ring_view_t *view = arg;
    char name[256] = "", role[32] = "";
    json_get (item, "name", name, sizeof name);
    json_get (item, "role", role, sizeof role);
    if (*name && strcmp (role, "owner") == 0)
        cli_table_add (&view->owned, (const char *[OWNED_COLUMNS]){view->uuid, name});
}

//  weft_status_fn of ring: reads the ring and the queues of one member.
static void ring_gather (weft_cli_t *self, const weft_node_info_t *node, const char *json,
                         void *arg)
{
    (void)self;
    ring_view_t *view = arg;
    char *ring = json_get_dup (json, "ring");
    char *members = ring ? json_get_dup (ring, "members") : NULL;
    char *queues = json_get_dup (json, "queues");
    view->uuid = node->uuid;
    json_items (members, ring_member, view);
    json_items (queues, ring_queue, view);
    cli_table_add (&view->answered, (const char *[]){node->uuid});
    free (ring);
    free (members);
    free (queues);
}

//  Returns the queues owned by UUID (malloc'ed): a JSON array, or for the
//  table a comma list ("-": none); "null" or "?" when its status did not
//  come. Queue names need no JSON escapes (topic syntax).
static char *ring_owns (const weft_cli_t *self, const ring_view_t *view, const char *uuid)
{
    char *text = NULL;
    size_t size = 0, owned = 0;
    FILE *out = open_memstream (&text, &size);
    if (!out)
        return NULL;
    if (!table_has (&view->answered, 0, uuid))
        fputs (self->json ? "null" : "?", out);
    else {
        fputs (self->json ? "[" : "", out);
        for (size_t r = 0; r < view->owned.count; r++)
            if (strcmp (cli_table_cell (&view->owned, r, OWNED_UUID), uuid) == 0)
                fprintf (out, self->json ? "%s\"%s\"" : "%s%s",
                         owned++ ? (self->json ? ", " : ",") : "",
                         cli_table_cell (&view->owned, r, OWNED_QUEUE));
        fputs (self->json ? "]" : owned ? "" : "-", out);
    }
    fclose (out);
    return text;
}

//  Prints the ring of VIEW: a table, or a JSON array.
static void ring_print (const weft_cli_t *self, ring_view_t *view)
{
    static const char *const header[] = {"name", "uuid", "weight", "owns"};
    static const size_t pick[] = {RING_NAME, RING_UUID, RING_WEIGHT, RING_OWNS};
    cli_table_sort (&view->owned);
    cli_table_sort (&view->members);
    cli_table_t rows;
    cli_table_init (&rows, RING_COLUMNS);
    for (size_t r = 0; r < view->members.count; r++) {
        const char *name = cli_table_cell (&view->members, r, RING_NAME);
        const char *uuid = cli_table_cell (&view->members, r, RING_UUID);
        const char *weight = cli_table_cell (&view->members, r, RING_WEIGHT);
        char *owns = ring_owns (self, view, uuid);
        if (!self->json)
            cli_table_add (&rows, (const char *[RING_COLUMNS]){name, uuid, weight, owns});
        else {
            printf ("%s{\"name\": ", r ? ",\n " : "[");
            json_write_string (stdout, name, strlen (name));
            printf (", \"uuid\": \"%s\", \"weight\": %d, \"owns\": %s}", uuid, atoi (weight),
                    owns ? owns : "null");
        }
        free (owns);
    }
    if (self->json)
        printf ("%s\n", view->members.count ? "]" : "[]");
    else
        cli_table_print (&rows, stdout, header, pick, RING_COLUMNS);
    cli_table_free (&rows);
}

int weft_cmd_ring (weft_cli_t *self)
{
    ring_view_t view = {.uuid = ""};
    cli_table_init (&view.members, RING_COLUMNS);
    cli_table_init (&view.owned, OWNED_COLUMNS);
    cli_table_init (&view.answered, 1);
    int code = weft_each_status (self, "ring", ring_gather, &view, false);
    if (code == CLI_EXIT_OK || view.answered.count)
        ring_print (self, &view);
    cli_table_free (&view.members);
    cli_table_free (&view.owned);
    cli_table_free (&view.answered);
    return code;
}

/*  weft queues: one row per queue a member owns, with its counters. */

//  Fields of a queue object of the status, after the queue and its owner.
static const char *const s_queue_fields[] = {
    "depth",  "delayed", "in_flight", "consumers",   "delivered", "acked", "dead",
    "active", "stored",  "enqueued",  "redelivered", "replicas",  NULL};

#define QUEUE_FIXED   3  //  queue, owner, owner_uuid
#define QUEUE_COLUMNS 15 //  QUEUE_FIXED + the fields above

//  The queue being read belongs to this member.
typedef struct {
    cli_table_t rows;             //  queue, owner, owner_uuid, then s_queue_fields
    const weft_node_info_t *node; //  the member whose status is being read
    size_t answered;              //  members whose status came
} queue_view_t;

//  json_item_fn: adds a row for queue ITEM of the member being read, if it
//  owns it.
static void queues_item (const char *item, void *arg)
{
    queue_view_t *view = arg;
    char name[256] = "", role[32] = "", values[QUEUE_COLUMNS - QUEUE_FIXED][32];
    const char *cells[QUEUE_COLUMNS] = {name, view->node->name, view->node->uuid};
    json_get (item, "name", name, sizeof name);
    json_get (item, "role", role, sizeof role);
    if (!*name || strcmp (role, "owner") != 0)
        return;
    for (size_t f = 0; s_queue_fields[f]; f++) {
        cells[QUEUE_FIXED + f] = values[f];
        if (!json_get (item, s_queue_fields[f], values[f], sizeof values[f]))
            snprintf (values[f], sizeof values[f], "null");
    }
    cli_table_add (&view->rows, cells);
}

//  weft_status_fn of queues: reads the queues of one member.
static void queues_gather (weft_cli_t *self, const weft_node_info_t *node, const char *json,
                           void *arg)
{
    (void)self;
    queue_view_t *view = arg;
    char *queues = json_get_dup (json, "queues");
    view->node = node;
    json_items (queues, queues_item, view);
    view->node = NULL;
    view->answered++;
    free (queues);
}

//  Prints the rows of VIEW as a JSON array of objects.
static void queues_json (const queue_view_t *view)
{
    for (size_t r = 0; r < view->rows.count; r++) {
        const char *queue = cli_table_cell (&view->rows, r, 0);
        const char *owner = cli_table_cell (&view->rows, r, 1);
        printf ("%s{\"queue\": ", r ? ",\n " : "[");
        json_write_string (stdout, queue, strlen (queue));
        printf (", \"owner\": ");
        json_write_string (stdout, owner, strlen (owner));
        printf (", \"owner_uuid\": \"%s\"", cli_table_cell (&view->rows, r, 2));
        for (size_t f = 0; s_queue_fields[f]; f++)
            printf (", \"%s\": %s", s_queue_fields[f],
                    cli_table_cell (&view->rows, r, QUEUE_FIXED + f));
        printf ("}");
    }
    printf ("%s\n", view->rows.count ? "]" : "[]");
}

int weft_cmd_queues (weft_cli_t *self)
{
    static const char *const header[] = {"queue",     "owner",     "depth", "delayed", "in_flight",
                                         "consumers", "delivered", "acked", "dead"};
    static const size_t pick[] = {0, 1, 3, 4, 5, 6, 7, 8, 9};
    queue_view_t view = {.node = NULL};
    cli_table_init (&view.rows, QUEUE_COLUMNS);
    int code = weft_each_status (self, "queues", queues_gather, &view, false);
    cli_table_sort (&view.rows);
    if (self->json && (code == CLI_EXIT_OK || view.answered))
        queues_json (&view);
    else if (code == CLI_EXIT_OK || view.answered)
        cli_table_print (&view.rows, stdout, header, pick, sizeof pick / sizeof pick[0]);
    cli_table_free (&view.rows);
    return code;
}
