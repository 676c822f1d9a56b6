/* pool.h - the persistent pool of worker threads, a service of its own that
 * the kernels (kernels/), the batch conversion (data/) and the optimizer's
 * update (nn/) share.
 *
 * A kernel cuts its output into a fixed grid of tiles that depends only on
 * the shapes, groups consecutive tiles into chunks, and hands the chunks to
 * nn_pool_run().  Each tile is computed start to finish by one thread in a
 * fixed order, so which thread runs it (and how many there are) cannot
 * change a single bit of the result.  Threads take chunks from a shared
 * counter as they come free (runs of them, shorter as fewer are left), so
 * a thread the system has not scheduled yet holds nobody up: the others
 * take its share.
 */
#ifndef NN_POOL_H
#define NN_POOL_H

/* Products below this many floating-point operations (2 * M * N * K) run on
 * the calling thread alone: waking workers would cost more than it saves. */
#define NN_POOL_MIN_FLOPS 1000000.0

/* At most this many chunks per product: enough to balance two to a few
 * threads, few enough that each chunk keeps its operands in cache. */
#define NN_POOL_MAX_CHUNKS 64

typedef void (*nn_pool_fn)(void *ctx, long chunk);

/* Worker threads the pool may use, 1..1024 (values outside are clamped);
 * 1 until this is called.  The threads are started on first use and kept.
 * Small jobs run on the calling thread alone whatever n is.  Results of
 * every user of the pool do not depend on n. */
void nn_pool_set_threads(int n);

/* Threads to use for a product of `flops`: 1 below NN_POOL_MIN_FLOPS, else
 * the count set by nn_pool_set_threads(). */
int nn_pool_threads_for(double flops);

/* Calls fn(ctx, c) once for every c = 0..chunks-1, on the calling thread and
 * up to n - 1 pool workers, and returns when every call has returned.  The
 * calls for different chunks must write disjoint memory.  Any thread may
 * call it, also while another thread's job runs: the pool serves one job
 * at a time, and a caller that finds it busy runs all its chunks itself
 * (the results are the same). */
void nn_pool_run(nn_pool_fn fn, void *ctx, long chunks, int n);

/* The tiles [*lo, *hi) of chunk c when `tiles` tiles are cut into `chunks`
 * chunks. */
static inline void nn_pool_chunk(long tiles, long chunks, long c, long *lo, long *hi)
{
    *lo = (long)((long long)tiles * c / chunks);
    *hi = (long)((long long)tiles * (c + 1) / chunks);
}

#endif
