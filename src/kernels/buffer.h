/* buffer.h - scratch kept by a kernel file from one call to the next (a
 * thread's own when declared _Thread_local), for packed operands.  Portable
 * C; internal to src/kernels.
 */
#ifndef NN_KERNELS_BUFFER_H
#define NN_KERNELS_BUFFER_H

#include <stddef.h>
#include <stdlib.h>

typedef struct {
    void *p;
    size_t cap;
} buffer;

/* At least n bytes, 64-byte aligned, kept for the next call; NULL when the
 * memory cannot be had. */
static inline void *buffer_get(buffer *b, size_t n)
{
    if (b->cap >= n)
        return b->p;
    n = (n + 4095) / 4096 * 4096;
    void *p = aligned_alloc(64, n);
    if (!p)
        return NULL;
    free(b->p);
    b->p = p;
    b->cap = n;
    return p;
}

#endif
