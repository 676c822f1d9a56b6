/* stream.c - the plan of a streamed source and the passes over it
 * (stream.h). */
#include "data/stream.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "data/batch.h"
#include "util/rng.h"

/* generator streams of the streamed orders (batch.h has 1 to 4) */
enum { STREAM_BLOCKS = 5, STREAM_ROWS = 6, STREAM_HOLDOUT = 7 };

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

int nn_holdout_kind(uint64_t seed, double val_fraction, double test_fraction, uint64_t row)
{
    if (val_fraction <= 0 && test_fraction <= 0)
        return NN_ROW_TRAIN;
    uint64_t z = mix64(mix64(seed ^ (STREAM_HOLDOUT * 0xD1B54A32D192ED03u)) + row);
    double u = (double)(z >> 11) * 0x1.0p-53;
    if (u < test_fraction)
        return NN_ROW_TEST;
    if (u < test_fraction + val_fraction)
        return NN_ROW_VAL;
    return NN_ROW_TRAIN;
}

uint64_t nn_stream_epoch_seed(uint64_t seed, int64_t e)
{
    return mix64(seed ^ ((uint64_t)e * 0xD6E8FEB86659FD93u));
}

static void free_spares(nn_stream_plan *p)
{
    for (size_t i = 0; i < p->n_spare; i++) {
        nn_dataset_free(&p->spare[i]);
        free(p->spare_idx[i]);
    }
    p->n_spare = 0;
}

void nn_stream_plan_free(nn_stream_plan *p)
{
    if (!p)
        return;
    free_spares(p);
    free(p->count);
    memset(p, 0, sizeof *p);
}

/* Bytes a window row costs in memory: the row and its place in the order. */
static size_t window_row_bytes(const nn_rowsrc *src)
{
    return nn_rowsrc_row_bytes(src) + sizeof(uint32_t);
}

int nn_stream_plan_init(nn_stream_plan *p, const nn_rowsrc *src, double max_memory_mb,
                        uint64_t shuffle_buffer, uint64_t fixed_block, uint64_t fixed_window,
                        uint64_t seed, double val_fraction, double test_fraction, int slices,
                        nn_error *err)
{
    memset(p, 0, sizeof *p);
    p->src = src;
    p->n = src->n;
    p->seed = seed;
    p->val_fraction = val_fraction;
    p->test_fraction = test_fraction;
    size_t R = window_row_bytes(src);
    size_t xbytes = src->features * nn_dtype_size((int)src->type);
    double budget = max_memory_mb * 1048576.0;
    uint64_t W, B;
    if (p->n == 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: no rows to stream", src->name);
        return -1;
    }
    if (fixed_window) {
        if (!fixed_block || fixed_window % fixed_block) {
            nn_error_set(err, NN_EXIT_RUNTIME,
                         "%s: a streaming window of %llu rows is not a whole number of blocks "
                         "of %llu rows",
                         src->name, (unsigned long long)fixed_window,
                         (unsigned long long)fixed_block);
            return -1;
        }
        W = fixed_window;
        B = fixed_block;
    } else {
        if (shuffle_buffer) {
            W = shuffle_buffer;
            if (2.0 * (double)W * (double)R > budget) {
                nn_error_set(err, NN_EXIT_RUNTIME,
                             "%s: data.shuffle_buffer of %llu rows of %zu bytes does not fit "
                             "twice (the window in use and the next) in data.max_memory_mb "
                             "(%g MB)",
                             src->name, (unsigned long long)W, R, max_memory_mb);
                return -1;
            }
        } else {
            double w = budget / (2.0 * (double)R);
            if (w < 1) {
                nn_error_set(err, NN_EXIT_RUNTIME,
                             "%s: data.max_memory_mb (%g MB) does not hold two rows of %zu "
                             "bytes",
                             src->name, max_memory_mb, R);
                return -1;
            }
            W = w >= (double)UINT32_MAX ? UINT32_MAX : (uint64_t)w;
        }
        if (W > p->n)
            W = p->n;
        /* at most NN_STREAM_BLOCK_BYTES, and 8 blocks or more in a window,
         * so the windows' contents change from epoch to epoch */
        uint64_t S = slices > 1 ? (uint64_t)slices : 1;
        B = xbytes ? NN_STREAM_BLOCK_BYTES / xbytes : 1;
        if (B > W / 8 / S)
            B = W / 8 / S;
        if (B < 1)
            B = 1;
        W = W / B * B;
    }
    p->block_rows = B;
    p->window_rows = W;
    p->n_blocks = (p->n + B - 1) / B;
    p->blocks_per_window = W / B;
    p->n_windows = (p->n_blocks + p->blocks_per_window - 1) / p->blocks_per_window;
    if (p->n_blocks > SIZE_MAX / 3 / sizeof(uint32_t) ||
        !(p->count = calloc(3 * (size_t)p->n_blocks, sizeof(uint32_t)))) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory for %llu blocks", src->name,
                     (unsigned long long)p->n_blocks);
        return -1;
    }
    for (uint64_t r = 0; r < p->n; r++) {
        int k = nn_holdout_kind(seed, val_fraction, test_fraction, r);
        p->count[(size_t)k * p->n_blocks + r / B]++;
        p->total[k]++;
    }
    return 0;
}

