/* activation.c - the activation names (activation.h). */
#include "math/activation.h"

#include <string.h>

static const char *const act_names[] = {"identity", "sigmoid", "tanh",     "relu",
                                        "leaky_relu", "elu",    "softplus", "softmax"};
enum { N_ACT = (int)(sizeof act_names / sizeof act_names[0]) };

const char *nn_act_name(nn_act a)
{
    return (int)a >= 0 && (int)a < N_ACT ? act_names[a] : "?";
}

int nn_act_from_name(const char *s)
{
    for (int i = 0; i < N_ACT; i++)
        if (strcmp(act_names[i], s) == 0)
            return i;
    return -1;
}
