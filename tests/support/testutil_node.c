/*  tests/support/testutil_node.c - node helpers for tests (see testutil.h). */
#include <criterion/criterion.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

//  Sets KEY=VALUE on CFG or fails the test.
static void must_set (weft_config_t *cfg, const char *key, const char *value)
{
    int rc = weft_config_set (cfg, key, value);
    cr_assert_eq (rc, 0, "config %s=%s: %s", key, value, weft_config_error (cfg));
}

weft_config_t *tu_config (const char *name, uint16_t beacon_port)
{
    weft_config_t *cfg = weft_config_new ();
    cr_assert_not_null (cfg);
    char text[64];
    must_set (cfg, "node.name", name);
    must_set (cfg, "discovery.interface", "lo");
    snprintf (text, sizeof text, "%u", beacon_port);
    must_set (cfg, "discovery.port", text);
    snprintf (text, sizeof text, "test-%d-%u", (int)getpid (), beacon_port);
    must_set (cfg, "cluster.name", text);
    must_set (cfg, "discovery.interval_ms", "100");
    must_set (cfg, "discovery.evasive_ms", "400");
    must_set (cfg, "discovery.expired_ms", "800");
    //  TU_LOG_LEVEL=debug in the environment shows the nodes' logs of a failing test
    must_set (cfg, "log.level", getenv ("TU_LOG_LEVEL") ? getenv ("TU_LOG_LEVEL") : "warn");
    //  the tests of the owner engine pin it (tests/CMakeLists.txt)
    if (getenv ("WEFT_QUEUES_ENGINE"))
        must_set (cfg, "queues.engine", getenv ("WEFT_QUEUES_ENGINE"));
    return cfg;
}

weft_node_t *tu_node (weft_config_t *cfg)
{
    int err = 0;
    weft_node_t *node = weft_node_new (cfg, &err);
    cr_assert_not_null (node, "weft_node_new: %s", weft_strerror (err));
    int rc = weft_node_start (node);
    cr_assert_eq (rc, 0, "weft_node_start: %s: %s", weft_strerror (rc), weft_node_error (node));
    weft_config_destroy (&cfg);
    return node;
}

//  Counts NODE's peers that are alive and ready.
static size_t ready_peers (weft_node_t *node)
{
    weft_peers_t *peers = NULL;
    cr_assert_eq (weft_peers (node, &peers), 0);
    size_t ready = 0;
    for (size_t i = 0; i < weft_peers_count (peers); i++)
        if (strcmp (weft_peers_get (peers, i, "state"), "alive") == 0 &&
            strcmp (weft_peers_get (peers, i, "ready"), "yes") == 0)
            ready++;
    weft_peers_destroy (&peers);
    return ready;
}

void tu_wait_peers (weft_node_t *node, size_t count, int timeout_ms)
{
    int64_t deadline = tu_now_ms () + timeout_ms;
    size_t seen = 0;
    while ((seen = ready_peers (node)) < count && tu_now_ms () < deadline) {
        //  readiness changes inside the node without an event: wait on the
        //  node's event fd with a short bound, then look again (events stay
        //  queued for the test to read)
        struct pollfd pfd = {.fd = weft_node_fd (node), .events = POLLIN};
        poll (&pfd, 1, 20);
    }
    cr_assert_geq (seen, count, "%s sees %zu ready peers of %zu after %d ms", weft_node_name (node),
                   seen, count, timeout_ms);
}

weft_msg_t *tu_wait_kind (weft_node_t *node, int kind, int timeout_ms)
{
    int64_t deadline = tu_now_ms () + timeout_ms;
    while (tu_now_ms () < deadline) {
        weft_msg_t *msg = NULL;
        int rc = weft_recv (node, &msg, (int)(deadline - tu_now_ms ()) + 1);
        if (rc)
            return NULL;
        if (weft_msg_kind (msg) == kind)
            return msg;
        weft_msg_destroy (&msg);
    }
    return NULL;
}
