/* error.h - the error record every library function fills on failure.
 *
 * Library code never prints and never exits: a function that can fail takes
 * an `nn_error *`, fills it with a one-line message (without the "nntrain: "
 * prefix, which main.c adds) and the exit code the failure maps to, and
 * returns -1 (or NULL).  main.c prints `nntrain: <msg>` and exits with `code`.
 */
#ifndef NN_ERROR_H
#define NN_ERROR_H

#include <stdbool.h>

enum {
    NN_EXIT_OK = 0,
    NN_EXIT_RUNTIME = 1, /* found while running: files, data, I/O, divergence */
    NN_EXIT_USAGE = 2,   /* command line or config invalid on its own */
    NN_EXIT_SIGINT = 130,
    NN_EXIT_SIGTERM = 143
};

typedef struct {
    int code;       /* exit code, one of NN_EXIT_* (0 when no error is set) */
    char msg[1024]; /* one line, no trailing newline */
    int scope;      /* in a run of several processes (MPI ranks), nn_error_scope */
    int kind;       /* nn_error_kind: what a caller may act on; 0 by nn_error_set */
} nn_error;

/* The errors a caller tells apart by more than their exit code: training
 * diverged (a non-finite loss or parameter: train/step.c, train/epoch.c),
 * which the library reports as NNTRAIN_ERR_DIVERGED. */
enum nn_error_kind { NN_ERR_GENERAL = 0, NN_ERR_DIVERGED };

/* Who has an error in a run of several processes: this one alone (the
 * others may be anywhere); every one, stopping at this point, with this
 * error, which rank 0 reports; or every one, stopping here, each with its
 * own, which each reports. */
enum nn_error_scope { NN_ERR_HERE = 0, NN_ERR_SAME, NN_ERR_OWN };

/* Sets code and a printf-style message (and kind to NN_ERR_GENERAL).
 * Newlines in the result are replaced by spaces so the message stays one
 * line.  Safe with err == NULL. */
void nn_error_set(nn_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an already set message (e.g. a file name). */
void nn_error_prefix(nn_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
