/* slices.c - a dense layer's gradients as a fixed tree of slice sums
 * (slices.h).
 *
 * The layer's output units are cut into blocks of BLOCK_ROWS; for each
 * block a thread copies the block's columns of dZ into a contiguous
 * (B, rows) piece, computes each slice's partial weight and bias gradient
 * from zero with the kernel table's own product, and adds the partials in
 * the tree as they come (a stack of at most log2(S) + 1 partials: after
 * slice s, the top two are added once for each trailing 1 bit of s).  The
 * block's partials stay in the L2 cache; only the finished sum reaches the
 * gradient (or the weights, for a fused SGD step).  Every block is computed
 * the same way whichever thread takes it, so the bits do not depend on the
 * thread count either.
 */
#include "nn/slices.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pool/pool.h"

/* Output units per block: the block's partials, (log2(S) + 1) x 32 x in
 * floats, stay in L2 (512 KB for in = 1024 and S = 8). */
#define BLOCK_ROWS 32

int nn_slicing_first_row(const nn_slicing *sl, int B)
{
    int first, unused;
    nn_slice_rows(sl->rows > 0 ? sl->rows : B, sl->S, sl->lo, &first, &unused);
    return first;
}

int nn_slices_levels(const nn_slicing *sl)
{
    int n = sl ? sl->hi - sl->lo : 1, l = 1;
    while ((1 << (l - 1)) < n)
        l++;
    return l;
}

/* floats of one part's work space: the block's dZ, the stack of weight
 * partials, the stack of bias ones */
static size_t slot_floats(int levels, int in, int B)
{
    return ((size_t)B * BLOCK_ROWS + (size_t)levels * BLOCK_ROWS * ((size_t)in + 1) + 15) / 16 *
           16;
}

int nn_slicing_init(nn_slicing *sl, int S, int lo, int hi, int widest, int max_in, int max_batch,
                    int threads)
{
    *sl = (nn_slicing){.S = S, .lo = lo, .hi = hi};
    int levels = nn_slices_levels(sl);
    size_t slot = slot_floats(levels, max_in, max_batch);
    if (threads < 1)
        threads = 1;
    sl->floats = slot * (size_t)threads;
    sl->mem = aligned_alloc(64, sl->floats * sizeof(float));
    sl->sink = malloc(sizeof(float) * (size_t)(widest > 0 ? widest : 1));
    sl->dstack = malloc(sizeof(double) * (size_t)levels * 2 * (size_t)(widest > 0 ? widest : 1));
    if (!sl->mem || !sl->sink || !sl->dstack) {
        nn_slicing_free(sl);
        return -1;
    }
    return 0;
}

void nn_slicing_free(nn_slicing *sl)
{
    free(sl->mem);
    free(sl->sink);
    free(sl->dstack);
    sl->mem = sl->sink = NULL;
    sl->dstack = NULL;
    sl->floats = 0;
}

typedef struct {
    const nn_kernels *k;
    float *dW, *db;
    const float *dZ, *X;
    int B, rows, in, out, S, lo, hi, levels, sgd;
    float lr, wd;
    long blocks, parts;
    float *mem;
    size_t slot; /* floats per part */
} slice_job;

/* a[i] += b[i]: one node of the tree */
static void add_into(float *restrict a, const float *restrict b, size_t n)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++)
        a[i] += b[i];
}

/* The finished sums of units [r0, r0 + nr): into the gradient, or the SGD
 * step of nn_optim_sgd_plain. */
static void finish(const slice_job *j, int r0, int nr, const float *G, const float *g)
{
    size_t in = (size_t)j->in;
    for (int r = 0; r < nr; r++) {
        float *w = j->dW + (size_t)(r0 + r) * in;
        const float *s = G + (size_t)r * in;
        if (!j->sgd) {
            add_into(w, s, in);
            continue;
        }
        float lr = j->lr, wd = j->wd;
#pragma omp simd
        for (size_t c = 0; c < in; c++) {
            float gc = s[c] + wd * w[c];
            w[c] -= lr * gc;
        }
    }
    if (!j->db)
        return;
    for (int r = 0; r < nr; r++) {
        if (j->sgd) {
            float gb = g[r] + 0.0f * j->db[r0 + r];
            j->db[r0 + r] -= j->lr * gb;
        } else {
            j->db[r0 + r] += g[r];
        }
    }
}

/* The process's rows of slice s: [*lo, *hi) of its dZ and X. */
static void local_rows(const slice_job *j, int s, int *lo, int *hi)
{
    int first, unused;
    nn_slice_rows(j->rows, j->S, j->lo, &first, &unused);
    nn_slice_rows(j->rows, j->S, s, lo, hi);
    *lo -= first;
    *hi -= first;
}

