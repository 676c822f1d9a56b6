/* types.h - names shared by the config, the model and the checkpoint: the
 * loss, optimizer, initialisation and schedule kinds (activation kinds are
 * in math/activation.h, below nn/ and kernels/ alike; scaling kinds in
 * data/scale.h; the size limits in util/limits.h).  The
 * numeric values are stored in checkpoints: append, never renumber. */
#ifndef NN_TYPES_H
#define NN_TYPES_H

#include "math/activation.h"

#include "data/scale.h"
#include "util/limits.h"

typedef enum {
    NN_LOSS_MSE = 0,
    NN_LOSS_CROSS_ENTROPY = 1,        /* with softmax outputs */
    NN_LOSS_BINARY_CROSS_ENTROPY = 2, /* with sigmoid outputs */
    NN_LOSS_MAE = 3,
    NN_LOSS_HUBER = 4                 /* "huber_delta", default 1 */
} nn_loss;
typedef enum { NN_OPT_SGD = 0, NN_OPT_ADAM = 1, NN_OPT_ADAMW = 2 } nn_opt;
typedef enum {
    NN_INIT_AUTO = 0,    /* config only: glorot for sigmoid/tanh/identity/softmax, he for relu-like */
    NN_INIT_GLOROT = 1,  /* U(-r, r), r = sqrt(6 / (fan_in + fan_out)) */
    NN_INIT_HE = 2       /* U(-r, r), r = sqrt(6 / fan_in) */
} nn_init;
typedef enum {
    NN_SCHED_NAME_CONSTANT = 0,
    NN_SCHED_NAME_STEP = 1,
    NN_SCHED_NAME_EXPONENTIAL = 2,
    NN_SCHED_NAME_COSINE = 3
} nn_sched_name;

/* Name <-> value; the names are the config's spelling.  *_from_name returns
 * -1 for an unknown name. */
const char *nn_loss_name(nn_loss l);
int nn_loss_from_name(const char *s);
const char *nn_opt_name(nn_opt o);
int nn_opt_from_name(const char *s);
const char *nn_init_name(nn_init i);
int nn_init_from_name(const char *s);
const char *nn_sched_name_name(nn_sched_name s);
int nn_sched_name_from_name(const char *s);

#endif
