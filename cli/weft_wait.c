/*  cli/weft_wait.c - weft: listening for peers before acting (see weft_cli.h).

    Every node beacons once per discovery interval, so after one interval a
    client has heard every live node of its LAN; the handshake follows. The
    wait therefore listens at least one interval (none with --node, whose
    one peer is known at once), then ends as soon as its goal is met, and
    gives up waiting for stragglers at --wait-ms (default 1.5 intervals).
    Ready-ness and the ring are not events, so the peer table (and, for
    WAIT_RING, the node's own status) is re-read every TICK_MS while waiting
    on the node's events.
*/
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "loop.h"
#include "weft_cli.h"

#define TICK_MS 25 //  how often the peer table is re-read while waiting

//  A summary of the peer table (this node excluded).
typedef struct {
    size_t connecting; //  heard of, handshake not done
    size_t joined;     //  handshake done (alive or evasive)
    size_t ready;      //  joined, and our subscriptions reached it
    size_t targets;    //  joined targets (weft_is_target)
    size_t ring;       //  members on our ring (read for WAIT_RING only)
    uint64_t shape;    //  order-independent hash of every uuid and state
} peer_view_t;

//  The times a wait is judged by (cli_now_ms clock).
typedef struct {
    int64_t now;          //  current time
    int64_t listen_until; //  the end of the first interval, when all were heard
    int64_t give_up_at;   //  --wait-ms: stop waiting for stragglers
    int64_t stable_since; //  when the peer view last changed
    int64_t interval;     //  discovery.interval_ms
} wait_clock_t;

//  FNV-1a of TEXT, continuing from HASH.
static uint64_t hash_text (uint64_t hash, const char *text)
{
    for (const char *p = text ? text : ""; *p; p++)
        hash = (hash ^ (unsigned char)*p) * 1099511628211ull;
    return hash;
}

//  Returns field FIELD of peer I, or "" when absent.
static const char *field (const weft_peers_t *peers, size_t i, const char *name)
{
    const char *value = weft_peers_get (peers, i, name);
    return value ? value : "";
}

bool weft_is_target (const weft_cli_t *self, const weft_peers_t *peers, size_t index)
{
    if (strcmp (field (peers, index, "state"), "connecting") == 0)
        return false;
    if (self->node_endpoint)
        return strcmp (field (peers, index, "source"), "seed") == 0 ||
               strcmp (field (peers, index, "endpoint"), self->node_endpoint) == 0;
    return strcmp (field (peers, index, "role"), "member") == 0;
}

//  The number of members on the ring of SELF's node, read from its own
//  status ("ring": {"members": [...]}); 0 when there is none.
static size_t ring_size (weft_cli_t *self)
{
    char *text = NULL;
    size_t count = 0;
    if (weft_status (self->node, &text) == 0) {
        json_t *status = cli_json_parse (text);
        count = json_array_size (json_object_get (json_object_get (status, "ring"), "members"));
        json_decref (status);
    }
    weft_free (text);
    return count;
}

//  Summarizes the peer table of SELF's node into VIEW (and its ring, for
//  GOAL WAIT_RING); returns 0 or an error.
static int take_view (weft_cli_t *self, wait_goal_t goal, peer_view_t *view)
{
    weft_peers_t *peers = NULL;
    int rc = weft_peers (self->node, &peers);
    if (rc)
        return rc;
    memset (view, 0, sizeof *view);
    const char *me = weft_node_uuid (self->node);
    for (size_t i = 0; i < weft_peers_count (peers); i++) {
        if (strcmp (field (peers, i, "uuid"), me) == 0)
            continue;
        const char *state = field (peers, i, "state");
        bool connecting = strcmp (state, "connecting") == 0;
        view->connecting += connecting;
        view->joined += !connecting;
        view->ready += !connecting && strcmp (field (peers, i, "ready"), "yes") == 0;
        view->targets += weft_is_target (self, peers, i);
        view->shape +=
            hash_text (hash_text (14695981039346656037ull, field (peers, i, "uuid")), state);
    }
    weft_peers_destroy (&peers);
    if (goal == WAIT_RING && view->targets > 0)
        view->ring = ring_size (self);
    return 0;
}

//  True when GOAL is met by VIEW at the times of CLOCK.
static bool goal_met (wait_goal_t goal, const peer_view_t *view, const wait_clock_t *clock)
{
    bool listened = clock->now >= clock->listen_until;
    bool gave_up = clock->now >= clock->give_up_at;
    bool settled = listened && view->connecting == 0;
    switch (goal) {
    case WAIT_STABLE:
        return gave_up || (settled && clock->now - clock->stable_since >= clock->interval);
    case WAIT_READY:
        return view->targets > 0 && view->ready == view->joined && (settled || gave_up);
    case WAIT_TARGET:
        return view->targets > 0 && (settled || gave_up);
    case WAIT_RING:
        return view->targets > 0 && view->ring > 0 && (settled || gave_up);
    }
    return true;
}

//  Sets up CLOCK for a wait of SELF starting now.
static void clock_init (const weft_cli_t *self, wait_clock_t *clock)
{
    int64_t interval = atoll (weft_config_get (self->cfg, "discovery.interval_ms"));
    int64_t wait = self->wait_ms >= 0 ? self->wait_ms : interval * 3 / 2;
    clock->now = cli_now_ms ();
    clock->interval = interval;
    clock->listen_until = self->start_ms + (self->node_endpoint ? 0 : interval);
    if (clock->listen_until > self->start_ms + wait)
        clock->listen_until = self->start_ms + wait;
    clock->give_up_at = self->start_ms + wait;
    clock->stable_since = self->start_ms;
}

//  Waits for the next event or TICK_MS, dropping what arrives; returns 0,
//  CLI_SIGNALED or a weft_recv () error.
static int next_tick (weft_cli_t *self, int64_t deadline)
{
    int64_t until = cli_now_ms () + TICK_MS;
    if (deadline >= 0 && deadline < until)
        until = deadline;
    weft_msg_t *msg = NULL;
    int rc = cli_next (self->node, self->sigfd, until, &msg, NULL);
    weft_msg_destroy (&msg);
    return rc == WEFT_ETIMEDOUT ? 0 : rc;
}

int weft_wait (weft_cli_t *self, wait_goal_t goal)
{
    wait_clock_t clock;
    clock_init (self, &clock);
    int64_t deadline = weft_deadline (self);
    uint64_t shape = 0; //  the shape of an empty table
    for (;;) {
        peer_view_t view;
        int rc = take_view (self, goal, &view);
        if (rc)
            return rc;
        clock.now = cli_now_ms ();
        if (view.shape != shape) {
            shape = view.shape;
            clock.stable_since = clock.now;
        }
        if (goal_met (goal, &view, &clock))
            return 0;
        if (deadline >= 0 && clock.now >= deadline)
            return goal == WAIT_STABLE || (goal == WAIT_READY && view.targets > 0)
                       ? 0 //  peers prints what it has; pub publishes as best it can
                       : WEFT_ETIMEDOUT;
        if ((rc = next_tick (self, deadline)))
            return rc;
    }
}
