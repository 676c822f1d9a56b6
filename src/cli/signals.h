/* signals.h - SIGINT and SIGTERM during training: the first one asks the
 * training loop to stop after its mini-batch and save (train/train.h's
 * `stop`), a second one ends the process at once (the default action). */
#ifndef NN_CLI_SIGNALS_H
#define NN_CLI_SIGNALS_H

#include <signal.h>

/* 0, or the first SIGINT/SIGTERM seen since nn_cli_signals_catch. */
extern volatile sig_atomic_t nn_cli_stop;

/* Installs the handlers (clearing nn_cli_stop); restore puts back what
 * was there before. */
void nn_cli_signals_catch(void);
void nn_cli_signals_restore(void);

#endif