int nn_stream_staging(nn_dataset *d, const nn_rowsrc *src, size_t cap, nn_error *err)
{
    memset(d, 0, sizeof *d);
    d->type = src->type;
    d->features = src->features;
    d->ndim = src->ndim;
    memcpy(d->dims, src->dims, sizeof d->dims);
    size_t esz = nn_dtype_size((int)src->type);
    if (cap == 0)
        cap = 1;
    d->x = malloc(cap * src->features * esz);
    if (src->has_targets) {
        d->n_targets = src->n_targets;
        d->targets = malloc(cap * (size_t)src->n_targets * sizeof(float));
    } else {
        d->labels = malloc(cap * sizeof(int32_t));
    }
    if (!d->x || (!d->labels && !d->targets)) {
        nn_dataset_free(d);
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory for %zu rows", src->name, cap);
        return -1;
    }
    return 0;
}

/* --- a pass -------------------------------------------------------------- */

enum { SLOT_FREE, SLOT_READY, SLOT_FAILED };

typedef struct {
    nn_dataset d;       /* cap rows; block j of the window at row j * block_rows */
    uint32_t *idx;      /* the rows of the pass's kind, in the pass's order */
    size_t n_idx;
    uint64_t w;         /* the window it holds */
    int state;
    nn_error err;
} slot;

struct nn_stream {
    nn_stream_plan *p;
    int kind;
    bool shuffle;
    uint64_t seed;
    uint64_t salt;      /* the part's, in the window shuffles' seeds (0: a whole pass) */
    uint32_t *order;    /* (n_blocks,) the blocks in the pass's order; NULL: file order */
    uint64_t g0, g1;    /* the pass's blocks: positions [g0, g1) of the order */
    uint64_t head;      /* rows of the kind of block g0 before the range */
    uint64_t tail;      /* rows of the kind of block g1 - 1 up to the range's end */
    uint64_t bpw, n_windows;
    size_t cap;         /* rows of a window's buffer */
    slot s[2];
    uint64_t w0, skip0; /* the first window, and the rows of it to skip */
    pthread_t th;
    bool running;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    uint64_t w;         /* the window being used */
    size_t pos;         /* in its idx */
};

static uint64_t block_at(const nn_stream *s, uint64_t g)
{
    return s->order ? s->order[g] : g;
}

static uint64_t block_of(const nn_stream *s, uint64_t w, uint64_t j)
{
    return block_at(s, s->g0 + w * s->bpw + j);
}

/* Rows of the pass's kind in block b. */
static uint64_t block_count(const nn_stream_plan *p, int kind, uint64_t b)
{
    if (kind == NN_ROW_ANY) {
        uint64_t a = b * p->block_rows, e = a + p->block_rows;
        return (e < p->n ? e : p->n) - a;
    }
    return p->count[(size_t)kind * p->n_blocks + b];
}

/* The rows of the kind of the block at position g of the order that are in
 * the pass's range: [*klo, *khi), counted from the block's first. */
static void block_span(const nn_stream *s, uint64_t g, uint64_t *klo, uint64_t *khi)
{
    *klo = g == s->g0 ? s->head : 0;
    *khi = g + 1 == s->g1 ? s->tail : block_count(s->p, s->kind, block_at(s, g));
}

/* Reads window w into sl: of each block, the file rows from the first to
 * the last of the range's rows of the kind, and their order. */
