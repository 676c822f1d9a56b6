#include "types.h"

#include <string.h>

static const char *const loss_names[] = {"mse", "cross_entropy", "binary_cross_entropy", "mae",
                                         "huber"};
static const char *const opt_names[] = {"sgd", "adam", "adamw"};
static const char *const init_names[] = {"auto", "glorot", "he"};
static const char *const sched_names[] = {"constant", "step", "exponential", "cosine"};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char *name_of(const char *const *names, int n, int v)
{
    return v >= 0 && v < n ? names[v] : "?";
}

static int value_of(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

const char *nn_loss_name(nn_loss l) { return name_of(loss_names, COUNT(loss_names), (int)l); }
int nn_loss_from_name(const char *s) { return value_of(loss_names, COUNT(loss_names), s); }
const char *nn_opt_name(nn_opt o) { return name_of(opt_names, COUNT(opt_names), (int)o); }
int nn_opt_from_name(const char *s) { return value_of(opt_names, COUNT(opt_names), s); }
const char *nn_init_name(nn_init i) { return name_of(init_names, COUNT(init_names), (int)i); }
int nn_init_from_name(const char *s) { return value_of(init_names, COUNT(init_names), s); }
const char *nn_sched_name_name(nn_sched_name s) { return name_of(sched_names, COUNT(sched_names), (int)s); }
int nn_sched_name_from_name(const char *s) { return value_of(sched_names, COUNT(sched_names), s); }
