/*  node/queues/queue_cmd.h - the frames of the queue commands that the API
    thread (node/api/api_queue.c) sends to the queues subsystem over the
    actor pipe. The one header of node/queues/ that the API includes.
*/
#ifndef WEFT_NODE_QUEUES_QUEUE_CMD_H
#define WEFT_NODE_QUEUES_QUEUE_CMD_H

#include <stdbool.h>
#include <stdint.h>

#include "node/wire/wire.h"

//  The arguments of a "QSEND" command: one frame, then the body frame
//  (api_queue.c builds it, queue_client.c reads it). TYPE WIRE_QREDRIVE asks
//  for a redrive of QUEUE (the body is then empty).
typedef struct {
    uint64_t token;                      //  the API's token
    int type;                            //  WIRE_QSEND or WIRE_QREDRIVE
    uint8_t priority, replication, acks; //  send options (0 replication: the default)
    bool blocking;                       //  a caller waits on confirm_cond for the result
    int64_t timeout_ms;                  //  give up after (0: queues.send_timeout_ms)
    char queue[WIRE_TOPIC_MAX + 1];      //  queue
    char msg_id[WIRE_MSG_ID_MAX + 1];    //  producer's id ("": generate one)
} queue_args_t;

//  The arguments of a "SETTLE" command: one frame (api_queue.c -> queue_client.c).
typedef struct {
    char owner[WIRE_UUID_SIZE * 2 + 1]; //  the delivery's owner
    char queue[WIRE_TOPIC_MAX + 1];     //  its queue
    uint64_t seq;                       //  delivery id
    uint32_t deliveries;                //  its delivery count (a redelivery is another one)
    int kind;                           //  WIRE_SETTLE_*
    int delay_ms;                       //  nack delay
} queue_settle_args_t;

#endif
