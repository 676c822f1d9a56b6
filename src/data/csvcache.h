/* csvcache.h - a CSV file parsed once into a binary cache of NPY arrays.
 *
 * A CSV source too big to hold in memory is streamed from a cache: the
 * file is parsed once, by several threads, into
 *   DIR/BASE-HHHHHHHHHHHHHHHH-x.npy        the features, <f4 (rows, features);
 *                                          a missing feature ("missing":
 *                                          "mean") is NaN, as in memory
 *   DIR/BASE-HHHHHHHHHHHHHHHH-y.npy        labels <i4 (rows,) as class indices,
 *                                          or targets <f4 (rows, targets)
 *   DIR/BASE-HHHHHHHHHHHHHHHH-classes.json the class names (string labels only)
 *   DIR/BASE-HHHHHHHHHHHHHHHH.key          the key and what loading found
 * BASE is the CSV's file name and H a hash of its resolved path and of every
 * option that changes the result (the spec's and the label options'), so two
 * CSVs, or one read two ways, never share a cache.  The key file (JSON) holds
 * the cache format's version, the CSV's path, size, modification time (ns),
 * a hash of its first and of its last 64 KiB and of the options; a cache
 * whose key differs in anything is stale and is built again in place.  Every
 * file is written to a temporary name and renamed, the old key removed first
 * and the new one renamed last, so a crash never leaves a cache that looks
 * valid; the temporary files of a process killed while it built (Ctrl-C
 * while loading ends the process) are removed by the next build of the same
 * cache.  The key file is untrusted input: it is parsed strictly, and one
 * that does not parse, or arrays that do not match it, make the cache stale.
 *
 * The rows are the same, bit for bit, as nn_source_load_opts gives for the
 * file with the same options (the same rows left out, the same classes,
 * class names sorted the same way), and the same errors with FILE:LINE, for
 * any thread count: the file is cut at record ends (quotes respected) into
 * parts of about chunk_bytes, parsed in parallel, and written in file order.
 * Memory: about 2 * threads + 2 parts and their rows.
 */
#ifndef NN_CSVCACHE_H
#define NN_CSVCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "data/csv.h"
#include "data/dataset.h"
#include "data/layout.h"
#include "data/source.h"
#include "util/error.h"

#define NN_CSV_CACHE_VERSION 1
#define NN_CSV_CACHE_CHUNK ((size_t)512 << 10) /* bytes of CSV per part: small parts stay in
                                                 the caches and fault in few pages */
#define NN_CSV_CACHE_EDGE ((size_t)64 << 10) /* bytes hashed at each end of the file */

typedef struct {
    int threads;        /* parsing threads, 1..64 (0 is taken as 1, more as 64) */
    FILE *progress;     /* a progress line is drawn here while parsing when it is a
                           terminal (isatty); NULL: none */
    size_t chunk_bytes; /* bytes per part; 0: NN_CSV_CACHE_CHUNK (tests use tiny ones) */
} nn_csv_cache_opts;

/* A cache ready to read. */
typedef struct {
    char *key_path, *x_path, *y_path; /* the files (classes_path only with class names) */
    char *classes_path;
    size_t rows, features;
    int n_targets;           /* regression targets; 0 with labels */
    int32_t n_classes;       /* with labels: 1 + the largest class index */
    char **class_names;      /* (n_classes) string labels' names; NULL otherwise */
    nn_data_layout layout;   /* as nn_source_load_opts gives it */
    nn_csv_info info;        /* the same */
    bool built;              /* this call parsed the CSV; false: the cache was reused */
} nn_csv_cache;

/* The cache of the CSV source s read with the label options o (as
 * nn_source_load_opts; o->info is not used: see out->info) in cache_dir
 * (made when missing, one level), built when missing or stale.  The CSV
 * must be a regular file (plain or gzip).  0 with *out (free with
 * nn_csv_cache_free), or -1 with *err: the CSV's own errors (FILE:LINE:
 * ...), "DIR: cannot write the CSV cache: ...", a read or write error, the
 * file changing while it is parsed. */
int nn_csv_cache_get(const nn_source *s, const nn_csv_opts *o, const char *cache_dir,
                     const nn_csv_cache_opts *co, nn_csv_cache *out, nn_error *err);

void nn_csv_cache_free(nn_csv_cache *c);

/* The cache as an NPY source (one shard: x_path and y_path; targets when
 * the CSV had them), for the streaming reader.  Free with nn_source_clear. */
int nn_csv_cache_source(const nn_csv_cache *c, nn_source *npy, nn_error *err);

/* Reads the whole cache into d (features NN_DT_F32, NaN kept; labels with
 * c's class names, or targets), as nn_source_load_opts would give it. */
int nn_csv_cache_load(const nn_csv_cache *c, nn_dataset *d, nn_error *err);

/* --- the key file (exposed for the fuzzer and the tests) ----------------- */

/* What identifies the CSV a cache was made from. */
typedef struct {
    char csv[4096];     /* the resolved path */
    char size[24];      /* decimal */
    char mtime_ns[24];  /* decimal */
    char head[17];      /* 16 hex digits */
    char tail[17];
    char options[17];
} nn_csv_cache_stamp;

/* Parses a key file's text[0..n) into *stamp and the fields of *out it
 * describes (rows, features, n_targets, n_classes, class_names, layout,
 * info; no paths).  Strict: every key present with its type and a value in
 * range, nothing else.  0, or -1 with *err naming `name` (then *out holds
 * nothing to free). */
int nn_csv_cache_parse_key(const char *text, size_t n, const char *name,
                           nn_csv_cache_stamp *stamp, nn_csv_cache *out, nn_error *err);

/* The key file's text for stamp and c (malloc'd, NUL-terminated); NULL when
 * out of memory. */
char *nn_csv_cache_format_key(const nn_csv_cache_stamp *stamp, const nn_csv_cache *c);

#endif
