/*  bench/bench_natsd.c - nats-server processes for bench_jetstream (bench_natsd.h).
 */
#include "bench_natsd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_common.h"

#define STOP_MS 5000 //  SIGTERM to SIGKILL

//  N distinct free TCP ports on 127.0.0.1, from the kernel, into PORTS.
//  They are held open together so that none is handed out twice.
static void free_ports (int *ports, int n)
{
    int fds[2 * BENCH_NATSD_MAX];
    for (int i = 0; i < n; i++) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK)};
        socklen_t len = sizeof sa;
        fds[i] = socket (AF_INET, SOCK_STREAM, 0);
        if (fds[i] < 0 || bind (fds[i], (struct sockaddr *)&sa, sizeof sa) ||
            getsockname (fds[i], (struct sockaddr *)&sa, &len))
            bench_die ("free port", strerror (errno));
        ports[i] = ntohs (sa.sin_port);
    }
    for (int i = 0; i < n; i++)
        close (fds[i]);
}

//  Forks server I of SELF (ports already chosen), as bench_natsd_start says.
static void server_start (bench_natsd_t *self, int i, const char *dir, const char *tag)
{
    char port[16], name[64], store[300], log[310], listen[64], routes[200] = "", cluster[64];
    snprintf (port, sizeof port, "%d", self->port[i]);
    snprintf (name, sizeof name, "%s-s%d", tag, i);
    snprintf (store, sizeof store, "%s/%s", dir, name);
    snprintf (log, sizeof log, "%s.log", store);
    snprintf (listen, sizeof listen, "nats://127.0.0.1:%d", self->route[i]);
    snprintf (cluster, sizeof cluster, "bench-js-%d", (int)getpid ());
    for (int k = 0; k < self->n; k++)
        if (k != i)
            snprintf (routes + strlen (routes), sizeof routes - strlen (routes),
                      "%snats://127.0.0.1:%d", routes[0] ? "," : "", self->route[k]);
    char *argv[] = {"nats-server", "-a", "127.0.0.1", "-p", port, "-n", name, "-js", "-sd", store,
                    "-l", log,
                    //  [12]: cluster flags, cut for a lone server
                    "--cluster_name", cluster, "--cluster", listen, "--routes", routes, NULL};
    if (self->n == 1)
        argv[12] = NULL;
    fflush (NULL);
    pid_t pid = fork ();
    if (pid < 0)
        bench_die ("fork", strerror (errno));
    if (pid == 0) {
        prctl (PR_SET_PDEATHSIG, SIGTERM);
        execvp (argv[0], argv);
        _exit (127);
    }
    self->pid[i] = pid;
}

void bench_natsd_start (bench_natsd_t *self, int n, const char *dir, const char *tag)
{
    int ports[2 * BENCH_NATSD_MAX];
    if (n < 1 || n > BENCH_NATSD_MAX)
        bench_die ("bench_natsd_start: bad server count", NULL);
    free_ports (ports, 2 * n);
    *self = (bench_natsd_t){.n = n};
    snprintf (self->tag, sizeof self->tag, "%s", tag);
    for (int i = 0; i < n; i++)
        self->port[i] = ports[i], self->route[i] = ports[n + i];
    for (int i = 0; i < n; i++)
        server_start (self, i, dir, tag);
}

void bench_natsd_check (bench_natsd_t *self, const char *dir)
{
    for (int i = 0; i < self->n; i++) {
        int status = 0;
        if (self->pid[i] <= 0 || waitpid (self->pid[i], &status, WNOHANG) != self->pid[i])
            continue;
        self->pid[i] = 0;
        char path[300], line[512];
        snprintf (path, sizeof path, "%s/%s-s%d.log", dir, self->tag, i);
        FILE *f = fopen (path, "r");
        for (int k = 0; f && k < 40 && fgets (line, sizeof line, f); k++)
            fputs (line, stderr);
        if (f)
            fclose (f);
        snprintf (line, sizeof line, "server %d exited with status %d%s", i,
                  WIFEXITED (status) ? WEXITSTATUS (status) : -1,
                  WIFEXITED (status) && WEXITSTATUS (status) == 127 ? " (not on PATH?)" : "");
        bench_die ("nats-server", line);
    }
}

void bench_natsd_stop (bench_natsd_t *self)
{
    for (int i = 0; i < self->n; i++)
        if (self->pid[i] > 0)
            kill (self->pid[i], SIGTERM);
    int64_t deadline = bench_now_ms () + STOP_MS;
    for (int i = 0; i < self->n; i++) {
        while (self->pid[i] > 0 && waitpid (self->pid[i], NULL, WNOHANG) == 0) {
            if (bench_now_ms () > deadline) {
                kill (self->pid[i], SIGKILL);
                waitpid (self->pid[i], NULL, 0);
                break;
            }
            usleep (2000); //  bounded by the deadline: the server is shutting down
        }
        self->pid[i] = 0;
    }
    self->n = 0;
}

int64_t bench_natsd_cpu_ns (const bench_natsd_t *self)
{
    int64_t total = 0, hz = sysconf (_SC_CLK_TCK);
    for (int i = 0; i < self->n; i++) {
        char path[64], buf[1024];
        snprintf (path, sizeof path, "/proc/%d/stat", (int)self->pid[i]);
        FILE *f = fopen (path, "r");
        size_t len = f ? fread (buf, 1, sizeof buf - 1, f) : 0;
        if (f)
            fclose (f);
        buf[len] = 0;
        const char *p = strrchr (buf, ')'); //  the command name may hold spaces
        unsigned long long ut = 0, st = 0;  //  fields 14 and 15: utime, stime
        if (p &&
            sscanf (p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2)
            total += (int64_t)(ut + st) * 1000000000 / hz;
    }
    return total;
}