static int load_window(nn_stream *s, slot *sl, uint64_t w)
{
    nn_stream_plan *p = s->p;
    const nn_rowsrc *src = p->src;
    size_t esz = nn_dtype_size((int)src->type), F = src->features, K = (size_t)src->n_targets;
    sl->n_idx = 0;
    sl->w = w;
    for (uint64_t j = 0; j < s->bpw; j++) {
        uint64_t g = s->g0 + w * s->bpw + j;
        if (g >= s->g1)
            break;
        uint64_t klo, khi;
        block_span(s, g, &klo, &khi);
        if (khi <= klo)
            continue;
        uint64_t b = block_at(s, g), a = b * p->block_rows, e = a + p->block_rows;
        if (e > p->n)
            e = p->n;
        size_t at = (size_t)(j * p->block_rows);
        uint64_t ra = e, re = a, k = 0;
        for (uint64_t r = a; r < e && k < khi; r++) {
            if (s->kind != NN_ROW_ANY &&
                nn_holdout_kind(p->seed, p->val_fraction, p->test_fraction, r) != s->kind)
                continue;
            if (k++ < klo)
                continue;
            if (r < ra)
                ra = r;
            re = r + 1;
            sl->idx[sl->n_idx++] = (uint32_t)(at + (r - a));
        }
        size_t o = at + (size_t)(ra - a);
        if (nn_rowsrc_read(src, ra, re, (unsigned char *)sl->d.x + o * F * esz,
                           sl->d.labels ? sl->d.labels + o : NULL,
                           sl->d.targets ? sl->d.targets + o * K : NULL, &sl->err) < 0)
            return -1;
        __atomic_fetch_add(&p->rows_read, re - ra, __ATOMIC_RELAXED);
    }
    if (s->shuffle && sl->n_idx > 1) {
        nn_rng g;
        nn_rng_seed(&g, s->seed ^ mix64(w + 1 + s->salt), STREAM_ROWS);
        nn_rng_shuffle(&g, sl->idx, sl->n_idx);
    }
    return 0;
}

static void *loader(void *arg)
{
    nn_stream *s = arg;
    for (uint64_t w = s->w0; w < s->n_windows; w++) {
        slot *sl = &s->s[w & 1];
        pthread_mutex_lock(&s->mu);
        while (sl->state != SLOT_FREE && !s->stop)
            pthread_cond_wait(&s->cv, &s->mu);
        bool stop = s->stop;
        pthread_mutex_unlock(&s->mu);
        if (stop)
            break;
        int rc = load_window(s, sl, w);
        pthread_mutex_lock(&s->mu);
        sl->state = rc < 0 ? SLOT_FAILED : SLOT_READY;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        if (rc < 0)
            break;
    }
    return NULL;
}

void nn_stream_stop(nn_stream *s)
{
    if (!s)
        return;
    if (s->running) {
        pthread_mutex_lock(&s->mu);
        s->stop = true;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->th, NULL);
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
    }
    /* the windows' buffers go back to the plan for its next passes (their
     * pages already mapped), while it has room for them */
    nn_stream_plan *p = s->p;
    for (int i = 0; i < 2; i++) {
        if (s->s[i].idx && s->cap == p->spare_cap && p->n_spare < NN_STREAM_SPARES) {
            p->spare[p->n_spare] = s->s[i].d;
            p->spare_idx[p->n_spare++] = s->s[i].idx;
        } else {
            nn_dataset_free(&s->s[i].d);
            free(s->s[i].idx);
        }
    }
    free(s->order);
    free(s);
}

uint64_t nn_stream_kind_rows(const nn_stream_plan *p, int kind)
{
    return kind == NN_ROW_ANY ? p->n : p->total[kind];
}

