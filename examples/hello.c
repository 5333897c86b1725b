/*  examples/hello.c - two Weft nodes in one process, talking over loopback.

    "alice" subscribes to hello.#; "bob" publishes hello.world as soon as
    alice's subscription has reached him; alice's event loop waits on
    weft_node_fd () with poll () and prints what arrives. Nothing leaves
    loopback: both nodes live on "lo", in a cluster of their own.

    Against an installed Weft (cmake --install build):
        cc examples/hello.c $(pkg-config --cflags --libs weft) -o hello
    Against a build tree (cmake -S . -B build && cmake --build build):
        cc examples/hello.c -Iinclude -Lbuild -lweft -Wl,-rpath,$PWD/build -o hello
    Run:
        ./hello [BEACON-PORT]        (default 27999)
    Exit status: 0 when alice got bob's message, 1 otherwise.
*/
#define _POSIX_C_SOURCE 200809L //  clock_gettime, poll under -std=c11

#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <weft.h>

//  Monotonic milliseconds.
static long long now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

//  Creates and starts a node named NAME on loopback, beacons on PORT.
//  Returns NULL (after saying why) on failure.
static weft_node_t *start_node (const char *name, const char *port)
{
    weft_config_t *cfg = weft_config_new ();
    if (!cfg)
        return NULL;
    int rc;
    if ((rc = weft_config_set (cfg, "node.name", name)) ||
        (rc = weft_config_set (cfg, "cluster.name", "hello-example")) ||
        (rc = weft_config_set (cfg, "discovery.interface", "lo")) ||
        (rc = weft_config_set (cfg, "discovery.port", port)))
        fprintf (stderr, "hello: config: %s\n", weft_config_error (cfg));
    weft_node_t *node = rc ? NULL : weft_node_new (cfg, &rc); //  the node copies CFG
    weft_config_destroy (&cfg);
    if (node && (rc = weft_node_start (node))) {
        fprintf (stderr, "hello: %s: %s\n", name, weft_node_error (node));
        weft_node_destroy (&node);
    }
    return node;
}

//  True when NODE sees the peer PEER_UUID as ready: that peer's subscriptions
//  have reached NODE, so what NODE publishes now is not filtered away.
static bool peer_ready (weft_node_t *node, const char *peer_uuid)
{
    weft_peers_t *peers = NULL;
    bool ready = false;
    if (weft_peers (node, &peers) != 0)
        return false;
    for (size_t i = 0; i < weft_peers_count (peers); i++)
        if (strcmp (weft_peers_get (peers, i, "uuid"), peer_uuid) == 0)
            ready = strcmp (weft_peers_get (peers, i, "ready"), "yes") == 0;
    weft_peers_destroy (&peers);
    return ready;
}

//  Prints and frees everything waiting on NODE (never blocks); returns the
//  number of topic messages among it.
static int drain (weft_node_t *node, const char *who)
{
    int messages = 0;
    weft_msg_t *msg = NULL;
    while (weft_recv (node, &msg, 0) == 0) {
        const char *from = weft_msg_sender_name (msg);
        if (!*from)
            from = weft_msg_sender (msg); //  the name arrives with the peer's HELLO
        if (weft_msg_kind (msg) == WEFT_MSG_MESSAGE) {
            size_t len = 0;
            const char *body = weft_msg_body (msg, &len);
            printf ("%s: %s from %s: %.*s\n", who, weft_msg_topic (msg), from, (int)len, body);
            messages++;
        } else
            printf ("%s: %s %s\n", who, weft_msg_kind_name (msg), from);
        weft_msg_destroy (&msg);
    }
    return messages;
}

//  Waits (at most TIMEOUT_MS) until FROM sees TO ready, printing the events
//  of both meanwhile. Readiness is not an event, so it looks again whenever
//  something happens, and at least every 50 ms.
static bool wait_ready (weft_node_t *from, weft_node_t *to, int timeout_ms)
{
    struct pollfd fds[2] = {{.fd = weft_node_fd (to), .events = POLLIN},
                            {.fd = weft_node_fd (from), .events = POLLIN}};
    long long deadline = now_ms () + timeout_ms;
    while (!peer_ready (from, weft_node_uuid (to))) {
        if (now_ms () >= deadline)
            return false;
        poll (fds, 2, 50);
        drain (to, weft_node_name (to));
        drain (from, weft_node_name (from));
    }
    return true;
}

//  NODE's event loop: waits on its fd, then reads until nothing is left (a
//  readable fd means "something may be there", so always drain it). Returns
//  the number of topic messages that arrived within TIMEOUT_MS, stopping at
//  the first.
static int receive (weft_node_t *node, int timeout_ms)
{
    struct pollfd fd = {.fd = weft_node_fd (node), .events = POLLIN};
    long long deadline = now_ms () + timeout_ms;
    int got = 0;
    for (long long left = timeout_ms; !got && left > 0; left = deadline - now_ms ()) {
        poll (&fd, 1, (int)left);
        got += drain (node, weft_node_name (node));
    }
    return got;
}

int main (int argc, char **argv)
{
    const char *port = argc > 1 ? argv[1] : "27999";
    const char *text = "hello, world";
    weft_node_t *alice = start_node ("alice", port);
    weft_node_t *bob = alice ? start_node ("bob", port) : NULL;
    int rc = -1, got = 0;
    if (bob && (rc = weft_subscribe (alice, "hello.#")) == 0) {
        if (!wait_ready (bob, alice, 5000))
            fprintf (stderr, "hello: bob did not see alice ready within 5 s\n");
        //  volatile topic: at-most-once; a subscriber not ready yet would miss it
        rc = weft_publish (bob, "hello.world", text, strlen (text));
    }
    if (rc == 0 && (got = receive (alice, 5000)) == 0)
        fprintf (stderr, "hello: alice got nothing within 5 s\n");
    else if (rc != 0 && bob)
        fprintf (stderr, "hello: %s\n", weft_strerror (rc));
    weft_node_destroy (&bob); //  stops it first: alice sees it leave
    weft_node_destroy (&alice);
    return got ? 0 : 1;
}
