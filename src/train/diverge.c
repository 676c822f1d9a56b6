/* diverge.c - where a run that stopped being finite went wrong, for the
 * divergence messages (trainer.h). */
#include <math.h>
#include <stdio.h>

#include "nn/layer.h"
#include "train/trainer.h"

bool nn_first_nonfinite(const float *p, size_t n, size_t *at)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(p[i])) {
            *at = i;
            return true;
        }
    return false;
}

/* The first place, input side first: a layer's parameters (by the kind's
 * group names: weights, biases, scales, shifts) or its outputs of the last
 * batch. */
void nn_trainer_where_not_finite(const nn_model *m, int B, char *out, size_t cap)
{
    for (int l = 0; l < m->arch.n_layers; l++) {
        const nn_layer *y = &m->arch.layers[l];
        const nn_layer_ops *ops = nn_layer_ops_of(y->kind);
        const float *params = m->params + m->param_off[l];
        const char *what = NULL;
        size_t at;
        for (int g = 0; g < 2 && !what; g++) {
            size_t count = ops->group_size(y, g);
            if (nn_first_nonfinite(params, count, &at))
                what = ops->group_plural[g];
            params += count;
        }
        if (!what && nn_first_nonfinite(m->acts[l], (size_t)B * (size_t)y->out, &at))
            what = "outputs";
        if (what) {
            snprintf(out, cap, "first non-finite values in layer %d %s", y->origin + 1, what);
            return;
        }
    }
    snprintf(out, cap, "parameters and outputs finite, the loss overflowed");
}
