/* file.c - writing a whole file atomically (file.h). */
#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int nn_write_all(int fd, const void *data, size_t n)
{
    const unsigned char *p = data;
    while (n > 0) {
        ssize_t put = write(fd, p, n);
        if (put < 0 && errno == EINTR)
            continue;
        if (put < 0)
            return -1;
        if (put == 0) { /* no progress and no reason given */
            errno = EIO;
            return -1;
        }
        p += put;
        n -= (size_t)put;
    }
    return 0;
}

int nn_fsync_retry(int fd)
{
    int rc;
    do
        rc = fsync(fd);
    while (rc != 0 && errno == EINTR);
    return rc;
}

char *nn_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = !slash ? 0 : slash == path ? 1 : (size_t)(slash - path);
    char *dir = malloc(n ? n + 1 : 2);
    if (!dir)
        return NULL;
    if (n) {
        memcpy(dir, path, n);
        dir[n] = '\0';
    } else {
        strcpy(dir, ".");
    }
    return dir;
}

int nn_open_temp(const char *path, char *tmp, size_t cap)
{
    for (unsigned k = 0; k < 1000; k++) {
        snprintf(tmp, cap, "%s.tmp.%ld.%u", path, (long)getpid(), k);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0 || (errno != EEXIST && errno != EINTR))
            return fd;
    }
    errno = EEXIST;
    return -1;
}

int nn_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = nn_fsync_retry(fd);
    int e = errno;
    close(fd);
    if (rc != 0 && e != EINVAL) {
        errno = e;
        return -1;
    }
    return 0;
}

int nn_replace_file(const char *path, const void *data, size_t n, int *folder_only)
{
    *folder_only = 0;
    size_t cap = strlen(path) + 64;
    char *tmp = malloc(cap);
    char *dir = nn_parent_dir(path);
    int e = 0;
    if (!tmp || !dir) {
        e = ENOMEM;
        goto out;
    }
    int fd = nn_open_temp(path, tmp, cap);
    if (fd < 0) {
        e = errno;
        goto out;
    }
    if (nn_write_all(fd, data, n) != 0 || nn_fsync_retry(fd) != 0)
        e = errno;
    if (close(fd) != 0 && !e) /* NFS and others report a full disk here */
        e = errno;
    if (!e && rename(tmp, path) != 0)
        e = errno;
    if (e) {
        unlink(tmp);
        goto out;
    }
    if (nn_sync_dir(dir) != 0) {
        e = errno;
        *folder_only = 1;
    }
out:
    free(tmp);
    free(dir);
    if (e) {
        errno = e;
        return -1;
    }
    return 0;
}
