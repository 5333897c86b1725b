/*  node/queues/queue_raft_found.c - queues on Raft: where a queue's group is
    (leader hints to clients, WIRE_QLEADER) and how it comes to be (founding).

    A request for a queue goes to the member the client believes leads its
    group (queue_owner_of: the last hint, else the ring's first choice).
    A member that does not serve it answers QLEADER with the leader it knows
    (else a member of the group, else the ring's first choice), so clients
    follow the leader by themselves.

    Founding. Every member remembers, per queue, the group it knows of
    (hosting it or not: the "known" table, kept in the journal's meta as
    "rk/<queue>"). A member asked about a queue nobody told it of, that is
    the ring's first choice for it and has been up for an expiry period
    (it has heard of the members that live), asks every other member it
    sees (kind query) whether they know a group of it. When all said no, it
    founds the group with the R members the ring wants as voters and tells
    every member (kind found, with the voter list): the voters bootstrap
    that configuration, the others remember it. A member that does not
    answer within QRAFT_FOUND_WAIT stops the founding; the next request
    starts it again. Members that cannot hear each other (a partition) may
    still found twice: the two groups have distinct ids and the lower one
    serves (docs/QUEUES.md, "Founding").

    QLEADER kinds (K): 0 answer (C: the leader's uuid or "", S: the group id
    or 0), 1 query, 2 found (S: the group id, C: the founder, L: voters).
*/
#include "node/queues/queue.h"

#include <inttypes.h>

#define QLEADER_ANSWER 0
#define QLEADER_QUERY  1
#define QLEADER_FOUND  2

//  Sends a QLEADER of KIND about QUEUE to TO (S = ID, C = TEXT, L = IDS).
static void send_leader (node_t *self, const char *to, const char *queue, int kind, uint64_t id,
                         const char *text, const uint64_t *ids, size_t n)
{
    wire_queue_t *out = queues_of (self)->out;
    memset (out, 0, offsetof (wire_queue_t, seqs));
    snprintf (out->queue, sizeof out->queue, "%s", queue);
    snprintf (out->consumer, sizeof out->consumer, "%s", text ? text : "");
    out->kind = (uint8_t)kind;
    out->seq = id;
    for (size_t i = 0; i < n && i < WIRE_SEQS_MAX; i++)
        out->seqs[out->nseqs++] = ids[i];
    queue_send (self, to, WIRE_QLEADER, out, NULL, 0);
}

const char *qraft_leader_of (node_t *self, rgq_t *g)
{
    uint64_t id = 0;
    const char *uuid = g && qhost_leader (g->host, &id) ? qraft_uuid_of (self, id) : NULL;
    return uuid ? uuid : "";
}

/* ---------------------------------------------------------------------------
   What this member knows of the queues' groups
*/

static void known_key (const char *queue, char *out, size_t cap)
{
    snprintf (out, cap, QRAFT_KNOWN "%s", queue);
}

void qraft_known_put (node_t *self, const char *queue, uint64_t id, const char *founder,
                      const uint64_t *voters, size_t n)
{
    struct queues *qs = queues_of (self);
    rknown_t *k = zhashx_lookup (qs->known, queue);
    if (k && k->id <= id && k->id)
        return; //  we know this one, or a lower one (which serves)
    if (!k && zhashx_size (qs->known) >= QRAFT_GROUPS_MAX)
        return;
    if (!k) {
        if (!(k = calloc (1, sizeof *k)))
            return;
        zhashx_insert (qs->known, queue, k);
    }
    k->id = id;
    snprintf (k->founder, sizeof k->founder, "%s", founder ? founder : "");
    k->nvoters = voters && n < 9 ? n : voters ? 9 : 0;
    if (k->nvoters)
        memcpy (k->voters, voters, k->nvoters * sizeof *voters);
    if (self->journal) {
        char key[sizeof QRAFT_KNOWN + WIRE_TOPIC_MAX];
        known_key (queue, key, sizeof key);
        journal_meta_put (self->journal, key, k, sizeof *k);
    }
}

static void on_known (const char *key, const void *value, size_t len, void *arg)
{
    node_t *self = arg;
    const char *queue = key + strlen (QRAFT_KNOWN);
    rknown_t k;
    if (len != sizeof k || !*queue || strlen (queue) > WIRE_TOPIC_MAX)
        return;
    memcpy (&k, value, sizeof k);
    k.founder[sizeof k.founder - 1] = 0;
    qraft_known_put (self, queue, k.id, k.founder, k.voters, k.nvoters < 9 ? k.nvoters : 9);
}

int qraft_known_load (node_t *self)
{
    return journal_meta_scan (self->journal, QRAFT_KNOWN, on_known, self);
}

//  The group of QUEUE this member hosts or knows of (its id; 0: none).
static uint64_t group_known (node_t *self, const char *queue)
{
    rgq_t *g = qraft_group (self, queue);
    rknown_t *k = zhashx_lookup (queues_of (self)->known, queue);
    return g && (!k || g->id <= k->id) ? g->id : k ? k->id : 0;
}

