/* version.h - nntrain's version, written into checkpoints, shown by
 * --version and reported by the library: one number for the program and
 * libnntrain, defined in the public header. */
#ifndef NN_VERSION_H
#define NN_VERSION_H

#include "nntrain.h"

#define NN_VERSION NNTRAIN_VERSION_STRING

#endif
