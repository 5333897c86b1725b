/*  node/raft/rg_int.h - the inside of the Raft room, shared by its files
    (rgroup.c the door, rg_io.c libraft's io, rg_store.c the keys, rg_codec.c
    the wire). Nothing outside node/raft/ includes it. */
#ifndef WEFT_NODE_RAFT_RG_INT_H
#define WEFT_NODE_RAFT_RG_INT_H

#include <raft.h>

#include "node/raft/rgroup.h"

//  A request libraft gave the io, waiting for stage / committed.
typedef enum { RG_OP_APPEND, RG_OP_TRUNCATE, RG_OP_PUT, RG_OP_GET, RG_OP_SEND } rg_op_kind_t;

typedef struct rg_op {
    rg_op_kind_t kind;  //  what it is
    bool staged;        //  its writes are in the host's batch (or it has none)
    struct rg_op *next; //  the next in submission order
    union {
        struct {
            struct raft_io_append *req;       //  libraft's request
            const struct raft_entry *entries; //  borrowed until the callback
            unsigned n;                       //  how many
            uint64_t first;                   //  index of entries[0]
            uint64_t term;                    //  our term when libraft asked
        } append;
        uint64_t truncate; //  delete entries from this index on
        struct {
            struct raft_io_snapshot_put *req; //  libraft's request
            const struct raft_snapshot *snap; //  borrowed until the callback
            unsigned trailing;                //  entries to keep before it
        } put;
        struct raft_io_snapshot_get *get; //  libraft's request
        struct {
            struct raft_io_send *req; //  libraft's request
            int status;               //  its result
        } send;
    };
} rg_op_t;

#define RG_KEY_MAX 80 //  longest key: prefix (<= 63) + 8 + 1 + 8

struct rgroup {
    rg_env_t env;             //  the host's environment (copied)
    uint64_t id;              //  group id
    uint64_t me;              //  our member id
    rg_fsm_ops_t fsm_ops;     //  the state machine
    void *fsm_arg;            //  its argument
    struct raft raft;         //  libraft's state
    struct raft_io io;        //  our io, io.impl = this
    struct raft_fsm fsm;      //  adapter to fsm_ops
    struct raft_tracer quiet; //  a disabled tracer (libraft's reads LIBRAFT_TRACE)
    bool inited;              //  raft_init done
    bool started;             //  raft_start done
    bool failed;              //  a write failed: only destroy is left
    char address[24];         //  our id in decimal, libraft's "address"
    char peer_address[24];    //  the sender's, during a receive

    //  The io.
    raft_io_tick_cb tick_cb; //  libraft's tick
    raft_io_recv_cb recv_cb; //  libraft's receive
    unsigned tick_ms;        //  tick interval
    int64_t next_tick;       //  when to tick next
    rg_op_t *head, *tail;    //  requests, in submission order
    uint64_t next_index;     //  index of the next entry appended (as submitted)
    uint64_t disk_first;     //  first entry index on the store (as staged)
    uint64_t disk_next;      //  one past the last (as staged)
    uint64_t meta_term;      //  the term on the store (set_vote rewrites it)
    uint64_t appending_term; //  during an append's callback: its term

    //  Requests of the door (one at a time each, as libraft allows).
    struct raft_change change; //  membership change
    rg_done_cb *change_cb;     //  its callback
    void *change_arg;
    bool change_busy;
    struct raft_transfer transfer; //  leadership transfer
    rg_done_cb *transfer_cb;       //  its callback
    void *transfer_arg;
    uint64_t transfer_to;
    bool transfer_busy;

    //  Proposals (rg_propose.c): a window of one round at a time.
    struct rg_prop *queue_head, *queue_tail; //  waiting for the window
    size_t queued, queued_bytes;             //  how many, and their payload
    size_t inflight;                         //  given to libraft, not called back
    int depth;                               //  > 0 while inside libraft
    struct raft_barrier barrier;             //  a new leader's first entry
    bool barrier_busy;                       //  in flight
    uint64_t barrier_term;                   //  the term it was proposed in

    rg_stats_t stats;           //  counters
    uint8_t prefix[RG_KEY_MAX]; //  key prefix: env prefix + group id
    size_t prefix_len;
};

//  rgroup.c
int rg_code (int raft_rc); //  a libraft code as an RG_E* code

//  rg_propose.c: hands waiting proposals to libraft when the window is
//  open (called when control comes back from libraft); fails them all.
void rg_propose_pump (rgroup_t *self);
void rg_propose_fail_all (rgroup_t *self, int code);

//  rg_propose.c: hands waiting proposals to libraft when the window is
//  open (called when control comes back from libraft); fails them all.
void rg_propose_pump (rgroup_t *self);
void rg_propose_fail_all (rgroup_t *self, int code);

//  rg_io.c: fills self->io.
void rg_io_init (rgroup_t *self);
//  Fires every queued callback with RAFT_CANCELED (at close), frees the ops.
void rg_io_cancel_all (rgroup_t *self);

//  rg_store.c
size_t rgs_key (const rgroup_t *self, char kind, uint64_t index, uint8_t *out);
bool rgs_pristine (rgroup_t *self);
int rgs_write_meta (rgroup_t *self, uint64_t term, uint64_t vote);
int rgs_bootstrap (rgroup_t *self, const struct raft_configuration *conf);
int rgs_load (rgroup_t *self, raft_term *term, raft_id *vote, struct raft_snapshot **snap,
              raft_index *start, struct raft_entry **entries, size_t *n);
void rgs_stage_append (rgroup_t *self, store_batch_t *b, const rg_op_t *op);
void rgs_stage_truncate (rgroup_t *self, store_batch_t *b, uint64_t index);
int rgs_stage_put (rgroup_t *self, store_batch_t *b, const rg_op_t *op);
int rgs_read_snapshot (rgroup_t *self, struct raft_snapshot **out);

//  rg_codec.c: the wire. Encodes M into *OUT (malloc'ed) of *LEN bytes,
//  cutting AppendEntries to the caps (*CLIPPED set). 0 or RG_E*.
int rgc_encode (const struct raft_message *m, uint8_t **out, size_t *len, bool *clipped);
//  Decodes BUF into M (allocations with raft_malloc, handed to libraft).
//  0 or RG_EPROTO / RG_ENOMEM, allocating nothing then.
int rgc_decode (const uint8_t *buf, size_t len, struct raft_message *m);
//  Frees what rgc_decode allocated in M (when libraft did not take it).
void rgc_message_free (struct raft_message *m);
//  Validates libraft's encoding of a configuration (entries of type
//  RAFT_CHANGE, snapshots) and decodes it into C (initialized). 0 or code.
int rgc_conf_decode (const void *buf, size_t len, struct raft_configuration *c);

//  Little-endian helpers.
static inline void rg_put64 (uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint64_t rg_get64 (const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}
static inline void rg_put32 (uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t rg_get32 (const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#endif
