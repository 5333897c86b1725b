/*  tests/abi/abi_consumer.c - a plain C application of libweft.

    It includes only <weft.h> and links only the shared library, as a user
    would: if it builds and passes, the exported ABI is complete and works
    from the outside. Prints "N passed, N failed" and exits non-zero on failure.
*/
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <weft.h>

static int s_passed, s_failed;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond)                                                                                  \
            s_passed++;                                                                            \
        else {                                                                                     \
            s_failed++;                                                                            \
            fprintf (stderr, "abi_consumer: FAILED at line %d: %s\n", __LINE__, #cond);            \
        }                                                                                          \
    } while (0)

static long long now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

//  A node on loopback in a cluster private to this process.
static weft_node_t *start_node (const char *name, const char *port)
{
    weft_config_t *cfg = weft_config_new ();
    char cluster[64];
    snprintf (cluster, sizeof cluster, "abi-%d", (int)getpid ());
    CHECK (weft_config_set (cfg, "node.name", name) == 0);
    CHECK (weft_config_set (cfg, "cluster.name", cluster) == 0);
    CHECK (weft_config_set (cfg, "discovery.interface", "lo") == 0);
    CHECK (weft_config_set (cfg, "discovery.port", port) == 0);
    CHECK (weft_config_set (cfg, "discovery.interval_ms", "100") == 0);
    int err = 0;
    weft_node_t *node = weft_node_new (cfg, &err);
    weft_config_destroy (&cfg);
    CHECK (cfg == NULL);
    CHECK (node != NULL && err == 0);
    CHECK (weft_node_start (node) == 0);
    return node;
}

static void check_basics (void)
{
    int major = -1, minor = -1, patch = -1;
    CHECK (weft_version (&major, &minor, &patch) == WEFT_VERSION);
    CHECK (major == WEFT_VERSION_MAJOR && minor == WEFT_VERSION_MINOR);
    CHECK (strcmp (weft_strerror (WEFT_EINVAL), "invalid argument") == 0);
    CHECK (strcmp (weft_errname (WEFT_ECLOSED), "WEFT_ECLOSED") == 0);
    CHECK (strlen (weft_strerror (-9999)) > 0);
    weft_config_t *cfg = weft_config_new ();
    CHECK (weft_config_set (cfg, "node.role", "client") == 0);
    CHECK (strcmp (weft_config_get (cfg, "node.role"), "client") == 0);
    CHECK (weft_config_set (cfg, "node.role", "boss") == WEFT_EINVAL);
    CHECK (strstr (weft_config_error (cfg), "node.role") != NULL);
    CHECK (weft_config_get (cfg, "nope") == NULL);
    const char *key = NULL, *value = NULL, *help = NULL;
    int count = weft_config_key (cfg, 0, &key, &value, &help);
    CHECK (count > 10 && key && value && help);
    CHECK (weft_config_load (cfg, "/nonexistent/weft.cfg") == WEFT_EIO);
    weft_config_destroy (&cfg);
    weft_config_destroy (&cfg);
    weft_free (NULL);
}

static void check_pubsub (void)
{
    char port[16];
    snprintf (port, sizeof port, "%d", 20000 + (int)(getpid () % 30000));
    weft_node_t *a = start_node ("abi-a", port);
    weft_node_t *b = start_node ("abi-b", port);
    CHECK (weft_subscribe (b, "abi.#") == 0);
    CHECK (weft_node_fd (b) >= 0);
    //  publish until one arrives: b's subscription reaches a shortly after discovery
    int got = 0;
    long long deadline = now_ms () + 10000;
    while (!got && now_ms () < deadline) {
        CHECK (weft_publish (a, "abi.hello", "hi", 2) == 0);
        struct pollfd pfd = {.fd = weft_node_fd (b), .events = POLLIN};
        poll (&pfd, 1, 50);
        weft_msg_t *msg = NULL;
        while (!got && weft_recv (b, &msg, 0) == 0) {
            if (weft_msg_kind (msg) == WEFT_MSG_MESSAGE) {
                size_t len = 0;
                const char *body = weft_msg_body (msg, &len);
                got = len == 2 && memcmp (body, "hi", 2) == 0 &&
                      strcmp (weft_msg_topic (msg), "abi.hello") == 0 &&
                      strcmp (weft_msg_sender (msg), weft_node_uuid (a)) == 0;
            }
            weft_msg_destroy (&msg);
        }
    }
    CHECK (got);
    weft_peers_t *peers = NULL;
    CHECK (weft_peers (a, &peers) == 0);
    CHECK (weft_peers_count (peers) == 1);
    CHECK (strcmp (weft_peers_get (peers, 0, "name"), "abi-b") == 0);
    weft_peers_destroy (&peers);
    char *json = NULL;
    CHECK (weft_status (a, &json) == 0 && strstr (json, "\"name\":\"abi-a\""));
    weft_free (json);
    CHECK (weft_node_stop (a) == 0);
    CHECK (weft_publish (a, "abi.hello", "x", 1) == WEFT_ECLOSED);
    weft_node_destroy (&a);
    weft_node_destroy (&b);
    CHECK (a == NULL && b == NULL);
}

int main (void)
{
    check_basics ();
    check_pubsub ();
    printf ("abi_consumer: %d passed, %d failed\n", s_passed, s_failed);
    return s_failed ? 1 : 0;
}
