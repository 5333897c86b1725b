/*  node/queues/queue_raft.c - queues on Raft (queues.engine = raft): the
    groups this member hosts, one per queue (node/qgroup/qhost.h), and their
    place in the node: transport over the peer links (WIRE_QRAFT), the loop
    phases (tick, stage into the turn's batch, completions after the
    commit), restart from the journal, and where each group should live
    (node/qgroup/qplan.h). Producers and consumers: queue_raft_serve.c.

    Identity. A member's Raft id is the first 8 bytes of its UUID; a group's
    id is a hash of its queue's name and its founder's UUID, so that two
    foundings of one queue (members that disagreed on who founds it) make
    two distinct groups, never one log with two histories.

    Storage. A group's log, term, vote and snapshots live in the journal's
    store under QRAFT_PREFIX (node/raft/rg_store.c), written in the turn's
    one batch, which is then synced whatever journal.sync says (Raft counts
    an entry once it is durable); a meta record "rq/<id>" names the group's
    queue and founder so that a restart finds it again.

    Placement. The group's leader, once per discovery interval, compares the
    voters it has with the members rendezvous hashing wants (ring_replicas)
    and makes the next change qplan_next () gives, one at a time.
*/
#include "node/queues/queue.h"

#include <inttypes.h>

#include "node/core/config.h"

