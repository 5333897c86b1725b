/*  node/queues/queue_raft_status.c - queues on Raft: the status of the
    groups this member hosts, "queue_groups":[...] in the node's status
    (docs/QUEUES.md, "Status"), and their items of the "queues" array,
    built with jansson into the node's status object.
*/
#include "node/queues/queue.h"

#include <inttypes.h>
#include <jansson.h>

#include "common/jout.h"
#include "node/qgroup/qplan.h"

//  A member's uuid (or its Raft id in hex when we do not see it).
static json_t *member (node_t *self, uint64_t id)
{
    const char *uuid = qraft_uuid_of (self, id);
    if (uuid)
        return json_string (uuid);
    char hex[17];
    snprintf (hex, sizeof hex, "%016" PRIx64, id);
    return json_string (hex);
}

//  The full status of group G (an item of "queue_groups"); NULL when out of memory.
static json_t *group_json (node_t *self, rgq_t *g)
{
    rgroup_t *rg = qhost_group (g->host);
    const qfsm_t *fsm = qhost_fsm (g->host);
    qfsm_stats_t fs = {0};
    if (fsm)
        qfsm_stats (fsm, &fs);
    const qhost_stats_t *hs = qhost_stats (g->host);
    uint64_t term = 0, leader = 0;
    bool serving = qhost_serving (g->host, &term);
    bool known = qhost_leader (g->host, &leader);
    char id[17];
    snprintf (id, sizeof id, "%016" PRIx64, g->id);
    json_t *voters = json_array (), *standbys = json_array (), *lag = json_object ();
    rg_server_t servers[QPLAN_MEMBERS_MAX];
    size_t n = rgroup_servers (rg, servers, QPLAN_MEMBERS_MAX);
    uint64_t last = rgroup_last_index (rg);
    int rc = 0;
    for (size_t i = 0; i < n && i < QPLAN_MEMBERS_MAX; i++) {
        json_t *m = member (self, servers[i].id);
        if (rgroup_is_leader (rg) && servers[i].id != qraft_id_of (self->uuid_hex))
            rc |= json_object_set_new (
                lag, json_string_value (m),
                json_integer ((json_int_t)(last > servers[i].match ? last - servers[i].match : 0)));
        rc |= json_array_append_new (servers[i].role == RG_ROLE_VOTER ? voters : standbys, m);
    }
    json_t *o = json_object ();
    rc |= o ? 0 : -1;
    rc |= json_object_set_new (o, "name", json_string (g->name));
    rc |= json_object_set_new (o, "group", json_string (id));
    rc |= json_object_set_new (o, "founder", json_string (g->founder));
    rc |= json_object_set_new (o, "role",
                               json_string (rgroup_is_leader (rg) ? "leader" : "follower"));
    rc |= json_object_set_new (o, "serving", json_boolean (serving));
    rc |= json_object_set_new (o, "leader", known ? member (self, leader) : json_null ());
    rc |= json_object_set_new (o, "term", json_integer ((json_int_t)rgroup_term (rg)));
    rc |= json_object_set_new (o, "commit", json_integer ((json_int_t)rgroup_commit_index (rg)));
    rc |= json_object_set_new (o, "applied", json_integer ((json_int_t)rgroup_applied_index (rg)));
    rc |= json_object_set_new (o, "last", json_integer ((json_int_t)last));
    rc |= json_object_set_new (o, "voters", voters);
    rc |= json_object_set_new (o, "standbys", standbys);
    rc |= json_object_set_new (o, "lag", lag);
    rc |= json_object_set_new (o, "depth", json_integer ((json_int_t)fs.ready));
    rc |= json_object_set_new (o, "delayed", json_integer ((json_int_t)fs.delayed));
    rc |= json_object_set_new (o, "pending", json_integer ((json_int_t)fs.pending));
    rc |= json_object_set_new (o, "parked", json_integer ((json_int_t)fs.parked));
    rc |= json_object_set_new (o, "in_flight", json_integer ((json_int_t)qhost_inflight (g->host)));
    rc |=
        json_object_set_new (o, "consumers", json_integer ((json_int_t)zhashx_size (g->consumers)));
    rc |= json_object_set_new (o, "enqueued", json_integer ((json_int_t)fs.enqueued));
    rc |= json_object_set_new (o, "acked", json_integer ((json_int_t)fs.acked));
    rc |= json_object_set_new (o, "dead", json_integer ((json_int_t)fs.dead));
    rc |= json_object_set_new (o, "duplicates", json_integer ((json_int_t)fs.duplicates));
    rc |= json_object_set_new (o, "refused", json_integer ((json_int_t)fs.refused));
    rc |= json_object_set_new (o, "delivered", json_integer ((json_int_t)hs->delivered));
    rc |= json_object_set_new (o, "confirmed", json_integer ((json_int_t)hs->confirmed));
    rc |= json_object_set_new (o, "terms_led", json_integer ((json_int_t)hs->terms_led));
    rc |= json_object_set_new (o, "stale", json_integer ((json_int_t)hs->stale));
    const rg_stats_t *rs = rgroup_stats (rg);
    rc |= json_object_set_new (
        o, "raft",
        json_pack ("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "rx", (json_int_t)rs->rx, "rx_bad",
                   (json_int_t)rs->rx_bad, "rx_dropped", (json_int_t)rs->rx_dropped, "tx",
                   (json_int_t)rs->tx, "tx_failed", (json_int_t)rs->tx_failed, "writes",
                   (json_int_t)rs->writes, "snapshots", (json_int_t)rs->snapshots));
    rc |= json_object_set_new (o, "lapsed", json_integer ((json_int_t)hs->lapsed));
    if (rc) {
        json_decref (o);
        return NULL;
    }
    return o;
}

