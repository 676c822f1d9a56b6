/* file.c - checkpoints in memory and on disk: decoding by format, freeing,
 * reading a whole file with a size limit, and writing atomically
 * (checkpoint.h).
 *
 * Saving builds the whole file in memory, writes it to "<path>.tmp.<pid>.<k>"
 * (created with O_EXCL, mode 0644 less the umask) in the target's folder,
 * fsyncs and closes it, renames it over the target and fsyncs the folder.
 * A missing parent folder is created with all its missing ancestors, like
 * `mkdir -p` (mode 0777 less the umask). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "checkpoint/internal.h"
#include "util/file.h"

int nn_ckpt_decode(const void *data, size_t n, const char *name, nn_ckpt *c, nn_error *err)
{
    memset(c, 0, sizeof *c);
    uint32_t version = 0;
    nn_ckpt_section *secs;
    size_t count;
    if (nn_ckpt_frame_parse(data, n, name, &version, &secs, &count, err) != 0)
        return -1;
    int rc = version == 3 ? nn_ckpt_decode_v3(secs, count, name, c, err)
                          : nn_ckpt_decode_v4(secs, count, version, name, c, err);
    free(secs);
    if (rc != 0)
        nn_ckpt_free(c);
    return rc;
}

void nn_ckpt_free(nn_ckpt *c)
{
    if (!c)
        return;
    free(c->version);
    free(c->config_json);
    free(c->shift);
    free(c->mult);
    free(c->params);
    free(c->ema);
    free(c->opt_state);
    if (c->class_names)
        for (int i = 0; i < c->n_classes; i++)
            free(c->class_names[i]);
    free(c->class_names);
    nn_data_layout_free(&c->layout);
    free(c->state);
    free(c->acc_reg);
    free(c->target_mean);
    free(c->target_std);
    nn_history_free(&c->hist);
    memset(c, 0, sizeof *c);
}

/* ---- files --------------------------------------------------------------- */

static int sys_error(nn_error *err, const char *path, int e)
{
    nn_error_set(err, NN_EXIT_RUNTIME, "%s: %s", path, strerror(e));
    return -1;
}

/* Reads all of path into *out (*n bytes), refusing more than the limit. */
static int read_whole(const char *path, unsigned char **out, size_t *n, nn_error *err)
{
    *out = NULL;
    *n = 0;
    int fd;
    do
        fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return sys_error(err, path, errno);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return sys_error(err, path, e);
    }
    const uint64_t max = NN_CKPT_MAX_BYTES;
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
        close(fd);
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: %llu bytes, larger than a checkpoint can be "
                     "(4 GiB)", path, (unsigned long long)st.st_size);
        return -1;
    }
    /* The size from fstat is a hint (pipes report 0, files may grow). */
    size_t cap = 65536, len = 0;
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < SIZE_MAX)
        cap = (size_t)st.st_size + 1;
    unsigned char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", path);
        return -1;
    }
    for (;;) {
        if (len == cap) {
            if ((uint64_t)len > max) {
                free(buf);
                close(fd);
                nn_error_set(err, NN_EXIT_RUNTIME, "%s: larger than a checkpoint can be "
                             "(4 GiB)", path);
                return -1;
            }
            size_t ncap = cap < SIZE_MAX / 2 ? cap * 2 : SIZE_MAX;
            unsigned char *nb = ncap > cap ? realloc(buf, ncap) : NULL;
            if (!nb) {
                free(buf);
                close(fd);
                nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", path);
                return -1;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t got = read(fd, buf + len, cap - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return sys_error(err, path, e);
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    close(fd);
    if ((uint64_t)len > max) {
        free(buf);
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: larger than a checkpoint can be (4 GiB)", path);
        return -1;
    }
    *out = buf;
    *n = len;
    return 0;
}

int nn_ckpt_read_bytes(const char *path, unsigned char **out, uint64_t *n, nn_error *err)
{
    size_t got;
    int rc = read_whole(path, out, &got, err);
    *n = got;
    return rc;
}

int nn_ckpt_load(const char *path, nn_ckpt *c, nn_error *err)
{
    memset(c, 0, sizeof *c);
    unsigned char *buf;
    size_t n;
    if (read_whole(path, &buf, &n, err) != 0)
        return -1;
    int rc = nn_ckpt_decode(buf, n, path, c, err);
    free(buf);
    return rc;
}

/* Creates dir and its missing ancestors (mkdir -p); errno on failure. */
static int make_dirs(char *dir)
{
    size_t n = strlen(dir);
    for (size_t i = 1; i <= n; i++) {
        if (dir[i] != '/' && dir[i] != '\0')
            continue;
        if (dir[i - 1] == '/')
            continue;
        char keep = dir[i];
        dir[i] = '\0';
        int rc = mkdir(dir, 0777);
        int e = errno;
        dir[i] = keep;
        if (rc != 0 && e != EEXIST) {
            errno = e;
            return -1;
        }
    }
    return 0;
}

int nn_ckpt_save(const char *path, const nn_ckpt *c, nn_error *err)
{
    unsigned char *buf;
    size_t n;
    if (nn_ckpt_encode(c, &buf, &n, path, err) != 0)
        return -1;
    size_t cap = strlen(path) + 64;
    char *tmp = malloc(cap);
    char *dir = nn_parent_dir(path);
    if (!tmp || !dir) {
        free(buf);
        free(tmp);
        free(dir);
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", path);
        return -1;
    }

    int rc = -1;
    int fd = nn_open_temp(path, tmp, cap);
    if (fd < 0 && errno == ENOENT) {
        if (make_dirs(dir) != 0) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: cannot create folder %s: %s", path, dir,
                         strerror(errno));
            goto out;
        }
        fd = nn_open_temp(path, tmp, cap);
    }
    if (fd < 0) {
        sys_error(err, path, errno);
        goto out;
    }
    if (nn_write_all(fd, buf, n) != 0 || nn_fsync_retry(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        sys_error(err, path, e);
        goto out;
    }
    if (close(fd) != 0) { /* NFS and some others report a full disk here */
        int e = errno;
        unlink(tmp);
        sys_error(err, path, e);
        goto out;
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        sys_error(err, path, e);
        goto out;
    }
    /* The new file is in place; a failure here means it may not survive a
     * crash, which is still worth reporting. */
    if (nn_sync_dir(dir) != 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: cannot sync folder %s: %s", path, dir,
                     strerror(errno));
        goto out;
    }
    rc = 0;
out:
    free(buf);
    free(tmp);
    free(dir);
    return rc;
}
