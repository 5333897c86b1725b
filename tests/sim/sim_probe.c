/*  tests/sim/sim_probe.c - the probe host (see sim_probe.h). */
#include <criterion/criterion.h>
#include <string.h>

#include "sim_probe.h"
#include "sim_world.h"

static void *probe_boot (sim_t *sim, int index, world_t *w, void *arg)
{
    probe_t *p = calloc (1, sizeof *p);
    p->w = w;
    p->env = arg;
    world_opts_t opts = {.rcvhwm = p->env->rcvhwm};
    char addr[16], bcast[16];
    uint16_t port;
    cr_assert_eq (w->ops->resolve (w, "any", addr, bcast, NULL, 0), 0);
    cr_assert_eq (w->ops->listen (w, WORLD_ROUTER, addr, 0, &opts, &port, NULL, 0), 0);
    cr_assert_eq (port, 40000);
    cr_assert_eq (w->ops->listen (w, WORLD_XPUB, addr, 0, &opts, &port, NULL, 0), 0);
    cr_assert_eq (port, 40001);
    cr_assert_eq (w->ops->listen (w, WORLD_SUB, NULL, 0, &opts, NULL, NULL, 0), 0);
    cr_assert_eq (w->ops->beacon_open (w, addr, bcast, 5670, NULL, 0), 0);
    return p;
}

static void probe_turn (void *host)
{
    probe_t *p = host;
    p->turns++;
    for (int input = 0; input < WORLD_INPUTS; input++) {
        zmq_msg_t f[3];
        size_t n;
        char from[16] = "";
        int rc;
        while ((rc = p->w->ops->recv (p->w, input, f, 3, &n, from)) != -1) {
            cr_assert_eq (rc, 0);
            cr_assert_lt (p->nrec, RECS);
            rec_t *r = &p->rec[p->nrec++];
            *r = (rec_t){.input = input, .n = n};
            memcpy (r->from, from, sizeof from);
            for (size_t i = 0; i < n; i++) {
                size_t len = zmq_msg_size (&f[i]) < 63 ? zmq_msg_size (&f[i]) : 63;
                memcpy (r->f[i], zmq_msg_data (&f[i]), len);
            }
            world_frames_close (f, n);
        }
    }
}

static int64_t probe_deadline (void *host)
{
    return SIM_NEVER;
}

static void probe_kill (void *host)
{
    probe_t *p = host;
    p->env->kills[sim_world_index (p->w)]++;
    free (p);
}

static void probe_stop (void *host)
{
    probe_t *p = host;
    p->w->ops->close (p->w);
    free (p);
}

static void probe_crashed (void *arg, int index, bool lose)
{
    env_t *env = arg;
    env->crashes[index]++;
    env->lost[index] = lose;
}

static void probe_wiped (void *arg, int index)
{
    ((env_t *)arg)->wipes[index]++;
}

const sim_host_ops_t probe_ops = {
    .name = "probe",
    .boot = probe_boot,
    .turn = probe_turn,
    .deadline = probe_deadline,
    .kill = probe_kill,
    .stop = probe_stop,
    .on_crash = probe_crashed,
    .wipe = probe_wiped,
};

//  A sim of N probes sharing ENV, no faults.
sim_t *probes (int n, env_t *env, uint64_t seed)
{
    sim_config_t config = {.seed = seed, .hosts = n};
    sim_t *sim = sim_new (&config);
    cr_assert_not_null (sim);
    for (int i = 0; i < n; i++)
        cr_assert_eq (sim_add_host (sim, &probe_ops, env), i);
    return sim;
}

probe_t *probe (sim_t *sim, int i)
{
    return sim_host (sim, i);
}

//  Host A sends "<text>" on LINK.
int say (sim_t *sim, int a, world_link_t *link, const char *text)
{
    world_t *w = sim_host_world (sim, a);
    zmq_msg_t f;
    world_frame_copy (&f, text, strlen (text));
    return w->ops->link_send (w, link, &f, 1);
}

//  A link from A to B's ROUTER with routing id "h<A>".
world_link_t *link_to (sim_t *sim, int a, int b)
{
    char ep[64], id[8];
    snprintf (ep, sizeof ep, "tcp://198.18.0.%d:40000", b + 1);
    snprintf (id, sizeof id, "h%d", a);
    world_t *w = sim_host_world (sim, a);
    world_link_t *link = w->ops->link_open (w, ep, id, strlen (id), NULL);
    cr_assert_not_null (link);
    return link;
}

//  Messages of INPUT probe I recorded.
int count (sim_t *sim, int i, int input)
{
    int c = 0;
    for (int k = 0; k < probe (sim, i)->nrec; k++)
        c += probe (sim, i)->rec[k].input == input;
    return c;
}

void finish (sim_t **sim_p)
{
    sim_stop_all (*sim_p);
    sim_destroy (sim_p);
}
