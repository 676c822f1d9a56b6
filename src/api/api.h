/* api.h - inside libnntrain: what the public functions (include/nntrain.h)
 * share.  The public header's types are the outside view; everything under
 * src/ below this folder stays internal. */
#ifndef NN_API_H
#define NN_API_H

#include "nntrain.h"
#include "util/error.h"

/* Clears *out (NULL is fine) and returns NNTRAIN_OK. */
nntrain_status nn_api_ok(nntrain_error *out);

/* Copies the internal error e into *out with status s (NULL out is fine)
 * and returns s.  s NNTRAIN_OK: the status follows from e's exit code
 * (2: NNTRAIN_ERR_CONFIG, 130 and 143: NNTRAIN_ERR_STOPPED, otherwise
 * NNTRAIN_ERR_RUNTIME). */
nntrain_status nn_api_fail(nntrain_error *out, const nn_error *e, nntrain_status s);

/* A misuse of the interface: NNTRAIN_ERR_ARGUMENT (exit code 2) with a
 * printf-style message. */
nntrain_status nn_api_argument(nntrain_error *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
