#include "util/profile.h"

#include "util/clock.h"

bool nn_prof_enabled;
double nn_prof_seconds[NN_PROF_PHASES];

static const char *const names[NN_PROF_PHASES] = {"data", "forward", "loss", "backward",
                                                  "optimizer", "kernels", "communication"};

double nn_prof_begin(void)
{
    return nn_prof_enabled ? nn_now() : 0.0;
}

void nn_prof_end(nn_prof_phase phase, double started)
{
    if (nn_prof_enabled)
        nn_prof_seconds[phase] += nn_now() - started;
}

void nn_prof_reset(void)
{
    for (int i = 0; i < NN_PROF_PHASES; i++)
        nn_prof_seconds[i] = 0.0;
}

const char *nn_prof_phase_name(nn_prof_phase phase)
{
    return names[phase];
}
