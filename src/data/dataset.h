/* dataset.h - a data set in memory, features kept in their stored type.
 *
 * Features are `n` rows of `features` elements each, row-major, in the
 * element type of the file (bytes stay bytes), converted to host byte order
 * at load time.  They are turned into floats one mini-batch at a time
 * (data/batch.h).  Labels are class indices >= 0.
 */
#ifndef NN_DATASET_H
#define NN_DATASET_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    NN_DT_U8 = 0x08,  /* the IDX type codes */
    NN_DT_I8 = 0x09,
    NN_DT_I16 = 0x0B,
    NN_DT_I32 = 0x0C,
    NN_DT_F32 = 0x0D,
    NN_DT_F64 = 0x0E
} nn_dtype;

/* Size in bytes of one element; 0 for an unknown code. */
size_t nn_dtype_size(int code);
/* "ubyte", "byte", "short", "int", "float", "double"; "?" if unknown. */
const char *nn_dtype_name(int code);
/* Largest value of an integer type (255, 127, 32767, 2147483647); 0 for float types. */
double nn_dtype_max(nn_dtype t);

typedef struct {
    nn_dtype type;     /* element type of x */
    size_t n;          /* samples */
    size_t features;   /* elements per sample (product of the dimensions after the first) */
    int ndim;          /* dimensions of the images file, first one = n */
    uint32_t dims[8];
    void *x;           /* (n, features) of `type` */
    int32_t *labels;   /* (n,), NULL when the set has no labels */
    int32_t n_classes; /* 1 + largest label (or number of class names); 0 without labels */
    char **class_names; /* (n_classes,) the original string labels in sorted order, label i
                           is class_names[i]; NULL when the labels were integers */
    float *targets;    /* (n, n_targets) regression targets; NULL for classification */
    int n_targets;
} nn_dataset;

/* Element i of row r as a double. */
double nn_dataset_get(const nn_dataset *d, size_t r, size_t i);

void nn_dataset_free(nn_dataset *d);

/* Missing features (NaN in a float set, CSV "missing": "mean"): the mean of
 * each feature over rows idx[0..n) (all rows when idx is NULL), NaN left
 * out, 0 for a column with no value; -1 unless the set is float. */
int nn_dataset_column_means(const nn_dataset *d, const uint32_t *idx, size_t n, float *means);

/* Replaces each NaN feature of column j by means[j]; the number replaced. */
size_t nn_dataset_fill_missing(nn_dataset *d, const float *means);

#endif
