/* plot_out.c - --plot: the learning curves of a checkpoint to stdout, and
 * an --eval plot to a file, each written whole or not at all (the SVG is
 * built in memory by eval/plot.c first). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint/checkpoint.h"
#include "cli/cli.h"
#include "eval/plot.h"
#include "util/file.h"

int nn_cli_plot(const char *ckpt_path, const nn_run_opts *o, nn_error *err)
{
    nn_ckpt c;
    if (nn_ckpt_load(ckpt_path, &c, err) < 0)
        return -1;
    char *svg;
    size_t n;
    int rc = nn_plot_history(&c, ckpt_path, &svg, &n, err);
    nn_ckpt_free(&c);
    if (rc < 0)
        return -1;
    /* one write; main's final flush reports a failure */
    if (fwrite(svg, 1, n, o->out) != n) {
        int e = errno;
        free(svg);
        nn_error_set(err, NN_EXIT_RUNTIME, "error writing to standard output: %s", strerror(e));
        return -1;
    }
    free(svg);
    return 0;
}

int nn_cli_write_file(const char *path, const char *data, size_t n, nn_error *err)
{
    int folder_only;
    if (nn_replace_file(path, data, n, &folder_only) == 0)
        return 0;
    nn_error_set(err, NN_EXIT_RUNTIME, "%s: %s%s", path,
                 folder_only ? "cannot sync its folder: " : "", strerror(errno));
    return -1;
}
