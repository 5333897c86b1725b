/*  node/core/status.c - the node's status document (node_status_json ()):
    the core's identity, endpoints and counters, then each started
    subsystem's members (its status operation, core.h), built with jansson.
    Field names and shape: docs/CLI.md (weft status), bindings, tests.
*/
#include "node/core/node.h"

#include "common/jout.h"
#include "node/core/config.h"

//  Adds the status members of every started subsystem to STATUS, in slot
//  order; 0 or -1.
static int subsystems_status (node_t *self, json_t *status)
{
    for (int i = 0; i < SUBSYS_MAX; i++) {
        const subsystem_t *sub = node_subsystems[i];
        if (self->started[i] && sub->status && sub->status (self, self->state[i], status))
            return -1;
    }
    return 0;
}

//  The core's counters, the status' "counters" object; NULL when out of memory.
static json_t *counters_json (node_t *self)
{
    const node_counters_t *c = &self->counters;
    const struct {
        const char *key;
        uint64_t value;
    } rows[] = {{"published", c->published},
                {"received", c->received},
                {"delivered", c->delivered},
                {"gaps", c->gaps},
                {"app_drops", c->app_drops},
                {"bad_frames", c->bad_frames},
                {"bad_beacons", c->bad_beacons},
                {"foreign_beacons", c->foreign_beacons},
                {"foreign_hellos", c->foreign_hellos},
                {"oversized", c->oversized},
                {"unknown_type", c->unknown_type},
                {"joins", c->joins},
                {"leaves", c->leaves},
                {"expiries", c->expiries},
                {"journaled", c->journaled},
                {"journal_errors", c->journal_errors},
                {"replayed", c->replayed},
                {"repaired", c->repaired},
                {"held_drops", c->held_drops},
                {"commits", self->commits},
                {"commit_failures", self->commit_failures},
                {"commit_ops", self->commit_ops}};
    json_t *counters = json_object ();
    int rc = counters ? 0 : -1;
    for (size_t i = 0; !rc && i < sizeof rows / sizeof rows[0]; i++)
        rc = jout_set_uint (counters, rows[i].key, rows[i].value);
    if (rc)
        json_decref (counters);
    return rc ? NULL : counters;
}

//  The node's own members of the status (identity, endpoints, counters);
//  NULL when out of memory.
static json_t *identity_json (node_t *self)
{
    char version[32];
    snprintf (version, sizeof version, "%d.%d.%d", WEFT_VERSION_MAJOR, WEFT_VERSION_MINOR,
              WEFT_VERSION_PATCH);
    json_t *o = json_object ();
    if (!o)
        return NULL;
    int rc = jout_set_str (o, "name", self->name);
    rc |= jout_set_str (o, "uuid", self->uuid_hex);
    rc |= jout_set_str (o, "role", self->role == WIRE_ROLE_CLIENT ? "client" : "member");
    rc |= jout_set_str (o, "cluster", config_value (self->cfg, CFG_CLUSTER_NAME));
    rc |= jout_set_str (o, "version", version);
    rc |= jout_set_uint (o, "incarnation", self->incarnation);
    rc |= jout_set_str (o, "router", self->router_ep);
    rc |= jout_set_str (o, "pub", self->pub_ep);
    rc |= json_object_set_new (o, "beacons", json_boolean (self->beacons));
    rc |= jout_set_int (o, "uptime_ms", node_now (self) - self->started_at);
    rc |= jout_set_uint (o, "peers", node_peer_count (self));
    rc |= jout_set_uint (o, "subscriptions", topic_set_size (self->subs));
    rc |= json_object_set_new (o, "counters", counters_json (self));
    if (rc)
        json_decref (o);
    return rc ? NULL : o;
}

char *node_status_json (node_t *self)
{
    json_t *status = identity_json (self);
    char *json = status && subsystems_status (self, status) == 0
                     ? json_dumps (status, JSON_COMPACT) //  compact: tests and scripts grep it
                     : NULL;
    json_decref (status);
    return json;
}
