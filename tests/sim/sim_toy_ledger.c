/*  tests/sim/sim_toy_ledger.c - the toy hosts' oracle (see sim_toy.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_toy_int.h"

#define RING 64 //  sends remembered per channel (3.2 s at one per 50 ms)

//  What a sender sent on one channel (a link to one peer, or its topic).
typedef struct {
    int boot;           //  sender incarnation these are from
    uint64_t last;      //  last seq sent
    int64_t when[RING]; //  send times ...
    uint64_t seq[RING]; //  ... of these seqs
    unsigned pos;       //  next ring slot
} tx_t;

//  What one receiver's application got from one sender on one channel.
typedef struct {
    int rboot;           //  receiver incarnation
    int sboot;           //  sender incarnation
    uint64_t last;       //  highest seq delivered
    uint64_t count;      //  messages delivered
    int64_t at;          //  time of the last delivery
    unsigned char *seen; //  bitmap of delivered seqs
    size_t cap;          //  its bytes
} rx_t;

struct toy_ledger {
    int hosts;         //  how many
    unsigned faults;   //  SIM_F_* of the run
    unsigned plant;    //  TOY_PLANT_*
    bool lossless;     //  no fault may lose a message
    tx_t *tx;          //  [from][to][ch] (topic: to == from)
    rx_t *rx;          //  [to][from][ch]
    uint64_t *notices; //  [host]
    bool failed;       //  an application saw something wrong
    int fail_host;     //  whose
    char why[300];     //  what
};

//  The sender record of FROM to TO on CH.
static tx_t *tx_at (toy_ledger_t *self, int from, int to, int ch)
{
    return &self->tx[((size_t)from * (size_t)self->hosts + (size_t)to) * 2 + (size_t)ch];
}

//  The receiver record of TO from FROM on CH.
static rx_t *rx_at (toy_ledger_t *self, int to, int from, int ch)
{
    return &self->rx[((size_t)to * (size_t)self->hosts + (size_t)from) * 2 + (size_t)ch];
}

//  Records the first failure, seen by host TO.
static void ledger_fail (toy_ledger_t *self, int to, const char *fmt, ...)
{
    if (self->failed)
        return;
    self->fail_host = to;
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (self->why, sizeof self->why, fmt, ap);
    va_end (ap);
    self->failed = true;
}

toy_ledger_t *toy_ledger_new (int hosts, unsigned faults, unsigned plant)
{
    toy_ledger_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    size_t n = (size_t)hosts * (size_t)hosts * 2;
    self->hosts = hosts;
    self->faults = faults;
    self->plant = plant;
    self->lossless =
        !(faults & (SIM_F_LOSS | SIM_F_PARTITION | SIM_F_ONEWAY | SIM_F_CRASH | SIM_F_DISK));
    self->tx = calloc (n, sizeof *self->tx);
    self->rx = calloc (n, sizeof *self->rx);
    self->notices = calloc ((size_t)hosts, sizeof *self->notices);
    if (!self->tx || !self->rx || !self->notices)
        toy_ledger_destroy (&self);
    return self;
}

void toy_ledger_destroy (toy_ledger_t **self_p)
{
    toy_ledger_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; self->rx && i < (size_t)self->hosts * (size_t)self->hosts * 2; i++)
        free (self->rx[i].seen);
    free (self->tx);
    free (self->rx);
    free (self->notices);
    free (self);
    *self_p = NULL;
}

unsigned toy_ledger_plant (toy_ledger_t *self)
{
    return self->plant;
}

void toy_ledger_boot (toy_ledger_t *self, int i, int boot)
{
    for (int j = 0; j < self->hosts; j++)
        for (int ch = 0; ch < 2; ch++) {
            *tx_at (self, i, j, ch) = (tx_t){.boot = boot};
            rx_t *r = rx_at (self, i, j, ch);
            free (r->seen);
            *r = (rx_t){.rboot = boot};
        }
}

void toy_ledger_sent (toy_ledger_t *self, int from, int to, bool topic, uint64_t seq, int64_t now)
{
    tx_t *t = tx_at (self, from, topic ? from : to, topic);
    t->last = seq;
    t->when[t->pos % RING] = now;
    t->seq[t->pos % RING] = seq;
    t->pos++;
}

void toy_ledger_notice (toy_ledger_t *self, int i)
{
    self->notices[i]++;
}

int toy_bits (unsigned char **bits, size_t *cap, uint64_t seq, bool mark)
{
    size_t byte = (size_t)(seq / 8);
    if (byte >= *cap) {
        if (!mark)
            return 0;
        size_t grown = *cap ? *cap : 64;
        while (grown <= byte)
            grown *= 2;
        unsigned char *p = realloc (*bits, grown);
        if (!p)
            return -1;
        memset (p + *cap, 0, grown - *cap);
        *bits = p;
        *cap = grown;
    }
    int was = ((*bits)[byte] >> (seq % 8)) & 1;
    if (mark)
        (*bits)[byte] |= (unsigned char)(1u << (seq % 8));
    return was;
}

//  True when R has seen SEQ; marks it (growing the bitmap) when MARK.
static bool seen (rx_t *r, uint64_t seq, bool mark)
{
    return toy_bits (&r->seen, &r->cap, seq, mark) == 1;
}

void toy_ledger_deliver (toy_ledger_t *self, const toy_msg_t *m, int to, int rboot, int64_t now)
{
    const char *ch = m->topic ? "topic" : "link";
    rx_t *r = rx_at (self, to, m->from, m->topic);
    tx_t *t = tx_at (self, m->from, m->topic ? m->from : to, m->topic);
    if (r->rboot != rboot || m->boot > r->sboot) {
        free (r->seen);
        *r = (rx_t){.rboot = rboot, .sboot = m->boot};
    }
    if (m->boot < r->sboot)
        return ledger_fail (self, to, "h%d got a %s message of h%d's old incarnation %d (now %d)",
                            to, ch, m->from, m->boot, r->sboot);
    if (m->boot == t->boot && (m->seq == 0 || m->seq > t->last))
        return ledger_fail (self, to, "h%d got %s seq %llu of h%d, never sent", to, ch,
                            (unsigned long long)m->seq, m->from);
    if (seen (r, m->seq, true))
        return ledger_fail (self, to, "h%d got %s seq %llu of h%d#%d twice", to, ch,
                            (unsigned long long)m->seq, m->from, m->boot);
    if (!(self->faults & SIM_F_REORDER) && r->count && m->seq < r->last)
        return ledger_fail (self, to, "h%d got %s seq %llu of h%d after seq %llu (not FIFO)", to,
                            ch, (unsigned long long)m->seq, m->from, (unsigned long long)r->last);
    if (self->lossless && !(self->faults & SIM_F_REORDER) &&
        ((r->count && m->seq != r->last + 1) || (!r->count && !m->topic && m->seq != 1)))
        return ledger_fail (self, to,
                            "h%d got %s seq %llu of h%d after seq %llu (a gap, no lossy fault)", to,
                            ch, (unsigned long long)m->seq, m->from, (unsigned long long)r->last);
    if (m->seq > r->last)
        r->last = m->seq;
    r->count++;
    r->at = now;
}

//  The last seq of T sent at or before CUTOFF (0: none known).
static uint64_t sent_by (const tx_t *t, int64_t cutoff)
{
    uint64_t best = 0;
    for (unsigned k = 0; k < RING && k < t->pos; k++)
        if (t->when[k] <= cutoff && t->seq[k] > best)
            best = t->seq[k];
    return best;
}

int toy_ledger_check (toy_ledger_t *self, int to, int64_t now, char *msg, size_t len)
{
    if (self->failed && self->fail_host == to) {
        snprintf (msg, len, "%s", self->why);
        return -1;
    }
    if (!self->lossless || (self->faults & SIM_F_PAUSE) || now < 2000)
        return 0;
    //  Nothing lost and nobody paused: what was sent 1 s ago has arrived.
    for (int from = 0; from < self->hosts; from++) {
        rx_t *r = rx_at (self, to, from, 0);
        tx_t *t = tx_at (self, from, to, 0);
        uint64_t due = sent_by (t, now - 1000);
        if (from != to && t->boot == r->sboot && r->count < due) {
            snprintf (msg, len, "h%d got %llu messages of h%d, %llu were sent over 1 s ago", to,
                      (unsigned long long)r->count, from, (unsigned long long)due);
            return -1;
        }
    }
    return 0;
}

int toy_ledger_final (toy_ledger_t *self, sim_t *sim, char *msg, size_t len)
{
    for (int to = 0; to < self->hosts; to++)
        if (toy_ledger_check (self, to, sim_now (sim), msg, len) != 0)
            return -1;
    int64_t now = sim_now (sim);
    for (int to = 0; to < self->hosts; to++)
        for (int from = 0; from < self->hosts; from++)
            for (int ch = 0; ch < 2 && from != to; ch++) {
                rx_t *r = rx_at (self, to, from, ch);
                if (sim_host_up (sim, to) && sim_host_up (sim, from) && r->at < now - 2000) {
                    snprintf (msg, len, "h%d got no %s message of h%d in the last 2 s", to,
                              ch ? "topic" : "link", from);
                    return -1;
                }
            }
    return 0;
}

uint64_t toy_ledger_delivered (toy_ledger_t *self, int from, int to, bool topic)
{
    return rx_at (self, to, from, topic)->count;
}

uint64_t toy_ledger_notices (toy_ledger_t *self, int i)
{
    return self->notices[i];
}
