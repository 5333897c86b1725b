/*  bench/bench_qraft.c - the Raft queue engine's status, for bench_queue.
    See bench_qraft.h.
*/
#include <jansson.h>
#include <string.h>

#include "bench_common.h"
#include "bench_qraft.h"

//  The group entry of QUEUE in STATUS (one member's object, or a list of
//  them) when it is a serving leader's; borrowed from STATUS, or NULL.
static json_t *leader_entry (json_t *status, const char *queue)
{
    json_t *member = json_is_array (status) ? json_array_get (status, 0) : status;
    json_t *groups = json_object_get (member, "queue_groups");
    size_t i;
    json_t *g;
    json_array_foreach (groups, i, g)
    {
        const char *name = json_string_value (json_object_get (g, "name"));
        const char *role = json_string_value (json_object_get (g, "role"));
        if (name && role && strcmp (name, queue) == 0 && strcmp (role, "leader") == 0 &&
            json_is_true (json_object_get (g, "serving")))
            return g;
    }
    return NULL;
}

long long qraft_leader_field (weft_node_t *node, const char *queue, const char *field)
{
    char *text = NULL;
    if (weft_status (node, &text))
        return -1;
    json_t *status = json_loads (text, 0, NULL);
    weft_free (text);
    json_t *g = status ? leader_entry (status, queue) : NULL;
    json_t *value = g ? json_object_get (g, field) : NULL;
    long long out = json_is_integer (value) ? (long long)json_integer_value (value) : -1;
    json_decref (status);
    return out;
}

int qraft_wait_leader (weft_node_t **members, int n, const char *queue, int64_t deadline_ms)
{
    while (bench_now_ms () <= deadline_ms) {
        for (int i = 0; i < n; i++) {
            if (qraft_leader_field (members[i], queue, "term") >= 0)
                return i;
            weft_msg_t *msg = NULL;
            if (weft_recv (members[i], &msg, i == 0 ? 5 : 0) == 0) //  a bounded wait
                weft_msg_destroy (&msg);
        }
    }
    return -1;
}
