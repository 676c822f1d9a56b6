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
    memset(l, 0, sizeof *l);
}
