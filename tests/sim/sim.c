/*  tests/sim/sim.c - the engine: virtual clock, event heap, host slots,
    steps, the trace and its hash (see sim.h). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME  0x100000001b3ULL

//  --- Trace ------------------------------------------------------------------

//  Folds LEN bytes into the running hash.
static void hash_bytes (sim_t *self, const char *data, size_t len)
{
    uint64_t h = self->hash;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)data[i];
        h *= FNV_PRIME;
    }
    self->hash = h;
}

//  Formats "<time> <line>", hashes it with its newline, prints it if asked.
void sim_trace (sim_t *self, const char *fmt, ...)
{
    char line[512];
    int n = snprintf (line, sizeof line, "%8lld ", (long long)self->now);
    va_list ap;
    va_start (ap, fmt);
    int m = vsnprintf (line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end (ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    line[len] = 0;
    hash_bytes (self, line, len);
    self->stats.events++;
    if (self->config.trace)
        fputs (line, self->config.trace);
}

//  Records the first failure and traces it.
void sim_fail (sim_t *self, const char *fmt, ...)
{
    if (self->failed)
        return;
    int n = snprintf (self->failure, sizeof self->failure, "t=%lld ms: ", (long long)self->now);
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (self->failure + n, sizeof self->failure - (size_t)n, fmt, ap);
    va_end (ap);
    self->failed = true;
    sim_trace (self, "FAIL %s", self->failure);
}

//  --- Heap -------------------------------------------------------------------

//  True when event A comes before event B.
static bool before (const sim_event_t *a, const sim_event_t *b)
{
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

//  Inserts EV; false when out of memory.
static bool heap_push (sim_t *self, sim_event_t ev)
{
    if (self->heap_len == self->heap_cap) {
        size_t cap = self->heap_cap ? self->heap_cap * 2 : 1024;
        sim_event_t *heap = realloc (self->heap, cap * sizeof *heap);
        if (!heap)
            return false;
        self->heap = heap;
        self->heap_cap = cap;
    }
    ev.seq = self->seq++;
    size_t i = self->heap_len++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before (&ev, &self->heap[parent]))
            break;
        self->heap[i] = self->heap[parent];
        i = parent;
    }
    self->heap[i] = ev;
    return true;
}

//  Removes the first event into *EV (the heap must not be empty).
static void heap_pop (sim_t *self, sim_event_t *ev)
{
    *ev = self->heap[0];
    sim_event_t last = self->heap[--self->heap_len];
    size_t i = 0, n = self->heap_len;
    while (true) {
        size_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && before (&self->heap[child + 1], &self->heap[child]))
            child++;
        if (!before (&self->heap[child], &last))
            break;
        self->heap[i] = self->heap[child];
        i = child;
    }
    if (n)
        self->heap[i] = last;
}

//  Queues a delivery; the network's in-flight cap bounds memory.
bool sim_push_msg (sim_t *self, int64_t time, sim_msg_t *msg)
{
    if (self->inflight >= SIM_INFLIGHT_MAX)
        return false;
    if (!heap_push (self, (sim_event_t){.time = time, .msg = msg}))
        return false;
    self->inflight++;
    return true;
}

//  Queues a fault (a plan is small: out of memory fails the run).
void sim_push_fault (sim_t *self, int64_t time, sim_fault_t fault)
{
    if (!heap_push (self, (sim_event_t){.time = time, .fault = fault}))
        sim_fail (self, "out of memory queueing a fault");
}

//  --- Life -------------------------------------------------------------------

sim_t *sim_new (const sim_config_t *config)
{
    if (config->hosts < 0 || config->hosts > SIM_HOSTS_MAX)
        return NULL;
    sim_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    if (self->config.duration <= 0)
        self->config.duration = 60000;
    self->hash = FNV_OFFSET;
    sim_rng_seed (&self->net_rng, config->seed, 1);
    for (int a = 0; a < SIM_HOSTS_MAX; a++)
        for (int b = 0; b < SIM_HOSTS_MAX; b++)
            self->delay_lo[a][b] = self->delay_hi[a][b] = 1;
    sim_trace (self, "sim seed=%llu hosts=%d faults=0x%x", (unsigned long long)config->seed,
               config->hosts, config->faults);
    return self;
}

void sim_destroy (sim_t **self_p)
{
    sim_t *self = *self_p;
    if (!self)
        return;
    for (int i = 0; i < self->hosts; i++) {
        sim_slot_t *slot = &self->slot[i];
        if (slot->host)
            slot->ops->kill (slot->host);
        slot->host = NULL;
        sim_world_free (&slot->world);
    }
    for (size_t i = 0; i < self->heap_len; i++)
        sim_msg_free (&self->heap[i].msg);
    free (self->heap);
    free (self);
    *self_p = NULL;
}

//  Boots slot I on a fresh world; 0 or -1 (the run fails).
static int boot (sim_t *self, int i)
{
    sim_slot_t *slot = &self->slot[i];
    slot->boots++;
    slot->world = sim_world_new (self, i, slot->boots, slot->wall_offset_us);
    if (slot->world)
        slot->host = slot->ops->boot (self, i, &slot->world->base, slot->arg);
    self->stats.boots++;
    sim_trace (self, "boot h%d #%d %s", i, slot->boots, slot->host ? "ok" : "failed");
    if (!slot->host) {
        sim_world_free (&slot->world);
        sim_fail (self, "host %d failed to boot", i);
        return -1;
    }
    slot->paused = false;
    slot->woken = true;
    slot->last_turn = self->now - 1;
    sim_net_reconcile (self);
    return 0;
}

int sim_add_host (sim_t *self, const sim_host_ops_t *ops, void *arg)
{
    if (self->hosts >= SIM_HOSTS_MAX)
        return -1;
    int i = self->hosts++;
    sim_slot_t *slot = &self->slot[i];
    *slot = (sim_slot_t){.ops = ops, .arg = arg};
    //  A fixed epoch per host, skewed by up to +-5 ms.
    sim_rng_t rng;
    sim_rng_seed (&rng, self->config.seed, 1000 + (uint64_t)i);
    slot->wall_offset_us = 1700000000000000LL + sim_rng_range (&rng, -5000, 5000);
    return boot (self, i) == 0 ? i : -1;
}

//  --- Steps ------------------------------------------------------------------

//  When slot I next wants a turn without input (never while down or paused).
static int64_t host_due (sim_t *self, int i)
{
    sim_slot_t *slot = &self->slot[i];
    if (!slot->host || slot->paused)
        return SIM_NEVER;
    int64_t d = slot->ops->deadline (slot->host);
    if (slot->woken && d > self->now)
        d = self->now; //  input waiting (e.g. queued while paused)
    if (d <= slot->last_turn)
        d = slot->last_turn + 1;
    return d;
}

void sim_wake (sim_t *self, int i)
{
    self->slot[i].woken = true;
}

//  Handles every event due now.
static void run_events (sim_t *self)
{
    while (self->heap_len && self->heap[0].time <= self->now && !self->failed) {
        sim_event_t ev;
        heap_pop (self, &ev);
        if (ev.msg) {
            self->inflight--;
            sim_net_deliver (self, ev.msg);
        } else
            sim_fault_apply (self, &ev.fault);
    }
}

//  Gives a turn to every host with input or a deadline due, in index order.
static void run_turns (sim_t *self)
{
    for (int i = 0; i < self->hosts && !self->failed; i++) {
        sim_slot_t *slot = &self->slot[i];
        if (!slot->host || slot->paused || slot->last_turn >= self->now)
            continue;
        if (!slot->woken && host_due (self, i) > self->now)
            continue;
        slot->woken = false;
        slot->last_turn = self->now;
        self->stats.turns++;
        sim_trace (self, "turn h%d", i);
        slot->ops->turn (slot->host);
    }
}

//  Runs every host's check hook.
static void run_checks (sim_t *self)
{
    for (int i = 0; i < self->hosts && !self->failed; i++) {
        sim_slot_t *slot = &self->slot[i];
        char msg[400] = "";
        if (slot->host && slot->ops->check && slot->ops->check (slot->host, msg, sizeof msg) != 0)
            sim_fail (self, "host %d: %s", i, msg);
    }
}

bool sim_step (sim_t *self, int64_t limit)
{
    if (self->failed)
        return false;
    int64_t next = self->heap_len ? self->heap[0].time : SIM_NEVER;
    for (int i = 0; i < self->hosts; i++) {
        int64_t d = host_due (self, i);
        if (d < next)
            next = d;
    }
    if (next == SIM_NEVER || next > limit)
        return false;
    if (next > self->now)
        self->now = next;
    run_events (self);
    run_turns (self);
    run_checks (self);
    sim_net_reconcile (self);
    return !self->failed;
}

int sim_run_until (sim_t *self, int64_t t)
{
    while (sim_step (self, t))
        ;
    if (!self->failed && self->now < t)
        self->now = t;
    return self->failed ? -1 : 0;
}

void sim_stop_all (sim_t *self)
{
    for (int i = 0; i < self->hosts; i++) {
        sim_slot_t *slot = &self->slot[i];
        if (!slot->host)
            continue;
        sim_trace (self, "stop h%d", i);
        slot->ops->stop (slot->host);
        slot->host = NULL;
        sim_net_host_down (self, i);
        sim_world_free (&slot->world);
    }
}

//  --- Host faults ------------------------------------------------------------

void sim_pause (sim_t *self, int i)
{
    self->slot[i].paused = true;
}

void sim_resume (sim_t *self, int i)
{
    self->slot[i].paused = false;
    self->slot[i].woken = true;
}

void sim_crash (sim_t *self, int i, bool lose_unsynced, bool wipe)
{
    sim_slot_t *slot = &self->slot[i];
    if (!slot->host)
        return;
    self->stats.kills++;
    sim_trace (self, "kill h%d", i);
    slot->ops->kill (slot->host);
    slot->host = NULL;
    sim_net_host_down (self, i);
    sim_world_free (&slot->world);
    if (wipe && slot->ops->wipe)
        slot->ops->wipe (slot->arg, i);
    else if (!wipe && slot->ops->on_crash)
        slot->ops->on_crash (slot->arg, i, lose_unsynced);
}

int sim_reboot (sim_t *self, int i)
{
    if (self->slot[i].host)
        return 0;
    return boot (self, i);
}

//  --- State ------------------------------------------------------------------

int64_t sim_now (sim_t *self)
{
    return self->now;
}

int sim_hosts (sim_t *self)
{
    return self->hosts;
}

const sim_config_t *sim_config (sim_t *self)
{
    return &self->config;
}

void *sim_host (sim_t *self, int i)
{
    return i >= 0 && i < self->hosts ? self->slot[i].host : NULL;
}

world_t *sim_host_world (sim_t *self, int i)
{
    return i >= 0 && i < self->hosts && self->slot[i].world ? &self->slot[i].world->base : NULL;
}

bool sim_host_up (sim_t *self, int i)
{
    return sim_host (self, i) != NULL;
}

int sim_host_boots (sim_t *self, int i)
{
    return i >= 0 && i < self->hosts ? self->slot[i].boots : 0;
}

uint64_t sim_hash (sim_t *self)
{
    return self->hash;
}

const sim_stats_t *sim_stats (sim_t *self)
{
    return &self->stats;
}

const char *sim_failure (sim_t *self)
{
    return self->failed ? self->failure : NULL;
}
