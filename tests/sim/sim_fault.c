/*  tests/sim/sim_fault.c - the fault plan: drawn from the seed (its own
    stream, so host behaviour never shifts it), printed, queued as events,
    applied (see sim.h and README.md). */
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

static const struct {
    const char *name; //  as on the command line
    unsigned bit;     //  SIM_F_*
} classes[] = {
    {"delay", SIM_F_DELAY},     {"loss", SIM_F_LOSS},           {"dup", SIM_F_DUP},
    {"reorder", SIM_F_REORDER}, {"partition", SIM_F_PARTITION}, {"oneway", SIM_F_ONEWAY},
    {"pause", SIM_F_PAUSE},     {"crash", SIM_F_CRASH},         {"disk", SIM_F_DISK},
};
#define CLASSES (sizeof classes / sizeof classes[0])

int sim_faults_parse (const char *list, unsigned *mask)
{
    *mask = 0;
    if (!list || !*list || !strcmp (list, "none"))
        return 0;
    if (!strcmp (list, "all")) {
        *mask = SIM_F_ALL;
        return 0;
    }
    const char *p = list;
    while (*p) {
        size_t n = strcspn (p, ",");
        size_t c = 0;
        while (c < CLASSES && !(strlen (classes[c].name) == n && !strncmp (classes[c].name, p, n)))
            c++;
        if (c == CLASSES)
            return -1;
        *mask |= classes[c].bit;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

void sim_faults_format (unsigned mask, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (size_t c = 0; c < CLASSES; c++)
        if (mask & classes[c].bit)
            used += (size_t)snprintf (buf + used, used < len ? len - used : 0, "%s%s",
                                      used ? "," : "", classes[c].name);
    if (!mask)
        snprintf (buf, len, "none");
}

//  --- Network faults -----------------------------------------------------------

void sim_block (sim_t *self, int a, int b, bool both)
{
    self->blocked[a][b] = true;
    if (both)
        self->blocked[b][a] = true;
    sim_net_reconcile (self); //  the TCP connections between them break
}

void sim_heal (sim_t *self)
{
    memset (self->blocked, 0, sizeof self->blocked);
    sim_net_reconcile (self); //  SUBs reconnect and send their filters again
}

void sim_set_chaos (sim_t *self, double loss, double dup, bool reorder)
{
    self->loss = loss;
    self->dup = dup;
    self->reorder = reorder;
}

void sim_set_delay (sim_t *self, int a, int b, int64_t lo, int64_t hi)
{
    self->delay_lo[a][b] = lo < 1 ? 1 : lo;
    self->delay_hi[a][b] = hi < self->delay_lo[a][b] ? self->delay_lo[a][b] : hi;
}

//  --- Plan ---------------------------------------------------------------------

//  Writes GROUP as "{0,2}|{1}" (the group, then the rest).
static void format_groups (const sim_t *self, uint32_t group, char *buf, size_t len)
{
    size_t used = 0;
    for (int side = 0; side < 2; side++) {
        used += (size_t)snprintf (buf + used, len - used, "%s{", side ? "|" : "");
        bool first = true;
        for (int i = 0; i < self->hosts && used < len; i++)
            if (((group >> i) & 1) == (side == 0)) {
                used += (size_t)snprintf (buf + used, len - used, "%s%d", first ? "" : ",", i);
                first = false;
            }
        if (used < len)
            used += (size_t)snprintf (buf + used, len - used, "}");
        if (used >= len)
            return;
    }
}

//  One line describing F.
static void describe (const sim_t *self, const sim_fault_t *f, char *buf, size_t len)
{
    char groups[160];
    switch (f->kind) {
    case SIM_FAULT_PARTITION:
    case SIM_FAULT_ONEWAY:
        format_groups (self, f->group, groups, sizeof groups);
        snprintf (buf, len, "%s %s", f->kind == SIM_FAULT_ONEWAY ? "oneway" : "partition", groups);
        break;
    case SIM_FAULT_HEAL:
        snprintf (buf, len, "heal");
        break;
    default: {
        static const char *names[] = {[SIM_FAULT_PAUSE] = "pause",
                                      [SIM_FAULT_RESUME] = "resume",
                                      [SIM_FAULT_CRASH] = "crash",
                                      [SIM_FAULT_WIPE] = "crash+wipe",
                                      [SIM_FAULT_REBOOT] = "reboot"};
        snprintf (buf, len, "%s h%d%s", names[f->kind], f->host,
                  f->kind == SIM_FAULT_CRASH && f->lose ? " power-loss" : "");
    }
    }
}

//  Queues F at T and prints it.
static void plan (sim_t *self, FILE *out, int64_t t, sim_fault_t f)
{
    if (out) {
        char line[200];
        describe (self, &f, line, sizeof line);
        fprintf (out, "plan %8lld %s\n", (long long)t, line);
    }
    sim_push_fault (self, t, f);
}

//  The continuous faults: delays, loss, duplication, reordering.
static void plan_network (sim_t *self, sim_rng_t *rng, FILE *out)
{
    unsigned m = self->config.faults;
    for (int a = 0; m & SIM_F_DELAY && a < self->hosts; a++)
        for (int b = 0; b < self->hosts; b++) {
            if (a == b)
                continue; //  loopback stays at 1 ms
            int64_t lo = sim_rng_range (rng, 1, 10);
            sim_set_delay (self, a, b, lo, lo + sim_rng_range (rng, 0, 40));
            if (out)
                fprintf (out, "plan delay h%d>h%d %lld..%lld ms\n", a, b,
                         (long long)self->delay_lo[a][b], (long long)self->delay_hi[a][b]);
        }
    double loss = m & SIM_F_LOSS ? (double)sim_rng_range (rng, 1, 30) / 1000 : 0;
    double dup = m & SIM_F_DUP ? (double)sim_rng_range (rng, 1, 30) / 1000 : 0;
    sim_set_chaos (self, loss, dup, m & SIM_F_REORDER);
    if (out && (loss > 0 || dup > 0 || self->reorder))
        fprintf (out, "plan loss %.3f dup %.3f reorder %s\n", loss, dup,
                 self->reorder ? "on" : "off");
}

void sim_plan_faults (sim_t *self, FILE *out)
{
    sim_rng_t rng;
    sim_rng_seed (&rng, self->config.seed, 2);
    plan_network (self, &rng, out);
    unsigned kinds[5], nkinds = 0, m = self->config.faults;
    const unsigned sched[] = {SIM_F_PARTITION, SIM_F_ONEWAY, SIM_F_PAUSE, SIM_F_CRASH, SIM_F_DISK};
    for (size_t k = 0; k < 5; k++)
        if ((m & sched[k]) && (self->hosts >= 2 || sched[k] >= SIM_F_PAUSE))
            kinds[nkinds++] = sched[k];
    if (!nkinds || self->hosts < 1)
        return;
    //  One fault at a time; each ends (heal, resume, reboot) at least 5 s
    //  before the end so the run can show that the fabric recovers.
    int64_t end = self->config.duration - 5000;
    int64_t t = sim_rng_range (&rng, 1000, 5000);
    while (t < end) {
        unsigned kind = kinds[sim_rng_range (&rng, 0, nkinds - 1)];
        int64_t dur = sim_rng_range (&rng, 100, 4000);
        if (t + dur > end)
            dur = end - t;
        sim_fault_t f = {.host = (int)sim_rng_range (&rng, 0, self->hosts - 1)};
        sim_fault_t done = {.host = f.host};
        if (kind == SIM_F_PARTITION || kind == SIM_F_ONEWAY) {
            f.kind = kind == SIM_F_ONEWAY ? SIM_FAULT_ONEWAY : SIM_FAULT_PARTITION;
            f.group = (uint32_t)sim_rng_range (&rng, 1, ((int64_t)1 << self->hosts) - 2);
            done.kind = SIM_FAULT_HEAL;
        } else if (kind == SIM_F_PAUSE) {
            f.kind = SIM_FAULT_PAUSE;
            done.kind = SIM_FAULT_RESUME;
        } else {
            f.kind = kind == SIM_F_DISK ? SIM_FAULT_WIPE : SIM_FAULT_CRASH;
            f.lose = kind == SIM_F_CRASH && sim_rng_chance (&rng, 0.5);
            done.kind = SIM_FAULT_REBOOT;
        }
        plan (self, out, t, f);
        plan (self, out, t + dur, done);
        int64_t calm = self->config.calm > 0 ? self->config.calm : 500;
        t += dur + sim_rng_range (&rng, calm, calm + 4500);
    }
}

void sim_fault_apply (sim_t *self, const sim_fault_t *f)
{
    char line[200];
    describe (self, f, line, sizeof line);
    sim_trace (self, "fault %s", line);
    self->stats.faults++;
    switch (f->kind) {
    case SIM_FAULT_PARTITION:
    case SIM_FAULT_ONEWAY:
        for (int a = 0; a < self->hosts; a++)
            for (int b = 0; b < self->hosts; b++)
                if (((f->group >> a) & 1) && !((f->group >> b) & 1))
                    sim_block (self, a, b, f->kind == SIM_FAULT_PARTITION);
        break;
    case SIM_FAULT_HEAL:
        sim_heal (self);
        break;
    case SIM_FAULT_PAUSE:
        sim_pause (self, f->host);
        break;
    case SIM_FAULT_RESUME:
        sim_resume (self, f->host);
        break;
    case SIM_FAULT_CRASH:
    case SIM_FAULT_WIPE:
        sim_crash (self, f->host, f->lose, f->kind == SIM_FAULT_WIPE);
        break;
    case SIM_FAULT_REBOOT:
        sim_reboot (self, f->host);
        break;
    }
    sim_net_reconcile (self);
}
