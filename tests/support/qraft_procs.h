/*  tests/support/qraft_procs.h - fault tests of the Raft queue engine with
    real processes (tests/integration/test_qraft_*.c).

    A fabric of weftd members on loopback (a private beacon port and
    cluster, fast intervals: 200 ms beacons, 1.2 s expiry), each with a
    journal and `--set queues.engine=raft`, its logs (level info) in
    <dir>/<name>.log; and, in the test process, a client node of the same
    engine that sends with weft_send_async (every token's outcome is kept)
    and asks members for their status (weft_peer_status, parsed with
    jansson). What was sent is then received with the `weft recv` tool and
    counted: confirmed, delivered (distinct), lost (confirmed, never
    delivered) and duplicates, printed on stderr.

    Every wait has a deadline; nothing sleeps. Failures abort the test
    (Criterion assertions) unless a function says it returns the outcome.
    QP_KEEP=1 in the environment keeps the directory (journals and logs).
*/
#ifndef WEFT_TEST_QRAFT_PROCS_H
#define WEFT_TEST_QRAFT_PROCS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemons.h"
#include "weft.h"

#define QP_MAX    6 //  members a fabric starts at most (restarts count)
#define QP_VOTERS 8 //  voters a group view keeps

//  One test's fabric.
typedef struct {
    uint16_t port;               //  beacon port
    char cluster[48];            //  cluster name
    char dir[64];                //  journals and logs
    dm_daemon_t members[QP_MAX]; //  started members (pid 0: stopped)
    char data[QP_MAX][96];       //  each one's journal directory
    size_t count;                //  used entries
    weft_node_t *client;         //  the test's client node
} qp_fabric_t;

//  What one member says of one queue's group.
typedef struct {
    char role[16];             //  "leader", "follower" ("" when it has none)
    bool serving;              //  it serves as the leader
    char leader[40];           //  the leader it knows ("" none)
    long long term;            //  its term
    size_t voters;             //  voters of the group
    char voter[QP_VOTERS][40]; //  their uuids
    long long commit;          //  its commit index
    long long lag_max;         //  (leader) most entries a follower lacks
    size_t lagging;            //  (leader) followers that lack entries
} qp_group_t;

//  The outcome of a run of sends (indexed 0..total-1).
typedef struct {
    int total;     //  messages
    uint64_t base; //  token of message 0
    int sent;      //  messages handed to weft_send_async
    char *state;   //  per message: 0 pending, 1 confirmed, 2 failed
    int confirmed; //  confirms with status 0
    int failed;    //  confirms with another status
} qp_sends_t;

//  The counts of a run, after draining the queue.
typedef struct {
    int confirmed;  //  sends confirmed
    int delivered;  //  distinct messages received
    int lost;       //  confirmed but never received
    int duplicates; //  deliveries beyond the first of a message
} qp_counts_t;

//  Prepares F (port, cluster named after PREFIX, directory); starts nothing.
void qp_init (qp_fabric_t *f, const char *prefix);

//  Stops the client and every member still running; removes the directory.
void qp_fini (qp_fabric_t *f);

//  Starts member NAME (journal in <dir>/NAME, kept across restarts of NAME
//  unless removed) and returns its index.
int qp_member_start (qp_fabric_t *f, const char *name);

//  Starts COUNT members m0.., waits until each saw the others join, starts
//  the client and waits until it sees them.
void qp_start (qp_fabric_t *f, size_t count);

//  Kills member I with SIGKILL and reaps it.
void qp_kill (qp_fabric_t *f, int i);

//  Number of members running.
size_t qp_live (const qp_fabric_t *f);

//  Paces a polling loop: waits 50 ms (between two looks at the members,
//  which change without an event the test could wait on).
void qp_pace (void);

//  Reads member I's view of QUEUE's group into G within TIMEOUT_MS; false
//  when it did not answer or has no such group.
bool qp_group (qp_fabric_t *f, int i, const char *queue, qp_group_t *g, int timeout_ms);

//  The index of the running member that says it is QUEUE's serving leader,
//  polled until TIMEOUT_MS; -1 if none by then.
int qp_wait_leader (qp_fabric_t *f, const char *queue, int timeout_ms);

//  True when exactly one running member is QUEUE's leader and every running
//  member names it as the leader with the same term (stored in AGREED).
bool qp_agree (qp_fabric_t *f, const char *queue, qp_group_t *agreed);

//  True when running member LEADER leads QUEUE and every follower has all
//  its entries (lag 0), polled until TIMEOUT_MS; its last view in G.
bool qp_wait_caught_up (qp_fabric_t *f, int leader, const char *queue, qp_group_t *g,
                        int timeout_ms);

//  True when G's voters are exactly COUNT running members.
bool qp_voters_live (const qp_fabric_t *f, const qp_group_t *g, size_t count);

//  Sends the warm-up message of QUEUE (blocking: founds the group).
void qp_warmup (qp_fabric_t *f, const char *queue);

//  Prepares S for TOTAL messages; qp_sends_fini frees it.
void qp_sends_init (qp_sends_t *s, int total);
void qp_sends_fini (qp_sends_t *s);

//  Sends message S->sent (body: its number) to QUEUE, waiting while the
//  window is full (up to 60 s); WAIT (may be NULL) is called with CTX on
//  each turn of that wait.
void qp_send_next (qp_fabric_t *f, qp_sends_t *s, const char *queue, void (*wait) (void *),
                   void *ctx);

//  Reads the confirms that arrived, waiting up to TIMEOUT_MS for the first.
void qp_collect (qp_fabric_t *f, qp_sends_t *s, int timeout_ms);

//  Collects confirms until every message sent was settled, up to TIMEOUT_MS.
void qp_settle (qp_fabric_t *f, qp_sends_t *s, int timeout_ms);

//  Receives QUEUE with `weft recv` until every confirmed message came (or
//  a run brought nothing new), counts, and prints the counts as
//  "qraft LABEL: sent N, confirmed N, failed N, delivered N, lost N, duplicates N".
qp_counts_t qp_drain (qp_fabric_t *f, const qp_sends_t *s, const char *queue, const char *label);

//  Prints, on stderr, every running member's view of QUEUE and the last
//  LINES lines of each member's log (for a failing check).
void qp_dump (qp_fabric_t *f, const char *queue, int lines);

//  Starts N members, warms QUEUE up and waits for its leader: its index (fails the test
//  when there is none within 10 s).
int qp_ready (qp_fabric_t *f, int n, const char *queue);

#endif