static void block(const slice_job *j, float *slot, long b)
{
    int r0 = (int)b * BLOCK_ROWS, nr = j->out - r0 < BLOCK_ROWS ? j->out - r0 : BLOCK_ROWS;
    size_t in = (size_t)j->in, part = (size_t)BLOCK_ROWS * in;
    float *zb = slot, *stack = zb + (size_t)j->B * BLOCK_ROWS,
          *bstack = stack + (size_t)j->levels * part;
    for (int i = 0; i < j->B; i++)
        memcpy(zb + (size_t)i * nr, j->dZ + (size_t)i * j->out + r0, sizeof(float) * nr);
    int depth = 0;
    for (int s = j->lo; s < j->hi; s++) {
        int lo, hi;
        local_rows(j, s, &lo, &hi);
        float *p = stack + (size_t)depth * part, *pb = bstack + (size_t)depth * BLOCK_ROWS;
        memset(p, 0, sizeof(float) * (size_t)nr * in);
        memset(pb, 0, sizeof(float) * BLOCK_ROWS);
        if (hi > lo)
            j->k->dense_backward_weights(p, zb + (size_t)lo * nr, j->X + (size_t)lo * in, hi - lo,
                                         j->in, nr);
        for (int i = lo; i < hi; i++)
            add_into(pb, zb + (size_t)i * nr, (size_t)nr);
        depth++;
        /* the tree: after the t-th leaf, one node for each trailing 0 bit
         * of t, the left (lower) operand first */
        for (int t = s - j->lo + 1; !(t & 1); t >>= 1, depth--) {
            add_into(stack + (size_t)(depth - 2) * part, stack + (size_t)(depth - 1) * part,
                     (size_t)nr * in);
            add_into(bstack + (size_t)(depth - 2) * BLOCK_ROWS,
                     bstack + (size_t)(depth - 1) * BLOCK_ROWS, (size_t)nr);
        }
    }
    finish(j, r0, nr, stack, bstack);
}

static void part_run(void *ctx, long c)
{
    const slice_job *j = ctx;
    long lo, hi;
    nn_pool_chunk(j->blocks, j->parts, c, &lo, &hi);
    for (long b = lo; b < hi; b++)
        block(j, j->mem + (size_t)c * j->slot, b);
}

void nn_slices_dense(nn_slicing *sl, const nn_kernels *k, float *dW, float *db, const float *dZ,
                     const float *X, int B, int in, int out, int sgd, float lr, float wd)
{
    slice_job j = {.k = k, .dW = dW, .db = db, .dZ = dZ, .X = X, .B = B,
                   .rows = sl->rows > 0 ? sl->rows : B, .in = in, .out = out, .S = sl->S,
                   .lo = sl->lo, .hi = sl->hi, .levels = nn_slices_levels(sl), .sgd = sgd,
                   .lr = lr, .wd = wd, .blocks = (out + BLOCK_ROWS - 1) / BLOCK_ROWS};
    j.slot = slot_floats(j.levels, in, B);
    long fit = (long)(sl->floats / j.slot); /* at least 1: the model sized it */
    int threads = nn_pool_threads_for(2.0 * B * in * out);
    j.parts = threads < j.blocks ? threads : j.blocks;
    if (j.parts > fit)
        j.parts = fit;
    j.mem = sl->mem;
    nn_pool_run(part_run, &j, j.parts, threads);
}

void nn_slices_column_sums(const nn_slicing *sl, int B, size_t n, nn_slice_leaf leaf, void *ctx,
                           double *stack, double *out)
{
    if (!sl || sl->S <= 1) {
        leaf(ctx, 0, B, out);
        return;
    }
    int rows = sl->rows > 0 ? sl->rows : B, first, unused, depth = 0;
    nn_slice_rows(rows, sl->S, sl->lo, &first, &unused);
    for (int s = sl->lo; s < sl->hi; s++) {
        int lo, hi;
        nn_slice_rows(rows, sl->S, s, &lo, &hi);
        leaf(ctx, lo - first, hi - first, stack + (size_t)depth * n);
        depth++;
        for (int t = s - sl->lo + 1; !(t & 1); t >>= 1, depth--) {
            double *a = stack + (size_t)(depth - 2) * n, *b = stack + (size_t)(depth - 1) * n;
            for (size_t i = 0; i < n; i++)
                a[i] += b[i];
        }
    }
    memcpy(out, stack, sizeof(double) * n);
}
