/*  tests/sim/sim_toy_int.h - between the toy host (sim_toy.c) and its
    ledger (sim_toy_ledger.c). */
#ifndef WEFT_SIM_SIM_TOY_INT_H
#define WEFT_SIM_SIM_TOY_INT_H

#include "sim_toy.h"

//  A toy message as its application sees it.
typedef struct {
    int from;     //  sender host
    int boot;     //  sender incarnation
    uint64_t seq; //  1, 2, ... per channel and incarnation
    bool topic;   //  by pub/sub (else by link)
} toy_msg_t;

//  The planted bugs of the run (TOY_PLANT_*).
unsigned toy_ledger_plant (toy_ledger_t *self);
//  Host I booted as incarnation BOOT: its sends restart, its application forgets.
void toy_ledger_boot (toy_ledger_t *self, int i, int boot);
//  FROM sent SEQ to TO (TOPIC: published it) at NOW.
void toy_ledger_sent (toy_ledger_t *self, int from, int to, bool topic, uint64_t seq, int64_t now);
//  The application of host TO (incarnation RBOOT) got M at NOW.
void toy_ledger_deliver (toy_ledger_t *self, const toy_msg_t *m, int to, int rboot, int64_t now);
//  Host I's XPUB got a subscription notice.
void toy_ledger_notice (toy_ledger_t *self, int i);
//  The per-step check of host TO: 0, or -1 with a message.
int toy_ledger_check (toy_ledger_t *self, int to, int64_t now, char *msg, size_t len);

//  A growable bitmap of seen sequence numbers (*BITS, *CAP bytes): 1 when
//  SEQ was seen, 0 when not; marks it when MARK (growing the bitmap). -1
//  when out of memory.
int toy_bits (unsigned char **bits, size_t *cap, uint64_t seq, bool mark);

#endif
