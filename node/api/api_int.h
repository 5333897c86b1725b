/*  node/api/api_int.h - the application-side handles behind weft.h, shared by
    api.c (node), api_msg.c (messages, peers), api_queue.c (queues) and
    api_durable.c (durable topics). */
#ifndef WEFT_NODE_API_INT_H
#define WEFT_NODE_API_INT_H

#include <czmq.h>
#include <pthread.h>

#include "node/core/node.h"

typedef enum { STATE_NEW, STATE_RUNNING, STATE_STOPPED } node_state_t;

struct weft_node {
    node_t *node;       //  the node; owned, freed at destroy; never read after start
    board_t *board;     //  shared with the node (board.h): window, results, journal health
    weft_config_t *cfg; //  our copy of the configuration
    char uuid[WIRE_UUID_SIZE * 2 + 1]; //  the node's UUID (from START once started)
    char name[WIRE_NAME_MAX + 1];      //  the node's name
    world_t *world;                    //  the node's real world; owned, freed after the node
    zactor_t *actor;                   //  the node's I/O thread
    zsock_t *events;                   //  our end of the events PAIR
    pthread_mutex_t cmd_lock;          //  serializes commands on the actor pipe
    pthread_mutex_t recv_lock;         //  serializes weft_recv
    node_state_t state;                //  lifecycle
    bool drained;                      //  the actor's CLOSED event was read
    size_t max_message;                //  limits.max_message
    size_t max_header;                 //  limits.max_header
    char error[256];                   //  detail of the last failure
    topic_set_t *durable;              //  durable patterns, mirrored from the actor (cmd_lock)
    uint64_t next_token;               //  tokens of sends (atomic)
    int window;                        //  queues.window
    pthread_mutex_t settle_lock;       //  guards unsettled
    zhashx_t *unsettled;               //  deliveries handed out by weft_recv and not settled yet
};

struct weft_msg {
    node_event_t ev;                    //  kind, seq, time, sender
    char *topic;                        //  NUL-terminated: points at topic_buf
    char topic_buf[WIRE_TOPIC_MAX + 1]; //  the topic, inline
    zmq_msg_t body;                     //  body frame, owned (empty when none)
    char *hbuf;                         //  header strings "k\0v\0...", owned
    size_t nheaders;                    //  header pairs
    const char **kv;                    //  2 * nheaders pointers into hbuf, owned
};

struct weft_peers {
    size_t count;           //  rows
    node_peer_info_t *rows; //  owned
};
//  Locks the command path; returns 0 if the node is running, else unlocks
//  and returns WEFT_ECLOSED (stopped) or WEFT_ESTATE (not started).
int command_begin (weft_node_t *self);

//  Fills the API's mirror of durable patterns from CFG (durable.topics).
int api_durable_init (weft_node_t *self, const weft_config_t *cfg);

//  Returns the journal's failure code if TOPIC is durable and the journal
//  cannot take writes now (a full disk), else 0. Call with cmd_lock held.
int api_durable_check (weft_node_t *self, const char *topic, size_t len);

//  Records that weft_recv handed delivery MSG to the application.
void api_delivered (weft_node_t *self, const weft_msg_t *msg);

//  weft_recv returned MSG, a message of an auto-ack durable subscription:
//  tells the node (TAKEN, not answered), which then advances its cursors.
void api_taken (weft_node_t *self, const weft_msg_t *msg);

//  Settles queue delivery MSG (WIRE_SETTLE_*), after DELAY_MS for a nack.
int api_settle (weft_node_t *self, const weft_msg_t *msg, int kind, int delay_ms);

#endif
