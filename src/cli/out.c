/* out.c - results on stdout that may stop being read (out.h). */
#include "cli/out.h"

#include <errno.h>
#include <poll.h>
#include <sys/stat.h>

static bool stopped; /* a write failed: write no more */
static int failure;  /* 0 (none, or EPIPE), errno, or -1 */

/* f is a pipe (or socket) with nobody left to read it. */
static bool reader_gone(FILE *f)
{
    int fd = fileno(f);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
        return false;
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP));
}

bool nn_out_flush(FILE *f)
{
    if (stopped)
        return false;
    errno = 0;
    int rc = fflush(f);
    int e = errno;
    if (rc == 0 && !ferror(f))
        return true;
    stopped = true;
    /* fflush failed: errno is its write's.  Only the error flag: an
     * implicit flush inside an earlier fprintf failed, errno is gone. */
    if (rc != 0 && e == EPIPE)
        return false;
    if (rc == 0 || e == 0)
        failure = reader_gone(f) ? 0 : -1;
    else
        failure = e;
    return false;
}

bool nn_out_open(void)
{
    return !stopped;
}

int nn_out_error(void)
{
    return failure;
}
