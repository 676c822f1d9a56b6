/* limits.h - the sizes every part of nntrain agrees on: what the config
 * allows, the data may hold and a checkpoint may describe. */
#ifndef NN_LIMITS_H
#define NN_LIMITS_H

#define NN_MAX_LAYERS 64      /* declared layers in a model ("model.layers") */
#define NN_MAX_UNITS 65536    /* units in one layer */
#define NN_MAX_FEATURES (1 << 24) /* input features of one sample */

#endif
