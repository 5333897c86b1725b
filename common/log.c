/*  common/log.c - see log.h. */
#include "common/log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *s_names[] = {"none", "error", "warn", "info", "debug", "trace"};

void wlog_init (wlog_t *log, wlog_level_t level, const char *name)
{
    log->level = level;
    if (name && *name)
        snprintf (log->prefix, sizeof log->prefix, "weft[%s]", name);
    else
        snprintf (log->prefix, sizeof log->prefix, "weft");
}

int wlog_parse_level (const char *text, wlog_level_t *level)
{
    for (int i = 0; i <= WLOG_TRACE; i++)
        if (text && strcmp (text, s_names[i]) == 0) {
            *level = (wlog_level_t)i;
            return 0;
        }
    return -1;
}

const char *wlog_level_name (wlog_level_t level)
{
    return level >= WLOG_NONE && level <= WLOG_TRACE ? s_names[level] : "?";
}

int wlog_enabled (const wlog_t *log, wlog_level_t level)
{
    wlog_level_t limit = log ? log->level : WLOG_WARN;
    return level != WLOG_NONE && level <= limit;
}

void wlog (const wlog_t *log, wlog_level_t level, const char *fmt, ...)
{
    if (!wlog_enabled (log, level))
        return;
    char line[1024];
    struct timespec now;
    struct tm tm;
    clock_gettime (CLOCK_REALTIME, &now);
    gmtime_r (&now.tv_sec, &tm);
    int n = snprintf (line, sizeof line, "%02d:%02d:%02d.%03ld %s %s ", tm.tm_hour, tm.tm_min,
                      tm.tm_sec, now.tv_nsec / 1000000, log ? log->prefix : "weft", s_names[level]);
    va_list args;
    va_start (args, fmt);
    if (n > 0 && (size_t)n < sizeof line)
        n += vsnprintf (line + n, sizeof line - (size_t)n, fmt, args);
    va_end (args);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line - 1)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    ssize_t rc = write (STDERR_FILENO, line, (size_t)n);
    (void)rc; //  nothing sensible to do if stderr is gone
}

void werr_set (char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list args;
    va_start (args, fmt);
    vsnprintf (err, errlen, fmt, args);
    va_end (args);
}
