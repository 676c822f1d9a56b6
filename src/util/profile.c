#include "util/profile.h"

#include "util/progress.h"

bool nn_prof_enabled;
double nn_prof_seconds[NN_PROF_PHASES];

static const char *const names[NN_PROF_PHASES] = {"data", "forward", "loss", "backward",
                                                  "optimizer", "kernels"};

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

void nn_prof_report(FILE *f, bool json, long long epoch, double seconds)
{
    double total = seconds > 0 ? seconds : 1e-300;
    double outside = seconds - nn_prof_seconds[NN_PROF_KERNELS];
    if (json) {
        fprintf(f, "{\"profile_epoch\":%lld,\"seconds\":%.6f", epoch, seconds);
        for (int i = 0; i < NN_PROF_PHASES; i++)
            fprintf(f, ",\"%s_seconds\":%.6f", names[i], nn_prof_seconds[i]);
        fprintf(f, ",\"outside_kernels_seconds\":%.6f,\"outside_kernels_share\":%.4f}\n",
                outside, outside / total);
    } else {
        fprintf(f, "profile epoch %lld: %.3f s", epoch, seconds);
        for (int i = 0; i < NN_PROF_PHASES; i++)
            fprintf(f, "%s %s %.3f s (%.1f%%)", i == 0 || i == NN_PROF_KERNELS ? ";" : ",",
                    names[i], nn_prof_seconds[i], 100.0 * nn_prof_seconds[i] / total);
        fprintf(f, "; outside the kernels %.3f s (%.1f%%)\n", outside, 100.0 * outside / total);
    }
    fflush(f);
}
