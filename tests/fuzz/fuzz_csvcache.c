/* fuzz_csvcache.c - libFuzzer harness for the CSV cache (src/data/csvcache.c)
 * and the parts loader under it (csv.c's nn_csv_parts).
 *
 * Input: one selector byte, then the rest.
 *  - selector bit 0 set: the rest is a cache key file.  It goes to the
 *    strict key reader; what it accepts is checked (counts that agree) and
 *    must survive a round trip through the key writer unchanged.  It is
 *    then put where a cache's key lives and the cache is asked for: a key
 *    that does not match is never trusted (the cache is built again and
 *    holds what loading the CSV in memory gives).
 *  - else the rest is a CSV file, read with options from the selector
 *    (bits 1-2 header auto/yes/no/auto, bit 3 delimiter ',' or whitespace,
 *    bit 4 comment '#', bits 5-6 missing error/drop/mean/error, bit 7
 *    targets instead of a label), in memory and through the cache with 1 or
 *    2 threads and parts of 1 to 16 bytes (from the CSV's length): both fail
 *    with the same message, or give the same rows bit for bit.
 * The cache folder is made once under /dev/shm (else /tmp) and removed at
 * exit.
 */
#include "fuzz_common.h"

#include <math.h>
#include <sys/stat.h>

#include "data/csvcache.h"
#include "data/dataset.h"
#include "data/source.h"
#include "util/error.h"

static fuzz_file g_file;
static char g_dir[256];

static void remove_dir(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", g_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_file_init(&g_file, "fuzz_csvcache");
    struct stat sb;
    const char *base = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) ? "/dev/shm" : "/tmp";
    snprintf(g_dir, sizeof g_dir, "%s/nntrain-fuzz-csvcache-XXXXXX", base);
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        abort();
    }
    atexit(remove_dir);
    return 0;
}

static void choose_spec(nn_csv_spec *sp, unsigned sel)
{
    static nn_column target = {NULL, -1};
    memset(sp, 0, sizeof *sp);
    sp->header = ((sel >> 1) & 3) == 3 ? NN_HEADER_AUTO : (nn_header_mode)((sel >> 1) & 3);
    sp->delimiter = sel & 8 ? NN_CSV_WHITESPACE : ',';
    sp->comment = sel & 16 ? '#' : 0;
    sp->missing = ((sel >> 5) & 3) == 3 ? NN_MISSING_ERROR : (nn_missing)((sel >> 5) & 3);
    if (sel & 128) {
        sp->n_targets = 1;
        sp->targets = &target;
    } else {
        sp->has_label = true;
        sp->label = (nn_column){NULL, -1};
    }
}

static void same_data(const nn_dataset *a, const nn_dataset *b)
{
    FUZZ_CHECK(a->n == b->n && a->features == b->features);
    FUZZ_CHECK(memcmp(a->x, b->x, a->n * a->features * sizeof(float)) == 0);
    FUZZ_CHECK(a->n_targets == b->n_targets);
    if (a->n_targets)
        FUZZ_CHECK(memcmp(a->targets, b->targets, a->n * (size_t)a->n_targets * 4) == 0);
    FUZZ_CHECK((a->labels == NULL) == (b->labels == NULL));
    if (a->labels)
        FUZZ_CHECK(memcmp(a->labels, b->labels, a->n * sizeof *a->labels) == 0);
    FUZZ_CHECK(a->n_classes == b->n_classes);
    FUZZ_CHECK((a->class_names == NULL) == (b->class_names == NULL));
    for (int32_t k = 0; a->class_names && k < a->n_classes; k++)
        FUZZ_CHECK(strcmp(a->class_names[k], b->class_names[k]) == 0);
}

