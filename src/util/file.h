/* file.h - the pieces of writing a whole file atomically, shared by the
 * checkpoint, the ONNX export and the command line's pictures: a new
 * temporary beside the target, written whole and synced, then renamed over
 * it, then its folder synced.  Each returns -1 with errno set on failure
 * (the caller words the error). */
#ifndef NN_FILE_H
#define NN_FILE_H

#include <stddef.h>

/* All n bytes to fd, retrying after EINTR and short writes (a write that
 * makes no progress and gives no reason is EIO). */
int nn_write_all(int fd, const void *p, size_t n);

/* fsync, retried after EINTR. */
int nn_fsync_retry(int fd);

/* The folder of path ("." for a bare name, "/" for a file in the root),
 * malloc'd; NULL when out of memory. */
char *nn_parent_dir(const char *path);

/* Creates a new "<path>.tmp.<pid>.<k>" (O_EXCL, mode 0644) and returns its
 * descriptor, with its name in tmp[cap] (cap >= strlen(path) + 64). */
int nn_open_temp(const char *path, char *tmp, size_t cap);

/* Syncs the folder dir so a rename in it is on disk; a file system that
 * cannot sync a folder (EINVAL) is accepted. */
int nn_sync_dir(const char *dir);

/* n bytes at data to path, whole or not at all: a new temporary written,
 * synced and renamed over path (removed on every failure), then path's
 * folder synced.  0, or -1 with errno set and *folder_only 1 when only the
 * folder's sync failed (the new file is in place, but may not survive a
 * crash), else 0. */
int nn_replace_file(const char *path, const void *data, size_t n, int *folder_only);

#endif
