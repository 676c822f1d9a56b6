/* error.c - the public error record and status phrases (api.h). */
#include "api/api.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>


const char *nntrain_version(void)
{
    return NNTRAIN_VERSION_STRING;
}

const char *nntrain_status_string(nntrain_status s)
{
    switch (s) {
    case NNTRAIN_OK: return "success";
    case NNTRAIN_ERR_ARGUMENT: return "invalid argument";
    case NNTRAIN_ERR_CONFIG: return "invalid config";
    case NNTRAIN_ERR_IO: return "input/output error";
    case NNTRAIN_ERR_FORMAT: return "malformed or corrupt input";
    case NNTRAIN_ERR_VERSION: return "checkpoint format too new";
    case NNTRAIN_ERR_DATA: return "data does not fit";
    case NNTRAIN_ERR_DIVERGED: return "training diverged";
    case NNTRAIN_ERR_NOMEM: return "out of memory";
    case NNTRAIN_ERR_STOPPED: return "stopped on request";
    case NNTRAIN_ERR_RUNTIME: return "runtime error";
    }
    return "unknown status";
}

nntrain_status nn_api_ok(nntrain_error *out)
{
    if (out) {
        out->status = NNTRAIN_OK;
        out->exit_code = 0;
        out->message[0] = '\0';
    }
    return NNTRAIN_OK;
}

nntrain_status nn_api_fail(nntrain_error *out, const nn_error *e, nntrain_status s)
{
    int code = e && e->code ? e->code : NN_EXIT_RUNTIME;
    if (s == NNTRAIN_OK)
        s = code == NN_EXIT_USAGE ? NNTRAIN_ERR_CONFIG
            : code == NN_EXIT_SIGINT || code == NN_EXIT_SIGTERM ? NNTRAIN_ERR_STOPPED
                                                                 : NNTRAIN_ERR_RUNTIME;
    if (out) {
        out->status = s;
        out->exit_code = code;
        snprintf(out->message, sizeof out->message, "%s",
                 e && e->msg[0] ? e->msg : nntrain_status_string(s));
    }
    return s;
}

nntrain_status nn_api_argument(nntrain_error *out, const char *fmt, ...)
{
    if (out) {
        out->status = NNTRAIN_ERR_ARGUMENT;
        out->exit_code = NN_EXIT_USAGE;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(out->message, sizeof out->message, fmt, ap);
        va_end(ap);
    }
    return NNTRAIN_ERR_ARGUMENT;
}
