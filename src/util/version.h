/* version.h - nntrain's version, written into checkpoints and shown by
 * --version. */
#ifndef NN_VERSION_H
#define NN_VERSION_H

#define NN_VERSION "0.1.0"

#endif