/* The CSV in g_file read in memory and through the cache agree. */
static void differential(const nn_csv_spec *sp, int threads, size_t chunk)
{
    nn_source src = {.format = NN_FORMAT_CSV, .file = g_file.path, .file_path = g_file.path,
                     .csv = *sp};
    nn_csv_info info;
    nn_csv_opts o = {NULL, 0, 0, false, &info};
    nn_dataset want, got;
    nn_error e1 = {0}, e2 = {0};
    int r1 = nn_source_load_opts(&want, NULL, &src, &o, &e1);
    nn_csv_cache_opts co = {.threads = threads, .chunk_bytes = chunk};
    nn_csv_cache c;
    o.info = NULL;
    int r2 = nn_csv_cache_get(&src, &o, g_dir, &co, &c, &e2);
    if (r1 < 0) {
        FUZZ_CHECK(r2 < 0 && strcmp(e1.msg, e2.msg) == 0);
        return;
    }
    FUZZ_CHECK(r2 == 0);
    FUZZ_CHECK(c.info.dropped == info.dropped && c.info.missing_fields == info.missing_fields &&
               c.info.header == info.header);
    FUZZ_CHECK(nn_csv_cache_load(&c, &got, &e2) == 0);
    same_data(&want, &got);
    nn_dataset_free(&got);
    nn_dataset_free(&want);
    nn_csv_cache_free(&c);
}

static void fuzz_key(const uint8_t *data, size_t size)
{
    nn_csv_cache_stamp st, st2;
    nn_csv_cache c, back;
    nn_error err = {0};
    if (nn_csv_cache_parse_key((const char *)data, size, "k", &st, &c, &err) == 0) {
        FUZZ_CHECK(c.rows >= 1 && c.features >= 1);
        FUZZ_CHECK(c.features + (size_t)c.n_targets + (c.layout.label_col >= 0) ==
                   c.layout.n_columns);
        char *text = nn_csv_cache_format_key(&st, &c);
        FUZZ_CHECK(text != NULL);
        FUZZ_CHECK(nn_csv_cache_parse_key(text, strlen(text), "k", &st2, &back, &err) == 0);
        FUZZ_CHECK(memcmp(&st, &st2, sizeof st) == 0);
        FUZZ_CHECK(back.rows == c.rows && back.n_classes == c.n_classes &&
                   back.layout.n_columns == c.layout.n_columns);
        char *again = nn_csv_cache_format_key(&st2, &back);
        FUZZ_CHECK(again && strcmp(again, text) == 0);
        free(again);
        free(text);
        nn_csv_cache_free(&back);
        nn_csv_cache_free(&c);
    } else {
        FUZZ_CHECK(err.code == NN_EXIT_RUNTIME && c.class_names == NULL);
    }

    /* the key where a cache of a small CSV keeps it: never trusted blindly */
    static const char csv[] = "a,b\n1,x\n2,y\n";
    fuzz_file_set(&g_file, csv, sizeof csv - 1);
    nn_csv_spec sp;
    choose_spec(&sp, 0);
    nn_source src = {.format = NN_FORMAT_CSV, .file = g_file.path, .file_path = g_file.path,
                     .csv = sp};
    nn_csv_opts o = {NULL, 0, 0, false, NULL};
    nn_csv_cache_opts co = {.threads = 1};
    if (nn_csv_cache_get(&src, &o, g_dir, &co, &c, &err) < 0)
        return;
    FILE *f = fopen(c.key_path, "wb");
    FUZZ_CHECK(f != NULL);
    FUZZ_CHECK(fwrite(data, 1, size, f) == size);
    fclose(f);
    nn_csv_cache_free(&c);
    differential(&sp, 1, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned sel = data[0];
    if (sel & 1) {
        fuzz_key(data + 1, size - 1);
        return 0;
    }
    fuzz_file_set(&g_file, data + 1, size - 1);
    nn_csv_spec sp;
    choose_spec(&sp, sel);
    differential(&sp, 1, 1 + size % 16);
    differential(&sp, 2, 1 + (size / 16) % 16);
    return 0;
}
