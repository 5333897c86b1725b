/*  node/core/config.c - the weft_config_t key/value store (see weft.h, config.h).

    Every key is declared once in s_keys with its default, a validator and a
    line of help; the table is the single source of truth for validation,
    --help output and docs/CONFIG.md.
*/
#include "node/core/config.h"

#include <czmq.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "node/wire/topic.h"

typedef int (validate_fn) (const char *value, const void *arg, char *why, size_t cap);

typedef struct {
    const char *key;      //  "section.name"
    const char *fallback; //  default value
    validate_fn *check;   //  validator
    const void *arg;      //  validator argument (choices, range)
    const char *help;     //  one line for --help and docs
} config_key_t;

typedef struct {
    long long min, max; //  inclusive range
} range_t;

struct weft_config {
    char *values[CONFIG_KEY_COUNT]; //  current value per key, owned
    char error[256];                //  why the last set or load failed
};

static int check_choice (const char *value, const void *arg, char *why, size_t cap)
{
    const char *const *choices = arg;
    for (size_t i = 0; choices[i]; i++)
        if (strcmp (value, choices[i]) == 0)
            return 0;
    size_t n = (size_t)snprintf (why, cap, "expected one of");
    for (size_t i = 0; choices[i] && n < cap; i++)
        n += (size_t)snprintf (why + n, cap - n, "%s %s", i ? "," : "", choices[i]);
    return WEFT_EINVAL;
}

static int check_range (const char *value, const void *arg, char *why, size_t cap);

//  An odd number in the range ARG: a Raft group of an even size tolerates no
//  more failures than the odd size below it.
static int check_replicas (const char *value, const void *arg, char *why, size_t cap)
{
    int rc = check_range (value, arg, why, cap);
    if (rc == 0 && atoll (value) % 2 == 0) {
        snprintf (why, cap, "must be odd (1, 3, 5, ...): %s", value);
        return WEFT_EINVAL;
    }
    return rc;
}

static int check_range (const char *value, const void *arg, char *why, size_t cap)
{
    const range_t *range = arg;
    char *end = NULL;
    errno = 0;
    long long n = strtoll (value, &end, 10);
    if (errno || end == value || *end || n < range->min || n > range->max) {
        snprintf (why, cap, "expected a whole number from %lld to %lld", range->min, range->max);
        return WEFT_EINVAL;
    }
    return 0;
}

static int check_text (const char *value, const void *arg, char *why, size_t cap)
{
    size_t max = *(const size_t *)arg;
    if (strlen (value) > max) {
        snprintf (why, cap, "longer than %zu bytes", max);
        return WEFT_EINVAL;
    }
    for (const char *p = value; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            snprintf (why, cap, "control characters are not allowed");
            return WEFT_EINVAL;
        }
    return 0;
}

//  Checks one "tcp://host:port" endpoint of LEN bytes.
static int check_endpoint (const char *ep, size_t len, char *why, size_t cap)
{
    const char *colon = memrchr (ep, ':', len);
    bool ok = len > 6 && len <= 127 && strncmp (ep, "tcp://", 6) == 0 && colon && colon > ep + 6;
    long port = 0;
    if (ok) {
        char digits[8] = {0};
        size_t n = len - (size_t)(colon + 1 - ep);
        ok = n > 0 && n < sizeof digits;
        if (ok) {
            memcpy (digits, colon + 1, n);
            char *end = NULL;
            port = strtol (digits, &end, 10);
            ok = *end == 0 && port > 0 && port < 65536;
        }
    }
    if (!ok)
        snprintf (why, cap, "'%.*s' is not an endpoint of the form tcp://HOST:PORT", (int)len, ep);
    return ok ? 0 : WEFT_EINVAL;
}

