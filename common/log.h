/*  common/log.h - levelled logging to stderr, one logger per node.

    The library has no global logger: each node owns a wlog_t (its level and
    a prefix naming the node) and passes it to the modules it drives. A NULL
    logger logs warnings and errors with no prefix, so a module used alone
    (tests, tools) still says what went wrong.
    Thread: wlog () may be called from any thread; each call is one write (2).
*/
#ifndef WEFT_COMMON_LOG_H
#define WEFT_COMMON_LOG_H

#include <stdarg.h>
#include <stddef.h>

typedef enum {
    WLOG_NONE = 0,  //  log nothing
    WLOG_ERROR = 1, //  something failed and was not recovered
    WLOG_WARN = 2,  //  something was wrong and was dropped or recovered
    WLOG_INFO = 3,  //  membership changes, start and stop
    WLOG_DEBUG = 4, //  protocol detail
    WLOG_TRACE = 5  //  every message
} wlog_level_t;

typedef struct {
    wlog_level_t level; //  the most detailed level written
    char prefix[80];    //  e.g. "weft[node-1]"
} wlog_t;

//  Sets up LOG with LEVEL and a prefix built from NAME (may be NULL).
void wlog_init (wlog_t *log, wlog_level_t level, const char *name);

//  Parses "none|error|warn|info|debug|trace" into *LEVEL; returns 0 or -1.
int wlog_parse_level (const char *text, wlog_level_t *level);

//  Returns the name of LEVEL ("warn" ...).
const char *wlog_level_name (wlog_level_t level);

//  True when LOG would write a message at LEVEL (to skip costly formatting).
int wlog_enabled (const wlog_t *log, wlog_level_t level);

//  Writes one line "<time> <prefix> <LEVEL> <message>" to stderr.
void wlog (const wlog_t *log, wlog_level_t level, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Writes a formatted message into ERR (ERRLEN bytes) when ERR is not NULL
//  (the error out-parameter of the modules' open/start functions).
void werr_set (char *err, size_t errlen, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

#define wlog_error(log, ...) wlog ((log), WLOG_ERROR, __VA_ARGS__)
#define wlog_warn(log, ...)  wlog ((log), WLOG_WARN, __VA_ARGS__)
#define wlog_info(log, ...)  wlog ((log), WLOG_INFO, __VA_ARGS__)
#define wlog_debug(log, ...) wlog ((log), WLOG_DEBUG, __VA_ARGS__)

#endif
