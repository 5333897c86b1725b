/*  cli/groups.h - the Raft groups of queues (queues.engine = raft) as weft
    queues and weft ring show them. Each member's status lists the groups it
    hosts ("queue_groups"); only the view of a group's serving leader is kept
    (it is the queue's owner, and only a leader knows the lag of the others),
    with the members' UUIDs named from the rings the members report.
    Thread: one thread.
*/
#ifndef WEFT_CLI_GROUPS_H
#define WEFT_CLI_GROUPS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define CLI_GROUP_COLUMNS 5    //  term, commit, voters, standbys, lag
#define CLI_GROUP_CELL    1024 //  bytes of one cell

//  The table header of the group columns.
extern const char *const cli_group_header[CLI_GROUP_COLUMNS];

//  The groups gathered from the members' status.
typedef struct {
    json_t *names; //  member UUID -> name: every ring reported, every member that answered
    json_t *led;   //  member UUID -> {queue -> its group, as the member serving it reports it}
} cli_groups_t;

//  Makes SELF empty; 0, or -1 when out of memory.
int cli_groups_init (cli_groups_t *self);

//  Frees what SELF holds. NULL-safe.
void cli_groups_free (cli_groups_t *self);

//  Reads STATUS, the status of member UUID named NAME: the names on its ring,
//  and the groups it serves as leader.
void cli_groups_gather (cli_groups_t *self, const char *uuid, const char *name,
                        const json_t *status);

//  The group of QUEUE that member UUID serves as leader, or NULL (borrowed).
const json_t *cli_groups_led (const cli_groups_t *self, const char *uuid, const char *queue);

//  True when a member reported a group it serves.
bool cli_groups_any (const cli_groups_t *self);

//  The name of member UUID (its UUID when no status or ring named it).
const char *cli_groups_name (const cli_groups_t *self, const char *uuid);

//  Adds to OBJECT the columns of GROUP as JSON: "term", "commit" (numbers),
//  "voters", "standbys" (arrays of names) and "lag" (name -> entries the
//  leader has that the member lacks). Returns 0, or -1 when out of memory.
int cli_group_json (const cli_groups_t *self, const json_t *group, json_t *object);

//  Writes the columns of GROUP as text into CELLS: term, commit, voters and
//  standbys as comma lists of names ("-": none), lag as "name:N,..."; all "-"
//  for a NULL GROUP.
void cli_group_cells (const cli_groups_t *self, const json_t *group,
                      char cells[CLI_GROUP_COLUMNS][CLI_GROUP_CELL]);

#endif
