/* signals.c - SIGINT and SIGTERM during training (signals.h). */
#include "cli/signals.h"

#include <stdbool.h>
#include <string.h>

volatile sig_atomic_t nn_cli_stop;

static struct sigaction int_old, term_old;
static bool caught;

static void on_stop_signal(int sig)
{
    if (nn_cli_stop) { /* the second one: stop now */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    nn_cli_stop = sig;
}

void nn_cli_signals_catch(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    nn_cli_stop = 0;
    sigaction(SIGINT, &sa, &int_old);
    sigaction(SIGTERM, &sa, &term_old);
    caught = true;
}

void nn_cli_signals_restore(void)
{
    if (!caught)
        return;
    sigaction(SIGINT, &int_old, NULL);
    sigaction(SIGTERM, &term_old, NULL);
    caught = false;
}
