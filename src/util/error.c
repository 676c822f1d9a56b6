#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void one_line(char *s)
{
    for (; *s; s++)
        if (*s == '\n' || *s == '\r')
            *s = ' ';
}

void nn_error_set(nn_error *err, int code, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->code = code;
    err->kind = NN_ERR_GENERAL;
    one_line(err->msg);
}

void nn_error_prefix(nn_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char head[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    /* "head: old", cut to the size of msg */
    size_t h = strlen(head), cap = sizeof err->msg - 1;
    if (h + 2 > cap)
        h = cap - 2;
    size_t rest = cap - h - 2, o = strlen(err->msg);
    if (o > rest)
        o = rest;
    memmove(err->msg + h + 2, err->msg, o);
    memcpy(err->msg, head, h);
    err->msg[h] = ':';
    err->msg[h + 1] = ' ';
    err->msg[h + 2 + o] = '\0';
    one_line(err->msg);
}