nn_stream *nn_stream_start_range(nn_stream_plan *p, const nn_stream_range *r, nn_error *err)
{
    nn_stream *s = calloc(1, sizeof *s);
    if (!s) {
        nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
        return NULL;
    }
    uint64_t total = nn_stream_kind_rows(p, r->kind);
    uint64_t from = r->from, to = r->to < total ? r->to : total;
    s->p = p;
    s->kind = r->kind;
    s->shuffle = r->shuffle;
    s->seed = r->order_seed;
    s->salt = (uint64_t)r->part << 40;
    s->bpw = r->window_blocks ? r->window_blocks : p->blocks_per_window;
    if (s->bpw > p->blocks_per_window)
        s->bpw = p->blocks_per_window;
    s->cap = (size_t)(s->bpw * p->block_rows);
    if (p->spare_cap != s->cap) { /* other buffers than this pass's: not of use */
        free_spares(p);
        p->spare_cap = s->cap;
    }
    for (int i = 0; i < 2; i++) {
        if (p->n_spare > 0) { /* an earlier pass's buffers */
            p->n_spare--;
            s->s[i].d = p->spare[p->n_spare];
            s->s[i].idx = p->spare_idx[p->n_spare];
            continue;
        }
        if (nn_stream_staging(&s->s[i].d, p->src, s->cap, err) < 0)
            goto fail;
        s->s[i].idx = malloc(sizeof(uint32_t) * s->cap);
        if (!s->s[i].idx) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory for a window of %zu rows",
                         p->src->name, s->cap);
            goto fail;
        }
    }
    if (r->shuffle) {
        if (p->n_blocks > UINT32_MAX ||
            !(s->order = malloc(sizeof(uint32_t) * (size_t)p->n_blocks))) {
            nn_error_set(err, NN_EXIT_RUNTIME, "out of memory");
            goto fail;
        }
        for (uint64_t b = 0; b < p->n_blocks; b++)
            s->order[b] = (uint32_t)b;
        nn_rng g;
        nn_rng_seed(&g, r->order_seed, STREAM_BLOCKS);
        nn_rng_shuffle(&g, s->order, (size_t)p->n_blocks);
    }
    /* the blocks of the range: from the one holding row `from` (the first
     * block when from is 0) to the one holding row to - 1 (the last when
     * the range ends with the pass) */
    if (from < to) {
        uint64_t before = 0, g = 0;
        for (;; g++) {
            uint64_t c = block_count(p, r->kind, block_at(s, g));
            if (from == 0 || before + c > from)
                break;
            before += c;
        }
        s->g0 = g;
        s->head = from - before;
        for (;; g++) {
            uint64_t c = block_count(p, r->kind, block_at(s, g));
            if (to < total && before + c >= to)
                break;
            if (to == total && g + 1 == p->n_blocks)
                break;
            before += c;
        }
        s->g1 = g + 1;
        s->tail = to - before;
    }
    s->n_windows = (s->g1 - s->g0 + s->bpw - 1) / s->bpw;
    /* the window the first row after `skip` is in */
    uint64_t left = r->skip;
    for (s->w0 = 0; s->w0 < s->n_windows; s->w0++) {
        uint64_t in = 0;
        for (uint64_t j = 0; j < s->bpw; j++) {
            uint64_t g = s->g0 + s->w0 * s->bpw + j, klo, khi;
            if (g >= s->g1)
                break;
            block_span(s, g, &klo, &khi);
            in += khi > klo ? khi - klo : 0;
        }
        if (left < in)
            break;
        left -= in;
    }
    if (s->w0 == s->n_windows && left > 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: cannot skip %llu rows of a pass with fewer",
                     p->src->name, (unsigned long long)r->skip);
        goto fail;
    }
    s->skip0 = left;
    s->w = s->w0;
    s->pos = (size_t)left;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->th, NULL, loader, s) != 0) {
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        nn_error_set(err, NN_EXIT_RUNTIME, "cannot start the data reading thread");
        goto fail;
    }
    s->running = true;
    return s;
fail:
    nn_stream_stop(s);
    return NULL;
}

nn_stream *nn_stream_start(nn_stream_plan *p, int kind, bool shuffle, uint64_t order_seed,
                           uint64_t skip, nn_error *err)
{
    nn_stream_range r = {kind, shuffle, order_seed, 0, UINT64_MAX, skip, 0, 0};
    return nn_stream_start_range(p, &r, err);
}

long nn_stream_next(nn_stream *s, nn_dataset *d, size_t cap, uint64_t *rows, nn_error *err)
{
    const nn_stream_plan *p = s->p;
    const nn_rowsrc *src = p->src;
    size_t F = src->features, esz = nn_dtype_size((int)src->type), K = (size_t)src->n_targets;
    size_t got = 0;
    while (got < cap && s->w < s->n_windows) {
        slot *sl = &s->s[s->w & 1];
        pthread_mutex_lock(&s->mu);
        while (sl->state == SLOT_FREE)
            pthread_cond_wait(&s->cv, &s->mu);
        int state = sl->state;
        pthread_mutex_unlock(&s->mu);
        if (state == SLOT_FAILED) {
            *err = sl->err;
            return -1;
        }
        for (; got < cap && s->pos < sl->n_idx; got++, s->pos++) {
            size_t r = sl->idx[s->pos];
            if (s->pos + 16 < sl->n_idx) /* a row 16 ahead, scattered over the window */
                nn_batch_prefetch(&sl->d, sl->idx + s->pos + 16, 1);
            memcpy((unsigned char *)d->x + got * F * esz,
                   (const unsigned char *)sl->d.x + r * F * esz, F * esz);
            if (d->labels)
                d->labels[got] = sl->d.labels[r];
            if (d->targets)
                memcpy(d->targets + got * K, sl->d.targets + r * K, K * sizeof(float));
            if (rows) {
                uint64_t j = r / p->block_rows;
                rows[got] = block_of(s, s->w, j) * p->block_rows + r % p->block_rows;
            }
        }
        if (s->pos >= sl->n_idx) {
            pthread_mutex_lock(&s->mu);
            sl->state = SLOT_FREE;
            pthread_cond_broadcast(&s->cv);
            pthread_mutex_unlock(&s->mu);
            s->w++;
            s->pos = 0;
        }
    }
    d->n = got;
    return (long)got;
}
