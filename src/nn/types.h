/* types.h - names shared by the config, the model and the checkpoint.
 * The numeric values are stored in checkpoints: append, never renumber. */
#ifndef NN_TYPES_H
#define NN_TYPES_H

#define NN_MAX_LAYERS 64      /* dense layers in a model */
#define NN_MAX_UNITS 65536    /* units in one layer */
#define NN_MAX_FEATURES (1 << 24) /* input features of one sample */

typedef enum { NN_ACT_IDENTITY = 0, NN_ACT_SIGMOID = 1 } nn_act;
typedef enum { NN_LOSS_MSE = 0 } nn_loss;
typedef enum { NN_OPT_SGD = 0 } nn_opt;
typedef enum {
    NN_SCALE_NONE = 0,     /* features used as stored */
    NN_SCALE_UNIT = 1,     /* integer data divided by its type's maximum */
    NN_SCALE_MINMAX = 2,   /* (x - min) / (max - min), per feature, training set */
    NN_SCALE_STANDARD = 3, /* (x - mean) / std, per feature, training set */
    NN_SCALE_AUTO = 4      /* config only: unit for integer data, none otherwise */
} nn_scale;

/* Name <-> value; the names are the config's spelling.  *_from_name returns
 * -1 for an unknown name. */
const char *nn_act_name(nn_act a);
int nn_act_from_name(const char *s);
const char *nn_loss_name(nn_loss l);
int nn_loss_from_name(const char *s);
const char *nn_opt_name(nn_opt o);
int nn_opt_from_name(const char *s);
const char *nn_scale_name(nn_scale s);
int nn_scale_from_name(const char *s);

#endif
