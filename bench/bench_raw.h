/*  bench/bench_raw.h - the raw libzmq baseline of bench_queue.
    A DEALER -> ROUTER pair over tcp://127.0.0.1 whose ROUTER thread answers
    each message with its first 8 bytes: the acked pipeline (RAW_WINDOW
    messages unacknowledged at most) and round trips with one in flight.
    Every function dies (bench_die) when the pair cannot be set up or an
    answer does not come. A pair is used by one thread (and its echo thread).
*/
#ifndef BENCH_RAW_H
#define BENCH_RAW_H
#include <pthread.h>
#include <stddef.h>

//  A connected pair and the ROUTER's echo thread.
typedef struct {
    void *ctx;        //  zmq context of the pair
    void *dealer;     //  the sender (this thread)
    void *router;     //  owned by the echo thread
    pthread_t thread; //  the echo thread
} raw_pair_t;

//  Opens a pair on tcp://127.0.0.1 and starts its echo thread.
void raw_open (raw_pair_t *p);

//  Stops the echo thread and closes the pair.
void raw_close (raw_pair_t *p);

//  Raw acked pipeline on a fresh pair: COUNT messages of SIZE, at most 1000
//  unacked; returns acked messages per second and stores the CPU us per
//  message in *CPU_US.
double raw_pipeline (long count, size_t size, double *cpu_us);

//  Times N raw 64 B round trips on P into US (microseconds each).
void raw_pings (raw_pair_t *p, double *us, int n);
#endif
