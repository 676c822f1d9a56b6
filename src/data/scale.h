/* scale.h - the input scaling kinds ("data.scale"): how each feature is
 * mapped before it reaches the model (data/batch.h fits and applies them).
 * The numeric values are stored in checkpoints: append, never renumber. */
#ifndef NN_SCALE_H
#define NN_SCALE_H

typedef enum {
    NN_SCALE_NONE = 0,     /* features used as stored */
    NN_SCALE_UNIT = 1,     /* integer data divided by its type's maximum */
    NN_SCALE_MINMAX = 2,   /* (x - min) / (max - min), per feature, training set */
    NN_SCALE_STANDARD = 3, /* (x - mean) / std, per feature, training set */
    NN_SCALE_AUTO = 4      /* config only: unit for integer data, none otherwise */
} nn_scale;

/* Name <-> value; the names are the config's spelling.  nn_scale_from_name
 * returns -1 for an unknown name; nn_scale_name gives "?" for an unknown
 * value. */
const char *nn_scale_name(nn_scale s);
int nn_scale_from_name(const char *s);

#endif
