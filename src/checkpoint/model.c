/* model.c - the model a checkpoint holds (checkpoint.h). */
#include <string.h>

#include "checkpoint/checkpoint.h"

nn_model *nn_ckpt_model(const nn_ckpt *c, int max_batch, nn_error *err)
{
    nn_model *m = nn_model_create(&c->arch, max_batch, err);
    if (!m)
        return NULL;
    /* the loader checks the counts; keep the model safe anyway */
    if (m->n_params != c->n_params || m->n_state != c->n_state) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "checkpoint holds %zu parameters and %zu state values, its architecture "
                     "%zu and %zu",
                     c->n_params, c->n_state, m->n_params, m->n_state);
        nn_model_free(m);
        return NULL;
    }
    /* the moving average of the weights when training kept one */
    memcpy(m->params, c->ema ? c->ema : c->params, sizeof(float) * c->n_params);
    if (c->n_state)
        memcpy(m->state, c->state, sizeof(float) * c->n_state);
    return m;
}
