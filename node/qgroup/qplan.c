/*  node/qgroup/qplan.c - the next membership change of a queue group (see
    qplan.h for the rules). */
#include "node/qgroup/qplan.h"

//  The server of IN with ID, or NULL.
static const qplan_server_t *find (const qplan_input_t *in, uint64_t id)
{
    for (size_t i = 0; i < in->count; i++)
        if (in->servers[i].id == id)
            return &in->servers[i];
    return NULL;
}

//  True when ID is one of IN's wanted members.
static bool wanted (const qplan_input_t *in, uint64_t id)
{
    for (size_t i = 0; i < in->wanted_count; i++)
        if (in->wanted[i] == id)
            return true;
    return false;
}

//  True when server S has the log up to within IN's catch-up distance.
static bool caught_up (const qplan_input_t *in, const qplan_server_t *s)
{
    return s->id == in->leader || s->match + in->catch_up >= in->last_index;
}

//  True when IN can be planned from.
static bool usable (const qplan_input_t *in)
{
    if (!in || (in->count && !in->servers) || in->count > QPLAN_MEMBERS_MAX ||
        (in->wanted_count && !in->wanted) || in->wanted_count > QPLAN_MEMBERS_MAX ||
        !find (in, in->leader))
        return false;
    for (size_t i = 0; i < in->wanted_count; i++)
        if (in->wanted[i] == 0)
            return false;
    return true;
}

qplan_step_t qplan_next (const qplan_input_t *in)
{
    qplan_step_t none = {QPLAN_NONE, 0};
    if (!usable (in))
        return none;
    //  1, 2: grow, best-ranked first
    for (size_t i = 0; i < in->wanted_count; i++) {
        const qplan_server_t *s = find (in, in->wanted[i]);
        if (!s)
            return (qplan_step_t){QPLAN_ADD, in->wanted[i]};
        if (s->role != QPLAN_VOTER && caught_up (in, s))
            return (qplan_step_t){QPLAN_PROMOTE, s->id};
    }
    //  3: non-voters nobody wants
    for (size_t i = 0; i < in->count; i++)
        if (in->servers[i].role != QPLAN_VOTER && !wanted (in, in->servers[i].id))
            return (qplan_step_t){QPLAN_REMOVE, in->servers[i].id};
    //  4: shrink, once every wanted member votes
    size_t voters = 0;
    for (size_t i = 0; i < in->count; i++)
        voters += in->servers[i].role == QPLAN_VOTER;
    for (size_t i = 0; i < in->wanted_count; i++)
        if (find (in, in->wanted[i])->role != QPLAN_VOTER)
            return none; //  still catching up
    if (voters <= in->replicas)
        return none;
    bool leader_unwanted = false;
    for (size_t i = 0; i < in->count; i++) {
        const qplan_server_t *s = &in->servers[i];
        if (s->role != QPLAN_VOTER || wanted (in, s->id))
            continue;
        if (s->id != in->leader)
            return (qplan_step_t){QPLAN_REMOVE, s->id};
        leader_unwanted = true;
    }
    if (!leader_unwanted)
        return none; //  more voters than R, all wanted: R was lowered; wanted says who stays
    for (size_t i = 0; i < in->wanted_count; i++) {
        const qplan_server_t *s = find (in, in->wanted[i]);
        if (s->id != in->leader && caught_up (in, s))
            return (qplan_step_t){QPLAN_TRANSFER, s->id};
    }
    return none; //  no successor has caught up yet
}

const char *qplan_action_name (qplan_action_t action)
{
    static const char *const names[] = {"none", "add", "promote", "remove", "transfer"};
    return action >= QPLAN_NONE && action <= QPLAN_TRANSFER ? names[action] : "unknown";
}