void qraft_tell_leader (node_t *self, const char *to, const char *queue)
{
    struct queues *qs = queues_of (self);
    rgq_t *g = qraft_group (self, queue);
    if (g && qraft_superseded (self, g))
        g = NULL; //  it moves into the lower one: send them there
    const char *hint = qraft_leader_of (self, g);
    rknown_t *k = g ? NULL : zhashx_lookup (qs->known, queue);
    //  not hosting it: one of its members we see, who knows better; else the ring's choice
    const char *uuid = k ? qraft_uuid_of (self, qraft_id_of (k->founder)) : NULL;
    for (size_t i = 0; k && !uuid && i < k->nvoters; i++)
        uuid = qraft_uuid_of (self, k->voters[i]);
    if (uuid)
        hint = uuid;
    else if (!g) {
        const char *wanted[1];
        hint = qraft_wanted (self, queue, wanted, 1) ? wanted[0] : "";
    }
    send_leader (self, to, queue, QLEADER_ANSWER, group_known (self, queue), hint, NULL, 0);
}

/* ---------------------------------------------------------------------------
   Founding
*/

static void found (node_t *self, const char *queue)
{
    const char *members[9];
    size_t n = qraft_wanted (self, queue, members, 9);
    if (!n || strcmp (members[0], self->uuid_hex) != 0 || group_known (self, queue))
        return; //  the ring changed meanwhile (whoever is first now founds), or it exists
    uint64_t ids[9];
    for (size_t i = 0; i < n; i++)
        ids[i] = qraft_id_of (members[i]);
    char seed[WIRE_TOPIC_MAX + WIRE_UUID_SIZE * 2 + 2];
    snprintf (seed, sizeof seed, "%s/%s", self->uuid_hex, queue);
    uint64_t id = 0xcbf29ce484222325ull; //  FNV-1a
    for (const unsigned char *p = (const unsigned char *)seed; *p; p++)
        id = (id ^ *p) * 0x100000001b3ull;
    id = id ? id : 1;
    if (!qraft_group_new (self, queue, self->uuid_hex, id, ids, n))
        return;
    qraft_known_put (self, queue, id, self->uuid_hex, ids, n);
    //  the voters bootstrap the same configuration; everyone else remembers it
    //  (sending looks peers up, which moves the table's cursor: not inside its walk)
    zlistx_t *to = zlistx_new ();
    zlistx_set_destructor (to, (zlistx_destructor_fn *)zstr_free);
    zlistx_set_duplicator (to, (zlistx_duplicator_fn *)strdup);
    for (peer_t *p = zhashx_first (self->peers); to && p; p = zhashx_next (self->peers))
        if (p->joined)
            zlistx_add_end (to, p->uuid_hex);
    for (const char *u = to ? zlistx_first (to) : NULL; u; u = zlistx_next (to))
        send_leader (self, u, queue, QLEADER_FOUND, id, self->uuid_hex, ids, n);
    zlistx_destroy (&to);
}

void qraft_found_start (node_t *self, const char *queue)
{
    struct queues *qs = queues_of (self);
    if (!self->journal || !self->capacity || zhashx_lookup (qs->founding, queue) ||
        node_now (self) - qs->raft_since < self->expire_after || group_known (self, queue))
        return; //  (not before we heard of the members that live)
    rfound_t *f = calloc (1, sizeof *f);
    if (!f || !(f->waiting = zhashx_new ())) {
        free (f);
        return;
    }
    snprintf (f->name, sizeof f->name, "%s", queue);
    f->deadline = node_now (self) + QRAFT_FOUND_WAIT;
    for (peer_t *p = zhashx_first (self->peers); p; p = zhashx_next (self->peers))
        if (p->joined && p->role == WIRE_ROLE_MEMBER)
            zhashx_insert (f->waiting, p->uuid_hex, "");
    //  (sending looks peers up, which moves the table's cursor: not inside its walk)
    for (void *u = zhashx_first (f->waiting); u; u = zhashx_next (f->waiting))
        send_leader (self, zhashx_cursor (f->waiting), queue, QLEADER_QUERY, 0, "", NULL, 0);
    if (zhashx_size (f->waiting) == 0) {
        zhashx_destroy (&f->waiting);
        free (f);
        found (self, queue);
        return;
    }
    zhashx_insert (qs->founding, queue, f);
}

static void found_end (node_t *self, rfound_t *f, bool go)
{
    char queue[WIRE_TOPIC_MAX + 1];
    snprintf (queue, sizeof queue, "%s", f->name);
    zhashx_delete (queues_of (self)->founding, queue);
    zhashx_destroy (&f->waiting);
    free (f);
    if (go)
        found (self, queue);
}

