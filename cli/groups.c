/*  cli/groups.c - the Raft groups of queues for weft queues and ring (see groups.h). */
#include "groups.h"

#include <stdio.h>
#include <string.h>

#include "json.h"

const char *const cli_group_header[CLI_GROUP_COLUMNS] = {"term", "commit", "voters", "standbys",
                                                         "lag"};

int cli_groups_init (cli_groups_t *self)
{
    self->names = json_object ();
    self->led = json_object ();
    if (self->names && self->led)
        return 0;
    cli_groups_free (self);
    return -1;
}

void cli_groups_free (cli_groups_t *self)
{
    if (!self)
        return;
    json_decref (self->names);
    json_decref (self->led);
    self->names = self->led = NULL;
}

//  Names member UUID NAME unless it has a name already.
static void name_member (cli_groups_t *self, const char *uuid, const char *name)
{
    if (uuid && *uuid && name && *name && !json_object_get (self->names, uuid))
        json_object_set_new (self->names, uuid, cli_json_str (name));
}

void cli_groups_gather (cli_groups_t *self, const char *uuid, const char *name,
                        const json_t *status)
{
    name_member (self, uuid, name);
    size_t i;
    json_t *item;
    json_array_foreach (json_object_get (json_object_get (status, "ring"), "members"), i, item)
    {
        name_member (self, cli_json_text (item, "uuid", NULL), cli_json_text (item, "name", NULL));
    }
    json_t *mine = NULL;
    json_array_foreach (json_object_get (status, "queue_groups"), i, item)
    {
        const char *queue = cli_json_text (item, "name", NULL);
        if (!queue || !json_is_true (json_object_get (item, "serving")))
            continue;
        if (!mine && (mine = json_object ()) && json_object_set_new (self->led, uuid, mine))
            return; //  out of memory (MINE freed)
        json_object_set (mine, queue, item);
    }
}

const json_t *cli_groups_led (const cli_groups_t *self, const char *uuid, const char *queue)
{
    return json_object_get (json_object_get (self->led, uuid), queue);
}

bool cli_groups_any (const cli_groups_t *self)
{
    return json_object_size (self->led) > 0;
}

const char *cli_groups_name (const cli_groups_t *self, const char *uuid)
{
    const char *name = json_string_value (json_object_get (self->names, uuid));
    return name ? name : uuid;
}

//  A new array of the names of the members in LIST (an array of UUIDs);
//  NULL when out of memory.
static json_t *names_of (const cli_groups_t *self, const json_t *list)
{
    json_t *names = json_array ();
    for (size_t i = 0; names && i < json_array_size (list); i++) {
        const char *uuid = json_string_value (json_array_get (list, i));
        if (uuid && json_array_append_new (names, cli_json_str (cli_groups_name (self, uuid)))) {
            json_decref (names);
            return NULL;
        }
    }
    return names;
}

//  A new object of the lags in LAG (UUID -> entries) by member name; NULL when
//  out of memory.
static json_t *lag_of (const cli_groups_t *self, const json_t *lag)
{
    json_t *named = json_object ();
    const char *uuid;
    json_t *entries;
    json_object_foreach ((json_t *)lag, uuid, entries)
    {
        if (json_object_set (named, cli_groups_name (self, uuid), entries)) {
            json_decref (named);
            return NULL;
        }
    }
    return named;
}

int cli_group_json (const cli_groups_t *self, const json_t *group, json_t *object)
{
    json_t *term = json_object_get (group, "term"), *commit = json_object_get (group, "commit");
    int rc = json_object_set_new (object, "term", term ? json_incref (term) : json_null ());
    rc |= json_object_set_new (object, "commit", commit ? json_incref (commit) : json_null ());
    rc |=
        json_object_set_new (object, "voters", names_of (self, json_object_get (group, "voters")));
    rc |= json_object_set_new (object, "standbys",
                               names_of (self, json_object_get (group, "standbys")));
    rc |= json_object_set_new (object, "lag", lag_of (self, json_object_get (group, "lag")));
    return rc ? -1 : 0;
}

//  Writes the names of the members in LIST, comma separated, into CELL ("-": none).
static void list_cell (const cli_groups_t *self, const json_t *list, char *cell)
{
    size_t used = 0;
    *cell = 0;
    for (size_t i = 0; i < json_array_size (list) && used < CLI_GROUP_CELL; i++) {
        const char *uuid = json_string_value (json_array_get (list, i));
        if (uuid)
            used += (size_t)snprintf (cell + used, CLI_GROUP_CELL - used, "%s%s", used ? "," : "",
                                      cli_groups_name (self, uuid));
    }
    if (!*cell)
        snprintf (cell, CLI_GROUP_CELL, "-");
}

//  Writes the lags in LAG as "name:N,..." into CELL ("-": none).
static void lag_cell (const cli_groups_t *self, const json_t *lag, char *cell)
{
    size_t used = 0;
    const char *uuid;
    json_t *entries;
    *cell = 0;
    json_object_foreach ((json_t *)lag, uuid, entries)
    {
        char n[32];
        if (used < CLI_GROUP_CELL)
            used += (size_t)snprintf (cell + used, CLI_GROUP_CELL - used, "%s%s:%s",
                                      used ? "," : "", cli_groups_name (self, uuid),
                                      cli_json_cell (entries, "?", n, sizeof n));
    }
    if (!*cell)
        snprintf (cell, CLI_GROUP_CELL, "-");
}

void cli_group_cells (const cli_groups_t *self, const json_t *group,
                      char cells[CLI_GROUP_COLUMNS][CLI_GROUP_CELL])
{
    if (!group) {
        for (size_t c = 0; c < CLI_GROUP_COLUMNS; c++)
            snprintf (cells[c], CLI_GROUP_CELL, "-");
        return;
    }
    cli_json_cell (json_object_get (group, "term"), "-", cells[0], CLI_GROUP_CELL);
    cli_json_cell (json_object_get (group, "commit"), "-", cells[1], CLI_GROUP_CELL);
    list_cell (self, json_object_get (group, "voters"), cells[2]);
    list_cell (self, json_object_get (group, "standbys"), cells[3]);
    lag_cell (self, json_object_get (group, "lag"), cells[4]);
}
