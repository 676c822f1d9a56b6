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

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

int nn_cli_write_file(const char *path, const char *data, size_t n, nn_error *err)
{
    size_t len = strlen(path);
    char *tmp = malloc(len + 48);
    if (!tmp) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        return -1;
    }
    int fd = -1;
    for (int k = 0; k < 100 && fd < 0; k++) {
        snprintf(tmp, len + 48, "%s.tmp.%ld.%d", path, (long)getpid(), k);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: %s", path, strerror(errno));
        free(tmp);
        return -1;
    }
    int e = 0;
    if (write_all(fd, data, n) < 0 || fsync(fd) < 0)
        e = errno ? errno : EIO;
    if (close(fd) < 0 && !e)
        e = errno;
    if (!e && rename(tmp, path) < 0)
        e = errno;
    if (e) {
        unlink(tmp);
        free(tmp);
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: %s", path, strerror(e));
        return -1;
    }
    free(tmp);
    return 0;
}
