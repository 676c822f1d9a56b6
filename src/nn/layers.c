/* layers.c - the registry of layer kinds (layer.h): one line per kind. */
#include <string.h>

#include "nn/layer.h"

static const nn_layer_ops *const registry[NN_LAYER_KINDS] = {
    [NN_LAYER_DENSE] = &nn_layer_dense,
    [NN_LAYER_BATCH_NORM] = &nn_layer_batch_norm,
};

const nn_layer_ops *nn_layer_ops_of(nn_layer_kind kind)
{
    return registry[kind];
}

int nn_layer_kind_from_name(const char *name)
{
    for (int k = 0; k < NN_LAYER_KINDS; k++)
        if (strcmp(registry[k]->name, name) == 0)
            return k;
    return -1;
}
