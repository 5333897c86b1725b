/*  bench/bench_raw.c - the raw libzmq baseline of bench_queue. See bench_raw.h.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <zmq.h>

#include "bench_common.h"
#include "bench_raw.h"

#define RAW_WINDOW     1000 //  raw pipeline: unacknowledged messages at most
#define RAW_TIMEOUT_MS 5000 //  raw DEALER: an answer missing this long is fatal

//  Echo thread: answers each [id][body] with [id][first 8 bytes of body];
//  an empty body is answered and ends the thread.
static void *echo_main (void *arg)
{
    void *router = arg;
    for (bool more = true; more;) {
        zmq_msg_t id, body;
        zmq_msg_init (&id);
        zmq_msg_init (&body);
        if (zmq_msg_recv (&id, router, 0) < 0 || zmq_msg_recv (&body, router, 0) < 0)
            break;
        size_t len = zmq_msg_size (&body);
        zmq_msg_send (&id, router, ZMQ_SNDMORE);
        zmq_send (router, zmq_msg_data (&body), len < 8 ? len : 8, 0);
        zmq_msg_close (&body);
        more = len > 0;
    }
    return NULL;
}

//  Opens a pair on tcp://127.0.0.1 and starts its echo thread; dies on failure.
void raw_open (raw_pair_t *p)
{
    char endpoint[64];
    size_t len = sizeof endpoint;
    int zero = 0;
    p->ctx = zmq_ctx_new ();
    p->router = zmq_socket (p->ctx, ZMQ_ROUTER);
    p->dealer = zmq_socket (p->ctx, ZMQ_DEALER);
    if (!p->router || !p->dealer)
        bench_die ("raw DEALER/ROUTER", zmq_strerror (zmq_errno ()));
    //  a ROUTER drops what exceeds its HWM, and libzmq learns about reads
    //  late: room for far more than the window, so no ack is ever dropped
    int hwm = 100 * RAW_WINDOW, timeout = RAW_TIMEOUT_MS;
    for (int i = 0; i < 2; i++) {
        void *sock = i ? p->dealer : p->router;
        zmq_setsockopt (sock, ZMQ_LINGER, &zero, sizeof zero);
        zmq_setsockopt (sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
        zmq_setsockopt (sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    }
    zmq_setsockopt (p->dealer, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    if (zmq_bind (p->router, "tcp://127.0.0.1:*") ||
        zmq_getsockopt (p->router, ZMQ_LAST_ENDPOINT, endpoint, &len) ||
        zmq_connect (p->dealer, endpoint))
        bench_die ("raw DEALER/ROUTER", zmq_strerror (zmq_errno ()));
    if (pthread_create (&p->thread, NULL, echo_main, p->router))
        bench_die ("pthread_create", NULL);
}

//  Stops the echo thread and closes the pair.
void raw_close (raw_pair_t *p)
{
    char ack[8];
    zmq_send (p->dealer, "", 0, 0);
    while (zmq_recv (p->dealer, ack, sizeof ack, 0) > 0) //  until the empty answer
        ;
    pthread_join (p->thread, NULL);
    zmq_close (p->dealer);
    zmq_close (p->router);
    zmq_ctx_term (p->ctx);
}

//  Raw acked pipeline: COUNT messages of SIZE, at most RAW_WINDOW unacked;
//  returns acked messages per second and stores the CPU us per message in *CPU_US.
double raw_pipeline (long count, size_t size, double *cpu_us)
{
    raw_pair_t p;
    raw_open (&p);
    uint8_t *body = calloc (1, size < 8 ? 8 : size), ack[8];
    if (!body)
        bench_die ("out of memory", NULL);
    zmq_send (p.dealer, "warm", 4, 0); //  connected both ways before timing
    if (zmq_recv (p.dealer, ack, sizeof ack, 0) < 0)
        bench_die ("raw pipeline: no answer", zmq_strerror (zmq_errno ()));
    long sent = 0, acked = 0;
    int64_t start = bench_now_ns (), cpu = bench_cpu_ns ();
    while (acked < count) {
        for (; sent < count && sent - acked < RAW_WINDOW; sent++) {
            bench_put64 (body, (uint64_t)sent + 1);
            zmq_send (p.dealer, body, size, 0);
        }
        //  like the Weft loop: wait for one answer, then take all that are there
        long before = acked;
        for (int flags = 0; zmq_recv (p.dealer, ack, sizeof ack, flags) >= 0; flags = ZMQ_DONTWAIT)
            acked++;
        if (acked == before)
            bench_die ("raw pipeline: an ack did not come", zmq_strerror (zmq_errno ()));
    }
    double rate = (double)acked / ((double)(bench_now_ns () - start) / 1e9);
    *cpu_us = (double)(bench_cpu_ns () - cpu) / 1e3 / (double)acked;
    free (body);
    raw_close (&p);
    return rate;
}

//  Times N raw 64 B round trips on P into US.
void raw_pings (raw_pair_t *p, double *us, int n)
{
    uint8_t body[64] = {0}, ack[8];
    for (int i = 0; i < n; i++) {
        bench_put64 (body, (uint64_t)i + 1);
        int64_t t0 = bench_now_ns ();
        zmq_send (p->dealer, body, sizeof body, 0);
        if (zmq_recv (p->dealer, ack, sizeof ack, 0) < 0)
            bench_die ("raw round trip: no answer", zmq_strerror (zmq_errno ()));
        us[i] = (double)(bench_now_ns () - t0) / 1e3;
    }
}
