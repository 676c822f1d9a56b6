/* scale.c - the scaling kinds' names (scale.h). */
#include "data/scale.h"

#include <string.h>

static const char *const names[] = {"none", "unit", "minmax", "standard", "auto"};
enum { N_SCALE = (int)(sizeof names / sizeof names[0]) };

const char *nn_scale_name(nn_scale s)
{
    return (int)s >= 0 && (int)s < N_SCALE ? names[s] : "?";
}

int nn_scale_from_name(const char *s)
{
    for (int i = 0; i < N_SCALE; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}
