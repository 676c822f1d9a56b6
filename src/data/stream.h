/* stream.h - training on a source larger than memory: the plan of a
 * streamed source and the passes over it.
 *
 * A streamed source (rowsrc.h) is cut into blocks of block_rows consecutive
 * rows, and read a window of window_rows rows (whole blocks) at a time.  Two
 * windows are in memory at once: the one being used and the next one, which
 * a background thread reads meanwhile.  So the memory is bounded by
 * 2 x window_rows x (bytes of a row + 4), which the plan keeps within
 * data.max_memory_mb.
 *
 * A training epoch visits the blocks in an order shuffled by a generator
 * seeded from the seed and the epoch, and shuffles the rows inside each
 * window (data.shuffle_buffer rows) with a generator seeded from the seed,
 * the epoch and the window; without training.shuffle both orders are the
 * file's.  Against a full shuffle: a batch holds rows of one or two windows
 * only, and rows of one block always share a window; which blocks share a
 * window changes every epoch.  A window as large as the data is a full
 * shuffle, with its own generator.  Every order is a pure function of the
 * seed, the epoch and the plan, so a resumed epoch redraws it and skips the
 * rows already trained.
 *
 * Held-out rows are chosen by a rule on row numbers, not by a list: row r
 * is a test row when u(seed, r) < test_fraction, else a validation row when
 * u < test_fraction + validation_fraction, else a training row, u being a
 * hash of the seed and r mapped to [0, 1).  The shares are then close to
 * the fractions, not exact.
 *
 * A pass can be read in parts (nn_stream_start_range): ranges of its
 * sequence of rows, each with its own windows and reading thread, that
 * read each row once between them (the runs of training.slices,
 * train/stream.c).
 */
#ifndef NN_STREAM_H
#define NN_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"
#include "data/rowsrc.h"
#include "util/error.h"

enum { NN_ROW_TRAIN = 0, NN_ROW_VAL = 1, NN_ROW_TEST = 2, NN_ROW_ANY = 3 };

/* The holdout rule: what row r of a streamed source is (NN_ROW_*). */
int nn_holdout_kind(uint64_t seed, double val_fraction, double test_fraction, uint64_t row);

/* Window buffers a plan keeps for its next passes: two for each of the
 * most passes that run at once (one per slice, nn/slices.h). */
#define NN_STREAM_SPARES 130

typedef struct {
    const nn_rowsrc *src;
    uint64_t n;              /* rows of the source */
    uint64_t block_rows;     /* rows of a block (the last one may be shorter) */
    uint64_t window_rows;    /* rows of a window, a multiple of block_rows */
    uint64_t n_blocks, blocks_per_window, n_windows;
    uint64_t seed;
    double val_fraction, test_fraction;
    uint32_t *count;         /* (3, n_blocks): rows of each kind in each block */
    uint64_t total[3];       /* rows of each kind */
    /* ended passes' window buffers (of spare_cap rows), for the next ones */
    nn_dataset spare[NN_STREAM_SPARES];
    uint32_t *spare_idx[NN_STREAM_SPARES];
    size_t n_spare, spare_cap;
    uint64_t rows_read;      /* rows read from the files by the passes so far */
} nn_stream_plan;

/* The default bytes of a block's samples: blocks of about this size are
 * read with one pread each. */
#define NN_STREAM_BLOCK_BYTES ((size_t)1 << 20)

/* Plans the streaming of src within max_memory_mb MiB: window_rows is
 * shuffle_buffer when it is not 0 (an error when two windows of it do not
 * fit), else the most rows that fit, at most n; block_rows is the rows of
 * NN_STREAM_BLOCK_BYTES of samples, at most an eighth of window_rows over
 * `slices` (at least 1; slices > 1 run that many passes at once, each with
 * an S-th of the window), and window_rows is then cut to a multiple of it.  block_rows and window_rows given (not 0) in
 * `fixed_block` and `fixed_window` (from a checkpoint) are used as they are.
 * 0, or -1 with *err (code 1). */
int nn_stream_plan_init(nn_stream_plan *p, const nn_rowsrc *src, double max_memory_mb,
                        uint64_t shuffle_buffer, uint64_t fixed_block, uint64_t fixed_window,
                        uint64_t seed, double val_fraction, double test_fraction, int slices,
                        nn_error *err);
void nn_stream_plan_free(nn_stream_plan *p);

/* The generator seed of epoch e's order (blocks and rows), from the seed. */
uint64_t nn_stream_epoch_seed(uint64_t seed, int64_t e);

/* A pass over the rows of one kind (NN_ROW_ANY: all), window after window,
 * with the next window read by a background thread. */
typedef struct nn_stream nn_stream;

/* Starts a pass: with shuffle, in the order of order_seed (nn_stream_epoch_seed);
 * without, in file order.  The first `skip` rows of the pass are left out
 * (a resumed epoch).  Passes of a plan may run at once (each with its
 * reading thread); a pass takes window buffers ended ones gave back (whose
 * pages are mapped already).  NULL with *err. */
nn_stream *nn_stream_start(nn_stream_plan *p, int kind, bool shuffle, uint64_t order_seed,
                           uint64_t skip, nn_error *err);

/* Rows of a kind in the source (NN_ROW_ANY: all). */
uint64_t nn_stream_kind_rows(const nn_stream_plan *p, int kind);

/* A part of a pass: the rows [from, to) of the pass's sequence of rows of
 * the kind (before the windows' shuffles: the blocks in the pass's order,
 * each block's rows in file order), read window_blocks blocks at a time
 * (0: the plan's blocks_per_window) from the block holding row `from`, and
 * shuffled within each window with a generator of order_seed, the part and
 * the window.  A part reads from its blocks only the rows from its first
 * to its last (file rows of other kinds between them too), so parts that
 * split a pass read each row once between them.  The whole pass is
 * {kind, shuffle, seed, 0, UINT64_MAX, skip, 0, 0}. */
typedef struct {
    int kind;
    bool shuffle;
    uint64_t order_seed;
    uint64_t from, to; /* to beyond the kind's rows: to the end */
    uint64_t skip;     /* the first rows of the part left out (a resumed epoch) */
    int part;          /* salts the window shuffles; 0 for a whole pass */
    uint64_t window_blocks;
} nn_stream_range;
nn_stream *nn_stream_start_range(nn_stream_plan *p, const nn_stream_range *r, nn_error *err);

/* The next rows of the pass, at most cap, copied into d (whose x, labels or
 * targets hold cap rows; d->type and d->features as the source's): sets
 * d->n and returns the count, 0 at the end of the pass, -1 with *err when a
 * read failed.  rows (may be NULL) receives their row numbers. */
long nn_stream_next(nn_stream *s, nn_dataset *d, size_t cap, uint64_t *rows, nn_error *err);

/* Stops the background thread and frees the pass; safe on NULL. */
void nn_stream_stop(nn_stream *s);

/* A staging data set for cap rows of src (x, and labels or targets); its
 * class count and names are left 0/NULL.  0 or -1 with *err. */
int nn_stream_staging(nn_dataset *d, const nn_rowsrc *src, size_t cap, nn_error *err);

#endif
