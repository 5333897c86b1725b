/*  node/api/errors.c - error strings, version, and weft_free (see weft.h). */
#include <stdlib.h>

#include "weft.h"

typedef struct {
    int code;            //  WEFT_E*
    const char *name;    //  symbolic name
    const char *message; //  human-readable text
} error_info_t;

static const error_info_t s_errors[] = {
    {WEFT_OK, "WEFT_OK", "success"},
    {WEFT_EINVAL, "WEFT_EINVAL", "invalid argument"},
    {WEFT_ENOMEM, "WEFT_ENOMEM", "out of memory"},
    {WEFT_ECLOSED, "WEFT_ECLOSED", "node is stopped or closed"},
    {WEFT_ETIMEDOUT, "WEFT_ETIMEDOUT", "timed out"},
    {WEFT_EAGAIN, "WEFT_EAGAIN", "nothing ready, try again"},
    {WEFT_EMSGSIZE, "WEFT_EMSGSIZE", "message too large"},
    {WEFT_EPROTO, "WEFT_EPROTO", "protocol error"},
    {WEFT_EADDRINUSE, "WEFT_EADDRINUSE", "address already in use"},
    {WEFT_ENOTFOUND, "WEFT_ENOTFOUND", "not found"},
    {WEFT_EIO, "WEFT_EIO", "input/output error"},
    {WEFT_ESTATE, "WEFT_ESTATE", "operation not valid in this state"},
    {WEFT_ENOSPC, "WEFT_ENOSPC", "no space left on device"},
    {WEFT_ECORRUPT, "WEFT_ECORRUPT", "journal is corrupt"},
    {WEFT_ELOCKED, "WEFT_ELOCKED", "journal is locked by another process"},
    {WEFT_ENODEV, "WEFT_ENODEV", "no usable network interface"},
    {WEFT_EINTERNAL, "WEFT_EINTERNAL", "internal error"},
    {WEFT_EFULL, "WEFT_EFULL", "queue is full"},
};

//  Returns the entry for CODE, or NULL.
static const error_info_t *lookup (int code)
{
    for (size_t i = 0; i < sizeof s_errors / sizeof s_errors[0]; i++)
        if (s_errors[i].code == code)
            return &s_errors[i];
    return NULL;
}

const char *weft_strerror (int err)
{
    const error_info_t *info = lookup (err);
    return info ? info->message : "unknown error";
}

const char *weft_errname (int err)
{
    const error_info_t *info = lookup (err);
    return info ? info->name : "WEFT_E?";
}

int weft_version (int *major, int *minor, int *patch)
{
    if (major)
        *major = WEFT_VERSION_MAJOR;
    if (minor)
        *minor = WEFT_VERSION_MINOR;
    if (patch)
        *patch = WEFT_VERSION_PATCH;
    return WEFT_VERSION;
}

void weft_free (void *ptr)
{
    free (ptr);
}
