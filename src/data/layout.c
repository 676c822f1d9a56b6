/* layout.c - freeing a data layout (see layout.h). */
#include "data/layout.h"

#include <stdlib.h>
#include <string.h>

void nn_data_layout_free(nn_data_layout *l)
{
    if (!l)
        return;
    for (size_t i = 0; l->names && i < l->n_columns; i++)
        free(l->names[i]);
    free(l->names);
    free(l->target_cols);
    for (int i = 0; l->na_values && i < l->n_na; i++)
        free(l->na_values[i]);
    free(l->na_values);
    free(l->means);
    memset(l, 0, sizeof *l);
}

bool nn_data_layout_has_missing(const nn_data_layout *l)
{
    static const char *const defaults[] = {"", "NA", "NaN", "?", "null"};
    if (l->format != NN_FORMAT_CSV)
        return false;
    if (l->missing != 0 || l->n_means > 0 || l->n_na != 5)
        return true;
    for (int i = 0; i < 5; i++)
        if (!l->na_values || strcmp(l->na_values[i], defaults[i]) != 0)
            return true;
    return false;
}