int qraft_queues_add (node_t *self, json_t *queues)
{
    struct queues *qs = queues_of (self);
    int rc = 0;
    for (rgq_t *g = zhashx_first (qs->group_ids); !rc && g; g = zhashx_next (qs->group_ids)) {
        if (!g->host)
            continue;
        json_t *full = group_json (self, g);
        if (!full)
            return -1;
        bool serving = json_is_true (json_object_get (full, "serving"));
        //  the owner engine's fields (weft queues and weft ring read them): the serving
        //  leader is the queue's owner, the other members hold replicas
        json_t *o = json_pack (
            "{s:O, s:s, s:b, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:I, "
            "s:I, s:O, s:O, s:O}",
            "name", json_object_get (full, "name"), "role", serving ? "owner" : "replica", "active",
            serving, "stored", json_object_get (full, "pending"), "depth",
            json_object_get (full, "depth"), "delayed", json_object_get (full, "delayed"),
            "in_flight", json_object_get (full, "in_flight"), "consumers",
            json_object_get (full, "consumers"), "enqueued", json_object_get (full, "enqueued"),
            "delivered", json_object_get (full, "delivered"), "acked",
            json_object_get (full, "acked"), "dead", json_object_get (full, "dead"), "redelivered",
            (json_int_t)0, "replicas",
            (json_int_t)json_array_size (json_object_get (full, "voters")), "leader",
            json_object_get (full, "leader"), "term", json_object_get (full, "term"), "commit",
            json_object_get (full, "commit"));
        rc = json_array_append_new (queues, o); //  -1 when O is NULL
        json_decref (full);
    }
    return rc;
}

int qraft_status_add (node_t *self, json_t *into)
{
    struct queues *qs = queues_of (self);
    json_t *all = json_array ();
    int rc = jout_set_str (into, "queue_engine", qs->raft ? "raft" : "owner");
    rc |= json_object_set_new (into, "queue_groups", all); //  ALL borrowed from here on
    for (rgq_t *g = zhashx_first (qs->group_ids); !rc && g; g = zhashx_next (qs->group_ids))
        if (g->host)
            rc = json_array_append_new (all, group_json (self, g));
    rc |= jout_set_uint (into, "raft_bad", qs->raft_bad);
    return rc ? -1 : 0;
}
