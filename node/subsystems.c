/*  node/subsystems.c - the subsystems this build has, in slot order. The
    only file that names them all: the core reads this table and never
    includes a subsystem's header (see node/core/core.h).

    To add a subsystem: give it a slot in subsys_id_t (core.h), a folder with
    its code and one exported subsystem_t, and a line here.
*/
#include "node/core/core.h"

extern const subsystem_t durable_subsystem;
extern const subsystem_t pubsub_subsystem;
extern const subsystem_t queues_subsystem;
extern const subsystem_t membership_subsystem;

const subsystem_t *const node_subsystems[SUBSYS_MAX] = {
    [SUBSYS_DURABLE] = &durable_subsystem,
    [SUBSYS_PUBSUB] = &pubsub_subsystem,
    [SUBSYS_QUEUES] = &queues_subsystem,
    [SUBSYS_MEMBERSHIP] = &membership_subsystem,
};