uint64_t qraft_id_of (const char *uuid_hex)
{
    uint64_t id = 0;
    for (int i = 0; i < 16 && uuid_hex[i]; i++) {
        char c = uuid_hex[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 0;
        id = (id << 4) | (uint64_t)v;
    }
    return id ? id : 1;
}

//  The peer (or this node's own) whose Raft id is ID: its uuid hex, or NULL.
const char *qraft_uuid_of (node_t *self, uint64_t id)
{
    if (qraft_id_of (self->uuid_hex) == id)
        return self->uuid_hex;
    for (peer_t *p = zhashx_first (self->peers); p; p = zhashx_next (self->peers))
        if (p->joined && qraft_id_of (p->uuid_hex) == id)
            return p->uuid_hex;
    return NULL;
}

static void id_key (uint64_t id, char *out)
{
    snprintf (out, 17, "%016" PRIx64, id);
}

rgq_t *qraft_group_by_id (node_t *self, uint64_t id)
{
    char key[17];
    id_key (id, key);
    return zhashx_lookup (queues_of (self)->group_ids, key);
}

rgq_t *qraft_group (node_t *self, const char *queue)
{
    return zhashx_lookup (queues_of (self)->groups, queue);
}

/* ---------------------------------------------------------------------------
   The groups' environment
*/

static int64_t env_now (void *arg)
{
    return node_now (arg);
}

static uint64_t env_random (void *arg)
{
    return world_random (((node_t *)arg)->world);
}

static int env_send (void *arg, uint64_t group, uint64_t to, const void *buf, size_t len)
{
    node_t *self = arg;
    rgq_t *g = qraft_group_by_id (self, group);
    const char *uuid = g ? qraft_uuid_of (self, to) : NULL;
    peer_t *peer = uuid && uuid != self->uuid_hex ? node_peer_find_hex (self, uuid) : NULL;
    if (!peer || self->silenced)
        return -1;
    wire_queue_t *out = queues_of (self)->out;
    memset (out, 0, offsetof (wire_queue_t, seqs));
    snprintf (out->queue, sizeof out->queue, "%s", g->name);
    out->seq = group;
    if (wire_encode_queue (&self->sbuf, WIRE_QRAFT, out))
        return -1;
    return node_send (self, peer->link, buf, len);
}

static void group_free (void **item)
{
    rgq_t *g = *item;
    if (!g)
        return;
    qhost_destroy (&g->host);
    zhashx_destroy (&g->consumers);
    free (g);
    *item = NULL;
}

//  Makes GROUP's host (not started). NULL on failure (logged).
static qhost_t *host_new (node_t *self, rgq_t *g)
{
    struct queues *qs = queues_of (self);
    qhost_conf_t qc = {.rg = {.arg = self,
                              .now_ms = env_now,
                              .random = env_random,
                              .send = env_send,
                              .key_prefix = QRAFT_PREFIX,
                              .pre_vote = true},
                       .ack_timeout_ms = qs->ack_timeout,
                       .deliver = qraft_deliver,
                       .letter = qraft_letter,
                       .arg = g};
    store_batch_t *batch = NULL;
    journal_raw (self->journal, &qc.rg.store_ops, &qc.rg.store, &batch);
    qfsm_config_init (&qc.config);
    qc.config.max_deliver = qs->max_deliver;
    qc.config.dedup_window_ms = qs->dedup_window;
    size_t len = strlen (g->name), sl = strlen (QUEUE_SUFFIX_DLQ);
    qc.config.dlq = len > sl && strcmp (g->name + len - sl, QUEUE_SUFFIX_DLQ) == 0;
    char err[200] = "";
    qhost_t *host = qhost_new (&qc, g->id, qraft_id_of (self->uuid_hex), err, sizeof err);
    if (!host)
        wlog_error (&self->log, "queue %s: group not made: %s", g->name, err);
    return host;
}

//  Records G in the journal's meta so that a restart finds it again.
static void meta_put (node_t *self, rgq_t *g)
{
    char key[sizeof QRAFT_META + 17], value[WIRE_UUID_SIZE * 2 + WIRE_TOPIC_MAX + 2];
    char idk[17];
    id_key (g->id, idk);
    snprintf (key, sizeof key, QRAFT_META "%s", idk);
    size_t flen = strlen (g->founder), qlen = strlen (g->name);
    memcpy (value, g->founder, flen + 1);
    memcpy (value + flen + 1, g->name, qlen);
    journal_meta_put (self->journal, key, value, flen + 1 + qlen);
}

rgq_t *qraft_group_new (node_t *self, const char *queue, const char *founder, uint64_t id,
                        const uint64_t *voters, size_t nvoters)
{
    struct queues *qs = queues_of (self);
    char key[17];
    id_key (id, key);
    if (zhashx_lookup (qs->group_ids, key) || zhashx_size (qs->group_ids) >= QRAFT_GROUPS_MAX ||
        !self->journal)
        return NULL;
    rgq_t *g = calloc (1, sizeof *g);
    if (!g || !(g->consumers = zhashx_new ())) {
        free (g);
        return NULL;
    }
    zhashx_set_destructor (g->consumers, (zhashx_destructor_fn *)zstr_free);
    g->node = self;
    g->id = id;
    snprintf (g->name, sizeof g->name, "%s", queue);
    snprintf (g->founder, sizeof g->founder, "%s", founder);
    g->host = host_new (self, g);
    int rc = !g->host ? -1 : nvoters ? qhost_bootstrap (g->host, voters, nvoters) : 0;
    if (rc == 0 && g->host)
        rc = qhost_start (g->host);
    if (rc) {
        wlog_error (&self->log, "queue %s: group %s not started: %s", queue, key,
                    rc < 0 && g->host ? rgroup_strerror (rc) : "no host");
        void *item = g;
        group_free (&item);
        return NULL;
    }
    zhashx_insert (qs->group_ids, key, g);
    rgq_t *other = zhashx_lookup (qs->groups, queue);
    if (other && other->id < id)
        wlog_warn (&self->log,
                   "queue %s: a second group (%s, founded by %.8s) besides %016" PRIx64
                   "; the lower id serves",
                   queue, key, founder, other->id);
    else { //  the group of lower id serves the queue (members agree on that without talking)
        zhashx_update (qs->groups, queue, g);
    }
    meta_put (self, g);
    wlog_info (&self->log, "queue %s: hosting group %s (founded by %.8s%s)", queue, key, founder,
               nvoters ? ", bootstrapped here" : "");
    return g;
}

//  Erases the log and snapshot of group ID, which this member no longer
//  hosts (rgroup_erase (): its term and vote stay). WHY says when.
static void group_erase (node_t *self, uint64_t id, const char *why)
{
    const store_ops_t *ops;
    store_t *store;
    store_batch_t *batch;
    journal_raw (self->journal, &ops, &store, &batch);
    size_t erased = 0;
    char key[17];
    id_key (id, key);
    int rc = rgroup_erase (ops, store, QRAFT_PREFIX, id, &erased);
    if (rc)
        wlog_warn (&self->log, "group %s %s: its keys not erased (%d)", key, why, rc);
    else if (erased)
        wlog_info (&self->log, "group %s %s: %zu keys erased", key, why, erased);
}

//  Forgets group G (we left its configuration): its meta record goes, so a
//  restart does not bring it back, and its log and snapshot are erased.
static void group_drop (node_t *self, rgq_t *g)
{
    struct queues *qs = queues_of (self);
    char key[17], mkey[sizeof QRAFT_META + 17];
    id_key (g->id, key);
    snprintf (mkey, sizeof mkey, QRAFT_META "%s", key);
    journal_meta_del (self->journal, mkey);
    wlog_info (&self->log, "queue %s: group %s moved away from this member", g->name, key);
    if (zhashx_lookup (qs->groups, g->name) == g) {
        zhashx_delete (qs->groups, g->name);
        for (rgq_t *o = zhashx_first (qs->group_ids); o; o = zhashx_next (qs->group_ids))
            if (o != g && strcmp (o->name, g->name) == 0 && !zhashx_lookup (qs->groups, g->name))
                zhashx_insert (qs->groups, g->name, o);
    }
    uint64_t id = g->id;
    zhashx_delete (qs->group_ids, key); //  frees it (and closes its Raft group)
    group_erase (self, id, "left");
}

//  A group id with keys in the store (rgroup_stored ()): kept in the list
//  ARG when no group of ours has it (a drop whose erase a crash undid, or
//  one from before erasing existed).
static void on_stored (void *arg, uint64_t id)
{
    node_t *self = ((void **)arg)[0];
    zlistx_t *orphans = ((void **)arg)[1];
    char key[17];
    id_key (id, key);
    uint64_t *copy = zhashx_lookup (queues_of (self)->group_ids, key) ? NULL : malloc (sizeof *copy);
    if (copy) {
        *copy = id;
        zlistx_add_end (orphans, copy);
    }
}

static void id_free (void **item)
{
    free (*item);
    *item = NULL;
}

//  Erases what the store keeps of groups no meta record names. 0 or a code.
static int erase_orphans (node_t *self)
{
    const store_ops_t *ops;
    store_t *store;
    store_batch_t *batch;
    journal_raw (self->journal, &ops, &store, &batch);
    zlistx_t *orphans = zlistx_new ();
    if (!orphans)
        return WEFT_ENOMEM;
    zlistx_set_destructor (orphans, id_free);
    void *arg[2] = {self, orphans};
    int rc = rgroup_stored (ops, store, QRAFT_PREFIX, on_stored, arg) ? WEFT_EIO : 0;
    for (uint64_t *id = zlistx_first (orphans); rc == 0 && id; id = zlistx_next (orphans))
        group_erase (self, *id, "left before");
    zlistx_destroy (&orphans);
    return rc;
}

int qraft_group_bootstrap (node_t *self, rgq_t *g, const uint64_t *voters, size_t n)
{
    rgroup_t *rg = qhost_group (g->host);
    if (rgroup_term (rg) != 0 || rgroup_last_index (rg) != 0)
        return WEFT_ESTATE; //  it wrote something: only a pristine group bootstraps
    qhost_destroy (&g->host);
    zhashx_purge (g->consumers);
    g->host = host_new (self, g);
    int rc = g->host ? qhost_bootstrap (g->host, voters, n) : WEFT_ENOMEM;
    if (rc == 0)
        rc = qhost_start (g->host);
    if (rc) //  as after a failed commit: the next start of the node tries again
        wlog_error (&self->log, "queue %s: group not bootstrapped: %d", g->name, rc);
    return rc;
}

/* ---------------------------------------------------------------------------
   Start and stop
*/

static void on_meta (const char *key, const void *value, size_t len, void *arg)
{
    node_t *self = arg;
    const char *hex = key + strlen (QRAFT_META);
    const char *v = value;
    const char *nul = memchr (v, 0, len);
    if (strlen (hex) != 16 || !nul || (size_t)(nul - v) > WIRE_UUID_SIZE * 2 ||
        len - (size_t)(nul - v) - 1 > WIRE_TOPIC_MAX)
        return;
    char queue[WIRE_TOPIC_MAX + 1];
    size_t qlen = len - (size_t)(nul - v) - 1;
    memcpy (queue, nul + 1, qlen);
    queue[qlen] = 0;
    uint64_t id = strtoull (hex, NULL, 16);
    qraft_group_new (self, queue, v, id, NULL, 0);
}

int qraft_start (node_t *self, char *err, size_t errlen)
{
    struct queues *qs = queues_of (self);
    qs->raft = strcmp (config_value (self->cfg, CFG_QUEUES_ENGINE), "raft") == 0;
    qs->replicas = (uint8_t)config_int (self->cfg, CFG_QUEUES_REPLICAS);
    if (!(qs->groups = zhashx_new ()) || !(qs->group_ids = zhashx_new ()) ||
        !(qs->founding = zhashx_new ()) || !(qs->hints = zhashx_new ()) ||
        !(qs->known = zhashx_new ())) {
        snprintf (err, errlen, "out of memory");
        return WEFT_ENOMEM;
    }
    zhashx_set_destructor (qs->group_ids, group_free);
    zhashx_set_destructor (qs->hints, (zhashx_destructor_fn *)zstr_free);
    zhashx_set_destructor (qs->known, (zhashx_destructor_fn *)zstr_free);
    qs->raft_since = node_now (self);
    zhashx_set_duplicator (qs->hints, (zhashx_duplicator_fn *)strdup);
    if (!qs->raft || !self->journal)
        return 0;
    int rc = journal_meta_scan (self->journal, QRAFT_META, on_meta, self);
    if (rc == 0)
        rc = qraft_known_load (self);
    if (rc == 0)
        rc = erase_orphans (self);
    if (rc)
        snprintf (err, errlen, "queue groups not loaded: %s", journal_error (self->journal));
    return rc;
}

void qraft_stop (node_t *self)
{
    struct queues *qs = queues_of (self);
    qraft_found_stop (self);
    if (qs->groups)
        zhashx_purge (qs->groups); //  no destructor: group_ids owns them
    zhashx_destroy (&qs->groups);
    zhashx_destroy (&qs->group_ids);
    zhashx_destroy (&qs->hints);
    zhashx_destroy (&qs->known);
}

/* ---------------------------------------------------------------------------
   The loop
*/

void qraft_on_raft (node_t *self, peer_t *peer, const wire_queue_t *msg, zmq_msg_t *body)
{
    struct queues *qs = queues_of (self);
    if (!peer || peer == &qs->self_peer || !body || !self->journal || !self->capacity) {
        qs->raft_bad++;
        return;
    }
    char key[17];
    id_key (msg->seq, key);
    rgq_t *g = zhashx_lookup (qs->group_ids, key);
    if (!g) //  a group we were added to (or will be): it reaches us first through its leader
        if ((g = qraft_group_new (self, msg->queue, "", msg->seq, NULL, 0)))
            qraft_known_put (self, msg->queue, msg->seq, "", NULL, 0);
    if (!g || strcmp (g->name, msg->queue) != 0) {
        qs->raft_bad++;
        return;
    }
    qhost_receive (g->host, qraft_id_of (peer->uuid_hex), zmq_msg_data (body), zmq_msg_size (body));
}

void qraft_on_timer (node_t *self, int64_t now, bool interval)
{
    struct queues *qs = queues_of (self);
    zlistx_t *gone = NULL;
    uint64_t me = qraft_id_of (self->uuid_hex);
    for (rgq_t *g = zhashx_first (qs->group_ids); g; g = zhashx_next (qs->group_ids)) {
        if (now >= qhost_deadline (g->host))
            qhost_tick (g->host);
        qraft_served (g);
        qraft_plan (self, g); //  at every tick: a dead voter is replaced as soon as it can be
        if (!interval)
            continue;
        qraft_drain (self, g);
        uint64_t leader = 0;
        if (!strcmp (g->founder, self->uuid_hex) && !qhost_leader (g->host, &leader) &&
            rgroup_last_index (qhost_group (g->host)) <= 1)
            qraft_found_again (self, g); //  its voters may not have heard
        rgroup_t *rg = qhost_group (g->host);
        rg_server_t one;
        bool known = rgroup_servers (rg, &one, 1) > 0;
        if (known && rgroup_role (rg, me) < 0) { //  removed (or never added): drop it after a while
            if (!g->gone_at)
                g->gone_at = now;
            else if (now - g->gone_at > 10 * self->interval && (gone || (gone = zlistx_new ())))
                zlistx_add_end (gone, g);
        } else
            g->gone_at = 0;
    }
    for (rgq_t *g = gone ? zlistx_first (gone) : NULL; g; g = zlistx_next (gone))
        group_drop (self, g);
    zlistx_destroy (&gone);
    qraft_found_tick (self, now);
}

void qraft_before_commit (node_t *self)
{
    struct queues *qs = queues_of (self);
    const store_ops_t *ops;
    store_t *store;
    store_batch_t *batch = NULL;
    bool any = false;
    for (rgq_t *g = zhashx_first (qs->group_ids); g; g = zhashx_next (qs->group_ids)) {
        qhost_before_commit (g->host);
        rgroup_t *rg = qhost_group (g->host);
        g->staged = false;
        if (!rgroup_pending (rg) || rgroup_failed (rg))
            continue;
        if (!batch)
            journal_raw (self->journal, &ops, &store, &batch);
        if (rgroup_stage (rg, batch) == 0) {
            g->staged = true;
            any = true;
        }
    }
    if (any) {
        journal_note_raw (self->journal, 1);
        journal_sync_next (self->journal); //  Raft counts an entry once it is durable
    }
}

void qraft_after_commit (node_t *self, bool ok)
{
    struct queues *qs = queues_of (self);
    zlistx_t *failed = NULL;
    for (rgq_t *g = zhashx_first (qs->group_ids); g; g = zhashx_next (qs->group_ids)) {
        if (g->staged)
            rgroup_committed (qhost_group (g->host), ok ? 0 : RG_EIO);
        g->staged = false;
        if (rgroup_failed (qhost_group (g->host)) && (failed || (failed = zlistx_new ())))
            zlistx_add_end (failed, g);
    }
    //  a failed group restarts from what its disk holds (as a restart of the node would);
    //  one that cannot is left to the next start of the node
    for (rgq_t *g = failed ? zlistx_first (failed) : NULL; g; g = zlistx_next (failed)) {
        wlog_warn (&self->log, "queue %s: group restarts from its journal: %s", g->name,
                   rgroup_errmsg (qhost_group (g->host)));
        qhost_destroy (&g->host);
        zhashx_purge (g->consumers);
        g->host = host_new (self, g);
        if (g->host && qhost_start (g->host) == 0)
            continue;
        char key[17];
        id_key (g->id, key);
        if (zhashx_lookup (qs->groups, g->name) == g) {
            zhashx_delete (qs->groups, g->name);
        }
        zhashx_delete (qs->group_ids, key); //  its meta record stays: the next start tries again
    }
    zlistx_destroy (&failed);
}

bool qraft_busy (node_t *self)
{
    struct queues *qs = queues_of (self);
    for (rgq_t *g = zhashx_first (qs->group_ids); g; g = zhashx_next (qs->group_ids)) {
        rgroup_t *rg = qhost_group (g->host);
        if (rgroup_pending (rg) && !rgroup_failed (rg))
            return true;
    }
    return false;
}
