/* dataset.c - element types and access to a data set in memory (see dataset.h). */
#include "data/dataset.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t nn_dtype_size(int code)
{
    switch (code) {
    case NN_DT_U8:
    case NN_DT_I8:
        return 1;
    case NN_DT_I16:
        return 2;
    case NN_DT_I32:
    case NN_DT_F32:
        return 4;
    case NN_DT_F64:
        return 8;
    default:
        return 0;
    }
}

const char *nn_dtype_name(int code)
{
    switch (code) {
    case NN_DT_U8:
        return "ubyte";
    case NN_DT_I8:
        return "byte";
    case NN_DT_I16:
        return "short";
    case NN_DT_I32:
        return "int";
    case NN_DT_F32:
        return "float";
    case NN_DT_F64:
        return "double";
    default:
        return "?";
    }
}

double nn_dtype_max(nn_dtype t)
{
    switch (t) {
    case NN_DT_U8:
        return 255.0;
    case NN_DT_I8:
        return 127.0;
    case NN_DT_I16:
        return 32767.0;
    case NN_DT_I32:
        return 2147483647.0;
    default:
        return 0.0;
    }
}

double nn_dataset_get(const nn_dataset *d, size_t r, size_t i)
{
    size_t k = r * d->features + i;
    switch (d->type) {
    case NN_DT_U8:
        return ((const uint8_t *)d->x)[k];
    case NN_DT_I8:
        return ((const int8_t *)d->x)[k];
    case NN_DT_I16:
        return ((const int16_t *)d->x)[k];
    case NN_DT_I32:
        return ((const int32_t *)d->x)[k];
    case NN_DT_F32:
        return ((const float *)d->x)[k];
    case NN_DT_F64:
        return ((const double *)d->x)[k];
    }
    return 0.0;
}

void nn_dataset_free(nn_dataset *d)
{
    if (!d)
        return;
    free(d->x);
    free(d->labels);
    if (d->class_names)
        for (int32_t i = 0; i < d->n_classes; i++)
            free(d->class_names[i]);
    free(d->class_names);
    free(d->targets);
    memset(d, 0, sizeof *d);
}

int nn_dataset_column_means(const nn_dataset *d, const uint32_t *idx, size_t n, float *means)
{
    if (d->type != NN_DT_F32)
        return -1;
    const float *x = d->x;
    for (size_t j = 0; j < d->features; j++) {
        double sum = 0;
        size_t cnt = 0;
        for (size_t r = 0; r < n; r++) {
            float v = x[(size_t)(idx ? idx[r] : r) * d->features + j];
            if (!isnan(v)) {
                sum += v;
                cnt++;
            }
        }
        means[j] = cnt ? (float)(sum / (double)cnt) : 0.0f;
    }
    return 0;
}

size_t nn_dataset_fill_missing(nn_dataset *d, const float *means)
{
    if (d->type != NN_DT_F32)
        return 0;
    float *x = d->x;
    size_t filled = 0;
    for (size_t r = 0; r < d->n; r++)
        for (size_t j = 0; j < d->features; j++)
            if (isnan(x[r * d->features + j])) {
                x[r * d->features + j] = means[j];
                filled++;
            }
    return filled;
}