void qraft_found_tick (node_t *self, int64_t now)
{
    struct queues *qs = queues_of (self);
    zlistx_t *done = zlistx_new (), *gone = zlistx_new ();
    for (rfound_t *f = zhashx_first (qs->founding); done && gone && f;
         f = zhashx_next (qs->founding)) {
        zlistx_purge (gone);
        for (void *u = zhashx_first (f->waiting); u; u = zhashx_next (f->waiting))
            if (!queue_peer (self, zhashx_cursor (f->waiting)))
                zlistx_add_end (gone, (void *)zhashx_cursor (f->waiting)); //  no answer due
        for (const char *u = zlistx_first (gone); u; u = zlistx_next (gone))
            zhashx_delete (f->waiting, u);
        if (zhashx_size (f->waiting) == 0 || now >= f->deadline)
            zlistx_add_end (done, f);
    }
    for (rfound_t *f = done ? zlistx_first (done) : NULL; f; f = zlistx_next (done))
        found_end (self, f, zhashx_size (f->waiting) == 0);
    zlistx_destroy (&done);
    zlistx_destroy (&gone);
}

void qraft_found_again (node_t *self, rgq_t *g)
{
    rg_server_t servers[9];
    size_t n = rgroup_servers (qhost_group (g->host), servers, 9);
    uint64_t ids[9];
    for (size_t i = 0; i < n && i < 9; i++)
        ids[i] = servers[i].id;
    n = n < 9 ? n : 9;
    for (size_t i = 0; i < n; i++) {
        const char *uuid = qraft_uuid_of (self, ids[i]);
        if (uuid && uuid != self->uuid_hex)
            send_leader (self, uuid, g->name, QLEADER_FOUND, g->id, self->uuid_hex, ids, n);
    }
}

void qraft_found_stop (node_t *self)
{
    struct queues *qs = queues_of (self);
    for (rfound_t *f = qs->founding ? zhashx_first (qs->founding) : NULL; f;
         f = zhashx_next (qs->founding)) {
        zhashx_destroy (&f->waiting);
        free (f);
    }
    zhashx_destroy (&qs->founding);
}

/* ---------------------------------------------------------------------------
   QLEADER
*/

//  Client side: the leader of QUEUE is HINT ("" unknown): follow it.
static void hint_set (node_t *self, const char *queue, const char *hint)
{
    struct queues *qs = queues_of (self);
    const char *old = zhashx_lookup (qs->hints, queue);
    if (*hint && !queue_peer (self, hint))
        hint = ""; //  a member we do not see: the ring's choice is as good
    if (old ? strcmp (old, hint) == 0 : !*hint)
        return;
    if (*hint)
        zhashx_update (qs->hints, queue, (void *)hint);
    else
        zhashx_delete (qs->hints, queue);
    queue_client_ring_changed (self); //  re-routes sends, moves consumers
}

void qraft_on_leader (node_t *self, peer_t *from, const wire_queue_t *msg)
{
    struct queues *qs = queues_of (self);
    if (!qs->raft && msg->kind != QLEADER_ANSWER)
        return; //  members of the owner engine host no groups
    if (msg->kind == QLEADER_QUERY) {
        qraft_tell_leader (self, from->uuid_hex, msg->queue);
        return;
    }
    if (msg->kind == QLEADER_FOUND) {
        if (!msg->seq || strcmp (msg->consumer, from->uuid_hex) != 0)
            return; //  only a founder tells of its own founding
        bool listed = false;
        for (size_t i = 0; i < msg->nseqs; i++)
            listed |= msg->seqs[i] == qraft_id_of (self->uuid_hex);
        char key[17];
        snprintf (key, sizeof key, "%016" PRIx64, msg->seq);
        rgq_t *g = zhashx_lookup (qs->group_ids, key);
        if (listed && self->journal && self->capacity && !g)
            qraft_group_new (self, msg->queue, from->uuid_hex, msg->seq, msg->seqs, msg->nseqs);
        else if (listed && g && !*g->founder) { //  made by its traffic before this came
            snprintf (g->founder, sizeof g->founder, "%s", from->uuid_hex);
            qraft_group_bootstrap (self, g, msg->seqs, msg->nseqs);
        }
        qraft_known_put (self, msg->queue, msg->seq, from->uuid_hex, msg->seqs, msg->nseqs);
        return;
    }
    if (qs->raft && msg->seq) //  an answer names a group: remember it
        qraft_known_put (self, msg->queue, msg->seq, "", NULL, 0);
    rfound_t *f = zhashx_lookup (qs->founding, msg->queue);
    if (f) {
        zhashx_delete (f->waiting, from->uuid_hex);
        if (msg->seq) //  a group exists: no founding
            found_end (self, f, false);
        else if (zhashx_size (f->waiting) == 0)
            found_end (self, f, true);
    }
    if (*msg->consumer) //  "": the member does not know; the last hint is as good as any
        hint_set (self, msg->queue, msg->consumer);
}
