/*  node/core/config.h - typed access to weft_config_t for the library's own code.

    weft_config_t (weft.h) is a table of string values, validated when set;
    inside the library a value is read by its id with the typed accessors,
    which cannot fail because every stored value has been validated.
    Thread: a config belongs to one thread; a node copies it (config_dup).
*/
#ifndef WEFT_NODE_CONFIG_H
#define WEFT_NODE_CONFIG_H

#include <stdbool.h>

#include "journal/journal.h"
#include "weft.h"

typedef enum {
    CFG_NODE_NAME,
    CFG_NODE_ROLE,
    CFG_CLUSTER_NAME,
    CFG_DISCOVERY_ENABLED,
    CFG_DISCOVERY_INTERFACE,
    CFG_DISCOVERY_BROADCAST,
    CFG_DISCOVERY_PORT,
    CFG_DISCOVERY_INTERVAL,
    CFG_DISCOVERY_EVASIVE,
    CFG_DISCOVERY_EXPIRED,
    CFG_DISCOVERY_SEEDS,
    CFG_TRANSPORT_BIND,
    CFG_TRANSPORT_PORT,
    CFG_TRANSPORT_PUB_PORT,
    CFG_LIMITS_MAX_MESSAGE,
    CFG_LIMITS_MAX_HEADER,
    CFG_PUBSUB_HWM,
    CFG_LOG_LEVEL,
    CFG_JOURNAL_DIR,
    CFG_JOURNAL_SYNC,
    CFG_DURABLE_TOPICS,
    CFG_DURABLE_RETENTION,
    CFG_NODE_CAPACITY,
    CFG_QUEUES_REPLICATION,
    CFG_QUEUES_ACKS,
    CFG_QUEUES_MAX_DELIVER,
    CFG_QUEUES_ACK_TIMEOUT,
    CFG_QUEUES_DEDUP_WINDOW,
    CFG_QUEUES_SEND_TIMEOUT,
    CFG_QUEUES_WINDOW,
    CFG_DURABLE_SEQ_BLOCK,
    CFG_DISCOVERY_PROBE_K,
    CFG_QUEUES_ENGINE,
    CFG_QUEUES_REPLICAS,
    CONFIG_KEY_COUNT
} config_key_id_t;

//  The value of key ID as stored (borrowed, valid until the next set).
const char *config_value (const weft_config_t *self, config_key_id_t id);

//  The value of a numeric key.
long long config_int (const weft_config_t *self, config_key_id_t id);

//  The value of a true/false key.
bool config_bool (const weft_config_t *self, config_key_id_t id);

//  A deep copy of SELF, or NULL when out of memory.
weft_config_t *config_dup (const weft_config_t *self);

//  Parses a retention value "max_age_ms=N,max_bytes=N,max_count=N" (any
//  subset) into LIMITS. 0 or WEFT_EINVAL.
int config_parse_limits (const char *text, journal_limits_t *limits);

#endif