static int check_seeds (const char *value, const void *arg, char *why, size_t cap)
{
    const char *p = value;
    while (*p) {
        const char *comma = strchr (p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen (p);
        if (len && check_endpoint (p, len, why, cap))
            return WEFT_EINVAL;
        p += len + (comma ? 1 : 0);
    }
    return 0;
}

static int check_patterns (const char *value, const void *arg, char *why, size_t cap)
{
    while (*value) {
        size_t len = strcspn (value, ",");
        char pattern[TOPIC_MAX + 1];
        snprintf (pattern, sizeof pattern, "%.*s", (int)(len < TOPIC_MAX ? len : TOPIC_MAX), value);
        if (len > TOPIC_MAX || (len && pattern_validate (pattern))) {
            snprintf (why, cap, "'%.*s' is not a topic pattern", (int)(len < 60 ? len : 60), value);
            return WEFT_EINVAL;
        }
        value += len + (value[len] == ',');
    }
    return 0;
}

static int check_retention (const char *value, const void *arg, char *why, size_t cap)
{
    while (*value) {
        char key[32];
        unsigned long long n;
        int used = 0;
        if (sscanf (value, "%31[a-z_]=%llu%n", key, &n, &used) != 2 ||
            (strcmp (key, "max_age_ms") && strcmp (key, "max_bytes") &&
             strcmp (key, "max_count"))) {
            snprintf (why, cap, "expected max_age_ms=N,max_bytes=N,max_count=N (any of them)");
            return WEFT_EINVAL;
        }
        value += used + (value[used] == ',');
    }
    return 0;
}

static const char *const s_roles[] = {"member", "client", NULL};
static const char *const s_bools[] = {"true", "false", NULL};
static const char *const s_levels[] = {"none", "error", "warn", "info", "debug", "trace", NULL};
static const char *const s_sync[] = {"sync", "async", NULL};
static const range_t s_port = {0, 65535};
static const range_t s_beacon_port = {1, 65535};
static const range_t s_interval = {10, 60000};
static const range_t s_timeout = {20, 3600000};
static const range_t s_size = {64, 256 * 1024 * 1024};
static const range_t s_header = {256, 1024 * 1024};
static const range_t s_hwm = {0, 100000000};
static const size_t s_name_max = 63;
static const char *const s_acks[] = {"all", "owner", NULL};
static const char *const s_engines[] = {"owner", "raft", NULL};
static const range_t s_replicas = {1, 9};
static const range_t s_capacity = {0, 100};
static const range_t s_replication = {1, 9};
static const range_t s_deliver = {0, 1000000};
static const range_t s_window = {1, 1000000};
static const size_t s_text_max = 255;
static const range_t s_seq_block = {1, 1000000000};
static const range_t s_probe_k = {0, 16};

//  Keep in the order of config_key_id_t (config.h).
static const config_key_t s_keys[CONFIG_KEY_COUNT] = {
    [CFG_NODE_NAME] = {"node.name", "", check_text, &s_name_max,
                       "node name shown to peers (default: HOST-PID)"},
    [CFG_NODE_ROLE] = {"node.role", "member", check_choice, s_roles,
                       "member (owns queues, stores replicas) or client (only talks)"},
    [CFG_CLUSTER_NAME] = {"cluster.name", "weft", check_text, &s_text_max,
                          "nodes only see nodes of the same cluster"},
    [CFG_DISCOVERY_ENABLED] = {"discovery.enabled", "true", check_choice, s_bools,
                               "send and hear UDP beacons (false: seeds only)"},
    [CFG_DISCOVERY_INTERFACE] = {"discovery.interface", "auto", check_text, &s_text_max,
                                 "interface name or IPv4 address to live on; auto = first "
                                 "broadcast-capable non-loopback interface"},
    [CFG_DISCOVERY_BROADCAST] = {"discovery.broadcast", "", check_text, &s_text_max,
                                 "beacon destination (default: the interface's broadcast)"},
    [CFG_DISCOVERY_PORT] = {"discovery.port", "5760", check_range, &s_beacon_port,
                            "UDP port of beacons"},
    [CFG_DISCOVERY_INTERVAL] = {"discovery.interval_ms", "1000", check_range, &s_interval,
                                "beacon and heartbeat interval"},
    [CFG_DISCOVERY_EVASIVE] = {"discovery.evasive_ms", "1500", check_range, &s_timeout,
                               "silence after which a peer is reported evasive"},
    [CFG_DISCOVERY_EXPIRED] = {"discovery.expired_ms", "2500", check_range, &s_timeout,
                               "silence after which a peer is declared gone"},
    [CFG_DISCOVERY_SEEDS] = {"discovery.seeds", "", check_seeds, NULL,
                             "comma-separated tcp://HOST:PORT of known nodes' ROUTER"},
    [CFG_TRANSPORT_BIND] = {"transport.bind", "", check_text, &s_text_max,
                            "IPv4 address to bind (default: the interface's address)"},
    [CFG_TRANSPORT_PORT] = {"transport.port", "0", check_range, &s_port,
                            "ROUTER port (0: any free port)"},
    [CFG_TRANSPORT_PUB_PORT] = {"transport.pub_port", "0", check_range, &s_port,
                                "PUB port (0: any free port)"},
    [CFG_LIMITS_MAX_MESSAGE] = {"limits.max_message", "1048576", check_range, &s_size,
                                "largest message body accepted or sent, bytes"},
    [CFG_LIMITS_MAX_HEADER] = {"limits.max_header", "8192", check_range, &s_header,
                               "largest header frame accepted, bytes"},
    [CFG_PUBSUB_HWM] = {"pubsub.hwm", "100000", check_range, &s_hwm,
                        "messages queued per subscriber before volatile drops (0: none)"},
    [CFG_LOG_LEVEL] = {"log.level", "warn", check_choice, s_levels,
                       "none, error, warn, info, debug or trace (to stderr)"},
    [CFG_JOURNAL_DIR] = {"journal.dir", "", check_text, &s_text_max,
                         "directory of the node's journal (empty: no journal)"},
    [CFG_JOURNAL_SYNC] = {"journal.sync", "sync", check_choice, s_sync,
                          "sync: fsync before acknowledging; async: faster, a power cut "
                          "may lose the last writes"},
    [CFG_DURABLE_TOPICS] = {"durable.topics", "", check_patterns, NULL,
                            "comma-separated topic patterns this node journals (durable)"},
    [CFG_DURABLE_RETENTION] = {"durable.retention", "", check_retention, NULL,
                               "retention of each durable stream: max_age_ms=N,max_bytes=N,"
                               "max_count=N (empty: keep all)"},
    [CFG_NODE_CAPACITY] = {"node.capacity", "1", check_range, &s_capacity,
                           "share of queues this member owns (ring weight; 0: none)"},
    [CFG_QUEUES_REPLICATION] = {"queues.replication", "2", check_range, &s_replication,
                                "copies of each queue message, owner included"},
    [CFG_QUEUES_ACKS] = {"queues.acks", "all", check_choice, s_acks,
                         "confirm a send when all copies (all) or the owner (owner) journaled it"},
    [CFG_QUEUES_MAX_DELIVER] = {"queues.max_deliver", "5", check_range, &s_deliver,
                                "deliveries before a message goes to <queue>.dlq (0: no limit)"},
    [CFG_QUEUES_ACK_TIMEOUT] = {"queues.ack_timeout_ms", "30000", check_range, &s_timeout,
                                "an unacknowledged delivery is made again after this"},
    [CFG_QUEUES_DEDUP_WINDOW] = {"queues.dedup_window_ms", "120000", check_range, &s_timeout,
                                 "a message id is deduplicated for this long"},
    [CFG_QUEUES_SEND_TIMEOUT] = {"queues.send_timeout_ms", "30000", check_range, &s_timeout,
                                 "a send not confirmed by then fails"},
    [CFG_QUEUES_WINDOW] = {"queues.window", "1000", check_range, &s_window,
                           "unconfirmed sends at most (weft_send_async says WEFT_EAGAIN)"},
    [CFG_DURABLE_SEQ_BLOCK] = {"durable.seq_block", "10000", check_range, &s_seq_block,
                               "sequence numbers a durable stream reserves (one synced "
                               "write) at a time"},
    [CFG_DISCOVERY_PROBE_K] = {"discovery.probe_k", "3", check_range, &s_probe_k,
                               "members asked to probe a silent peer before it is suspected"},
    [CFG_QUEUES_ENGINE] = {"queues.engine", "raft", check_choice, s_engines,
                           "raft: one Raft group per queue; owner: the earlier owner and "
                           "best-effort copies, unsafe (docs/QUEUES.md)"},
    [CFG_QUEUES_REPLICAS] = {"queues.replicas", "3", check_replicas, &s_replicas,
                             "raft engine: voters of each queue group once that many members "
                             "live (odd; 1 on fewer)"},
};

weft_config_t *weft_config_new (void)
{
    weft_config_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    for (int i = 0; i < CONFIG_KEY_COUNT; i++) {
        self->values[i] = strdup (s_keys[i].fallback);
        if (!self->values[i]) {
            weft_config_destroy (&self);
            return NULL;
        }
    }
    return self;
}

void weft_config_destroy (weft_config_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    weft_config_t *self = *self_p;
    for (int i = 0; i < CONFIG_KEY_COUNT; i++)
        free (self->values[i]);
    free (self);
    *self_p = NULL;
}

//  Returns the index of KEY in s_keys, or -1.
static int key_index (const char *key)
{
    for (int i = 0; key && i < CONFIG_KEY_COUNT; i++)
        if (strcmp (s_keys[i].key, key) == 0)
            return i;
    return -1;
}

int weft_config_set (weft_config_t *self, const char *key, const char *value)
{
    if (!self || !key || !value)
        return WEFT_EINVAL;
    self->error[0] = 0;
    int i = key_index (key);
    if (i < 0) {
        snprintf (self->error, sizeof self->error, "unknown config key '%s'", key);
        return WEFT_ENOTFOUND;
    }
    char why[160] = "";
    if (s_keys[i].check (value, s_keys[i].arg, why, sizeof why)) {
        snprintf (self->error, sizeof self->error, "%s = '%.60s': %s", key, value, why);
        return WEFT_EINVAL;
    }
    char *copy = strdup (value);
    if (!copy)
        return WEFT_ENOMEM;
    free (self->values[i]);
    self->values[i] = copy;
    return 0;
}

const char *weft_config_get (const weft_config_t *self, const char *key)
{
    int i = self ? key_index (key) : -1;
    return i < 0 ? NULL : self->values[i];
}

const char *weft_config_error (const weft_config_t *self)
{
    return self ? self->error : "";
}

int weft_config_key (const weft_config_t *self, int index, const char **key, const char **value,
                     const char **help)
{
    if (index >= 0 && index < CONFIG_KEY_COUNT) {
        if (key)
            *key = s_keys[index].key;
        if (value)
            *value = self ? self->values[index] : s_keys[index].fallback;
        if (help)
            *help = s_keys[index].help;
    }
    return CONFIG_KEY_COUNT;
}

//  Sets every leaf of the ZPL tree under NODE, whose dotted path is PATH.
static int load_tree (weft_config_t *self, zconfig_t *node, const char *path, const char *file)
{
    for (zconfig_t *child = zconfig_child (node); child; child = zconfig_next (child)) {
        char key[128];
        snprintf (key, sizeof key, "%s%s%s", path, *path ? "." : "", zconfig_name (child));
        int rc = 0;
        if (zconfig_child (child))
            rc = load_tree (self, child, key, file);
        else if (zconfig_value (child)) {
            rc = weft_config_set (self, key, zconfig_value (child));
            if (rc) {
                char why[sizeof self->error];
                snprintf (why, sizeof why, "%s", self->error);
                snprintf (self->error, sizeof self->error, "%.100s: %.150s", file, why);
            }
        }
        if (rc)
            return rc;
    }
    return 0;
}

int weft_config_load (weft_config_t *self, const char *path)
{
    if (!self || !path)
        return WEFT_EINVAL;
    FILE *probe = fopen (path, "r");
    if (!probe) {
        snprintf (self->error, sizeof self->error, "cannot read config file %s: %s", path,
                  strerror (errno));
        return WEFT_EIO;
    }
    fclose (probe);
    zconfig_t *root = zconfig_load (path);
    if (!root) {
        snprintf (self->error, sizeof self->error,
                  "config file %s is not valid ZPL (see docs/CONFIG.md)", path);
        return WEFT_EINVAL;
    }
    int rc = load_tree (self, root, "", path);
    zconfig_destroy (&root);
    return rc;
}

const char *config_value (const weft_config_t *self, config_key_id_t id)
{
    return self->values[id];
}

long long config_int (const weft_config_t *self, config_key_id_t id)
{
    return strtoll (self->values[id], NULL, 10);
}

bool config_bool (const weft_config_t *self, config_key_id_t id)
{
    return strcmp (self->values[id], "true") == 0;
}

weft_config_t *config_dup (const weft_config_t *self)
{
    weft_config_t *copy = weft_config_new ();
    for (int i = 0; copy && i < CONFIG_KEY_COUNT; i++) {
        char *value = strdup (self->values[i]);
        if (!value) {
            weft_config_destroy (&copy);
            return NULL;
        }
        free (copy->values[i]);
        copy->values[i] = value;
    }
    return copy;
}

//  Parses "max_age_ms=N,max_bytes=N,max_count=N" into LIMITS; returns 0 or WEFT_EINVAL.
int config_parse_limits (const char *text, journal_limits_t *limits)
{
    while (text && *text) {
        char key[32];
        unsigned long long value = 0;
        int used = 0;
        if (sscanf (text, "%31[a-z_]=%llu%n", key, &value, &used) != 2)
            return WEFT_EINVAL;
        if (strcmp (key, "max_age_ms") == 0)
            limits->max_age_us = (int64_t)value * 1000;
        else if (strcmp (key, "max_bytes") == 0)
            limits->max_bytes = value;
        else if (strcmp (key, "max_count") == 0)
            limits->max_count = value;
        else
            return WEFT_EINVAL;
        text += used;
        if (*text == ',')
            text++;
        else if (*text)
            return WEFT_EINVAL;
    }
    return 0;
}
