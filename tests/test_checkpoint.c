/* test_checkpoint.c - CRC-32 and the checkpoint file: round trips, damage of
 * every kind rejected with the documented messages, atomic saves. */
#include "tests.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "checkpoint/checkpoint.h"
#include "util/bits.h"
#include "util/crc32.h"

/* ---- helpers --------------------------------------------------------------- */

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    return p;
}

static char *xstrdup(const char *s)
{
    char *d = xmalloc(strlen(s) + 1);
    strcpy(d, s);
    return d;
}

/* A small model: 3 inputs -> 4 sigmoid -> 2 identity, 4*4 + 2*5 = 26
 * parameters, standard scaling, and floats and metrics with awkward bit
 * patterns.  Free with nn_ckpt_free. */
static void make_ckpt(nn_ckpt *c)
{
    static const uint32_t special[] = {
        0x80000000u, /* -0.0 */
        0x00000001u, /* smallest denormal */
        0x807fffffu, /* largest negative denormal */
        0x7f800000u, /* +inf */
        0xff800000u, /* -inf */
        0x7fc12345u, /* quiet NaN with a payload */
        0x7f800001u, /* signalling NaN */
        0xffffffffu, /* negative NaN, all bits */
        0x7f7fffffu, /* FLT_MAX */
    };
    memset(c, 0, sizeof *c);
    c->version = xstrdup("0.1.0");
    c->config_json = xstrdup("{\"model\":{\"layers\":[4,2]},\"seed\":7}");
    c->format = NN_CKPT_VERSION;
    nn_layer_cfg layers[2] = {{.units = 4, .act = NN_ACT_SIGMOID},
                              {.units = 2, .act = NN_ACT_IDENTITY}};
    nn_error err = {0};
    ck_assert_int_eq(nn_arch_from_layers(&c->arch, 3, layers, 2, &err), 0);
    c->arch.layers[0].init = c->arch.layers[1].init = NN_INIT_GLOROT; /* as read back */
    c->loss = NN_LOSS_MSE;
    c->optimizer = NN_OPT_SGD;
    c->n_classes = 2;
    c->scale = NN_SCALE_STANDARD;
    c->shift = xmalloc(3 * sizeof(float));
    c->mult = xmalloc(3 * sizeof(float));
    for (int i = 0; i < 3; i++) {
        c->shift[i] = 0.25f * (float)i - 1.0f;
        c->mult[i] = 1.0f / (float)(i + 3);
    }
    c->shift[1] = nn_f32_from_bits(0x80000000u);
    c->epoch = 5;
    c->step = 12345678901LL;
    c->rng[0] = 0x0123456789abcdefULL;
    c->rng[1] = 0xfedcba9876543210ULL;
    c->rng[2] = 0x8000000000000001ULL;
    c->rng[3] = 0xffffffffffffffffULL;
    c->seed = 42;
    c->train_loss = nn_f64_from_bits(0x7ff8000000000abcULL); /* NaN with payload */
    c->train_accuracy = 0.75;
    c->val_loss = nn_f64_from_bits(0x8000000000000000ULL);    /* -0.0 */
    c->val_accuracy = nn_f64_from_bits(0x0000000000000001ULL); /* denormal */
    c->n_params = 26;
    c->params = xmalloc(26 * sizeof(float));
    for (size_t i = 0; i < 26; i++)
        c->params[i] = i < sizeof special / sizeof special[0] ? nn_f32_from_bits(special[i])
                                                               : 0.1f * (float)i - 1.3f;
    c->n_opt_state = 26;
    c->opt_state = xmalloc(26 * sizeof(float));
    for (size_t i = 0; i < 26; i++)
        c->opt_state[i] = -0.01f * (float)i;
}

static void assert_same_f64(double a, double b)
{
    ck_assert_int_eq(memcmp(&a, &b, sizeof a), 0);
}

/* The architecture as a checkpoint keeps it (dropout is a setting of the
 * run and is not stored). */
static void assert_arch_equal(const nn_arch *a, const nn_arch *b)
{
    ck_assert_int_eq(a->n_inputs, b->n_inputs);
    ck_assert_int_eq(a->n_layers, b->n_layers);
    for (int l = 0; l < a->n_layers; l++) {
        const nn_layer *x = &a->layers[l], *y = &b->layers[l];
        ck_assert_int_eq(x->kind, y->kind);
        ck_assert_int_eq(x->origin, y->origin);
        ck_assert_int_eq(x->in, y->in);
        ck_assert_int_eq(x->out, y->out);
        ck_assert_int_eq(x->act, y->act);
        ck_assert_int_eq(memcmp(&x->alpha, &y->alpha, sizeof x->alpha), 0);
        ck_assert_int_eq(x->bias, y->bias);
        ck_assert_int_eq(memcmp(&x->momentum, &y->momentum, sizeof x->momentum), 0);
        ck_assert_int_eq(memcmp(&x->eps, &y->eps, sizeof x->eps), 0);
    }
}

static void assert_ckpt_equal(const nn_ckpt *a, const nn_ckpt *b)
{
    ck_assert_str_eq(a->version, b->version);
    ck_assert_str_eq(a->config_json, b->config_json);
    ck_assert_int_eq(b->format, NN_CKPT_VERSION);
    assert_arch_equal(&a->arch, &b->arch);
    ck_assert_uint_eq(a->n_state, b->n_state);
    if (a->n_state)
        ck_assert_int_eq(memcmp(a->state, b->state, a->n_state * sizeof(float)), 0);
    ck_assert_int_eq(a->loss, b->loss);
    ck_assert_int_eq(a->optimizer, b->optimizer);
    ck_assert_int_eq(a->precision, b->precision);
    ck_assert_int_eq(a->n_classes, b->n_classes);
    ck_assert_int_eq(a->scale, b->scale);
    ck_assert_int_eq(a->shift == NULL, b->shift == NULL);
    ck_assert_int_eq(a->mult == NULL, b->mult == NULL);
    if (a->shift) {
        size_t F = (size_t)a->arch.n_inputs;
        ck_assert_int_eq(memcmp(a->shift, b->shift, F * sizeof(float)), 0);
        ck_assert_int_eq(memcmp(a->mult, b->mult, F * sizeof(float)), 0);
    }
    ck_assert(a->epoch == b->epoch);
    ck_assert(a->step == b->step);
    for (int i = 0; i < 4; i++)
        ck_assert(a->rng[i] == b->rng[i]);
    ck_assert(a->seed == b->seed);
    assert_same_f64(a->train_loss, b->train_loss);
    assert_same_f64(a->train_accuracy, b->train_accuracy);
    assert_same_f64(a->val_loss, b->val_loss);
    assert_same_f64(a->val_accuracy, b->val_accuracy);
    ck_assert_uint_eq(a->n_params, b->n_params);
    ck_assert_int_eq(memcmp(a->params, b->params, a->n_params * sizeof(float)), 0);
    ck_assert_uint_eq(a->n_opt_state, b->n_opt_state);
    ck_assert_int_eq(a->opt_state == NULL, b->opt_state == NULL);
    if (a->n_opt_state)
        ck_assert_int_eq(memcmp(a->opt_state, b->opt_state, a->n_opt_state * sizeof(float)),
                         0);
}

static unsigned char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    size_t cap = 4096, len = 0;
    unsigned char *buf = xmalloc(cap);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            ck_assert_ptr_nonnull(buf);
        }
    }
    ck_assert_int_eq(ferror(f), 0);
    fclose(f);
    *n = len;
    return buf;
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Files in dir whose name contains ".tmp". */
static int count_temp_files(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot open folder %s", dir);
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp"))
            count++;
    closedir(d);
    return count;
}

static void encode_fixture(unsigned char **buf, size_t *n)
{
    nn_ckpt c;
    nn_error err = {0};
    make_ckpt(&c);
    ck_assert_int_eq(nn_ckpt_encode(&c, buf, n, "x", &err), 0);
    nn_ckpt_free(&c);
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Rewrites the trailing CRC so a patched file reaches the later checks. */
static void fix_crc(unsigned char *buf, size_t n)
{
    put_le32(buf + n - 4, nn_crc32(0, buf, n - 4));
}

/* Format 4: a section's head is its tag, u32 flags and u64 length; its
 * payload starts HEAD bytes after it. */
enum { HEAD = 16 };

/* Offset of the section with this tag in a well-formed file. */
static size_t find_section(const unsigned char *buf, size_t n, const char *tag)
{
    size_t pos = 16;
    while (pos + HEAD <= n - 4) {
        if (memcmp(buf + pos, tag, 4) == 0)
            return pos;
        pos += HEAD + (size_t)get_le64(buf + pos + 8);
    }
    ck_abort_msg("no section %s", tag);
    return 0;
}

/* A copy of buf (n bytes) with one more section, `tag` of `len` bytes of
 * 0x5A, before the trailer; the count and the CRC follow.  *m is its size. */
static unsigned char *with_extra_section(const unsigned char *buf, size_t n, const char *tag,
                                         bool required, size_t len, size_t *m)
{
    *m = n + HEAD + len;
    unsigned char *out = xmalloc(*m);
    memcpy(out, buf, n - 4);
    unsigned char *h = out + n - 4;
    memcpy(h, tag, 4);
    put_le32(h + 4, required ? 1 : 0);
    put_le64(h + 8, len);
    memset(h + HEAD, 0x5A, len);
    put_le32(out + 12, (uint32_t)(buf[12] | buf[13] << 8 | buf[14] << 16) + 1);
    fix_crc(out, *m);
    return out;
}

/* Decodes buf and expects a failure whose message starts with prefix. */
static void expect_rejected(const unsigned char *buf, size_t n, const char *prefix)
{
    nn_ckpt c;
    nn_error err = {0};
    ck_assert_int_eq(nn_ckpt_decode(buf, n, "m.ckpt", &c, &err), -1);
    ck_assert_int_eq(err.code, 1);
    ck_assert_msg(strncmp(err.msg, prefix, strlen(prefix)) == 0, "message \"%s\" lacks \"%s\"",
                  err.msg, prefix);
    ck_assert_ptr_null(c.params);
    ck_assert_ptr_null(c.version);
}

/* ---- CRC-32 ----------------------------------------------------------------- */

START_TEST(test_crc32_matches_check_value)
{
    ck_assert_uint_eq(nn_crc32(0, "123456789", 9), 0xCBF43926u);
    ck_assert_uint_eq(nn_crc32(0, "", 0), 0);
    /* continued in two pieces */
    ck_assert_uint_eq(nn_crc32(nn_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
}
END_TEST

START_TEST(test_crc32_matches_zlib_on_random_buffers)
{
    unsigned char buf[5000];
    uint64_t s = 0x9e3779b97f4a7c15ULL;
    for (int trial = 0; trial < 200; trial++) {
        size_t n = (size_t)(trial * 25);
        for (size_t i = 0; i < n; i++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            buf[i] = (unsigned char)(s >> 24);
        }
        uint32_t want = (uint32_t)crc32(0L, buf, (uInt)n);
        ck_assert_uint_eq(nn_crc32(0, buf, n), want);
        size_t cut = n ? (size_t)(s % n) : 0;
        ck_assert_uint_eq(nn_crc32(nn_crc32(0, buf, cut), buf + cut, n - cut), want);
    }
}
END_TEST

/* ---- round trips ------------------------------------------------------------- */

START_TEST(test_checkpoint_round_trip_is_bit_exact)
{
    const char *dir = nn_test_tmpdir();
    char *path = join(dir, "model.ckpt");
    nn_ckpt a, b;
    nn_error err = {0};
    make_ckpt(&a);
    ck_assert_msg(nn_ckpt_save(path, &a, &err) == 0, "%s", err.msg);
    ck_assert_msg(nn_ckpt_load(path, &b, &err) == 0, "%s", err.msg);
    assert_ckpt_equal(&a, &b);
    ck_assert_int_eq(count_temp_files(dir), 0);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0600, 0600);
    nn_ckpt_free(&a);
    nn_ckpt_free(&b);
    free(path);
}
END_TEST

START_TEST(test_checkpoint_without_scaling_or_optimizer_state_round_trips)
{
    nn_ckpt a, b;
    nn_error err = {0};
    unsigned char *buf;
    size_t n;
    make_ckpt(&a);
    free(a.shift);
    free(a.mult);
    free(a.opt_state);
    free(a.version);
    a.shift = a.mult = a.opt_state = NULL;
    a.version = NULL;
    a.n_opt_state = 0;
    a.scale = NN_SCALE_NONE;
    ck_assert_int_eq(nn_ckpt_encode(&a, &buf, &n, "x", &err), 0);
    ck_assert_msg(nn_ckpt_decode(buf, n, "x", &b, &err) == 0, "%s", err.msg);
    ck_assert_ptr_null(b.shift);
    ck_assert_ptr_null(b.mult);
    ck_assert_ptr_null(b.opt_state);
    ck_assert_str_eq(b.version, ""); /* NULL is stored as empty text */
    free(b.version);
    b.version = NULL;
    ck_assert_int_eq(b.scale, NN_SCALE_NONE);
    ck_assert_int_eq(memcmp(a.params, b.params, a.n_params * sizeof(float)), 0);
    nn_ckpt_free(&a);
    nn_ckpt_free(&b);
    free(buf);
}
END_TEST

START_TEST(test_checkpoint_saving_twice_gives_identical_bytes)
{
    const char *dir = nn_test_tmpdir();
    char *p1 = join(dir, "a.ckpt"), *p2 = join(dir, "b.ckpt");
    nn_ckpt c;
    nn_error err = {0};
    make_ckpt(&c);
    ck_assert_int_eq(nn_ckpt_save(p1, &c, &err), 0);
    ck_assert_int_eq(nn_ckpt_save(p2, &c, &err), 0);
    size_t n1, n2, n3;
    unsigned char *b1 = read_file(p1, &n1), *b2 = read_file(p2, &n2);
    ck_assert_uint_eq(n1, n2);
    ck_assert_int_eq(memcmp(b1, b2, n1), 0);
    /* overwriting in place gives the same bytes again */
    ck_assert_int_eq(nn_ckpt_save(p1, &c, &err), 0);
    unsigned char *b3 = read_file(p1, &n3);
    ck_assert_uint_eq(n1, n3);
    ck_assert_int_eq(memcmp(b1, b3, n1), 0);
    ck_assert_int_eq(count_temp_files(dir), 0);
    nn_ckpt_free(&c);
    free(b1);
    free(b2);
    free(b3);
    free(p1);
    free(p2);
}
END_TEST

START_TEST(test_checkpoint_free_is_safe_on_zeroed_struct)
{
    nn_ckpt c;
    memset(&c, 0, sizeof c);
    nn_ckpt_free(&c);
    nn_ckpt_free(&c);
    nn_ckpt_free(NULL);
}
END_TEST

/* ---- damage ------------------------------------------------------------------ */

START_TEST(test_checkpoint_rejects_every_single_byte_flip)
{
    const char *dir = nn_test_tmpdir();
    char *path = join(dir, "m.ckpt");
    unsigned char *buf;
    size_t n;
    encode_fixture(&buf, &n);
    for (size_t i = 0; i < n; i++) {
        /* through the file: every byte inverted */
        buf[i] ^= 0xFF;
        nn_test_write_file(path, buf, n);
        nn_ckpt c;
        nn_error err = {0};
        ck_assert_msg(nn_ckpt_load(path, &c, &err) == -1, "flip at %zu accepted", i);
        ck_assert_int_eq(err.code, 1);
        ck_assert_msg(strncmp(err.msg, path, strlen(path)) == 0, "%s", err.msg);
        buf[i] ^= 0xFF;
        /* in memory: every single bit */
        for (int bit = 0; bit < 8; bit++) {
            buf[i] ^= (unsigned char)(1u << bit);
            ck_assert_msg(nn_ckpt_decode(buf, n, "m", &c, &err) == -1, "bit %d at %zu", bit, i);
            buf[i] ^= (unsigned char)(1u << bit);
        }
    }
    free(buf);
    free(path);
}
END_TEST

START_TEST(test_checkpoint_rejects_every_truncation)
{
    const char *dir = nn_test_tmpdir();
    char *path = join(dir, "m.ckpt");
    unsigned char *buf;
    size_t n;
    encode_fixture(&buf, &n);
    for (size_t len = 0; len < n; len++) {
        nn_test_write_file(path, buf, len);
        nn_ckpt c;
        nn_error err = {0};
        ck_assert_msg(nn_ckpt_load(path, &c, &err) == -1, "length %zu accepted", len);
        ck_assert_int_eq(err.code, 1);
    }
    /* a plausible header cut short names the truncation */
    expect_rejected(buf, 40, "m.ckpt: checksum mismatch (file is corrupt or truncated)");
    expect_rejected(buf, 5, "m.ckpt: checksum mismatch (file is corrupt or truncated)");
    free(buf);
    free(path);
}
END_TEST

START_TEST(test_checkpoint_rejects_wrong_magic)
{
    const char *dir = nn_test_tmpdir();
    char *path = join(dir, "m.ckpt");
    unsigned char *buf;
    size_t n;
    encode_fixture(&buf, &n);
    buf[0] = 'X';
    fix_crc(buf, n);
    nn_test_write_file(path, buf, n);
    nn_ckpt c;
    nn_error err = {0};
    ck_assert_int_eq(nn_ckpt_load(path, &c, &err), -1);
    char want[4200];
    snprintf(want, sizeof want, "%s: not an nntrain checkpoint", path);
    ck_assert_str_eq(err.msg, want);
    ck_assert_int_eq(err.code, 1);
    /* text and empty files too */
    expect_rejected((const unsigned char *)"{\"a\":1}\n", 8, "m.ckpt: not an nntrain checkpoint");
    expect_rejected(buf, 0, "m.ckpt: not an nntrain checkpoint");
    free(buf);
    free(path);
}
END_TEST

/* A newer format with only known sections is read (format 7 here); one
 * older than format 3 is refused. */
START_TEST(test_checkpoint_reads_a_newer_format_and_refuses_an_older_one)
{
    unsigned char *buf;
    size_t n;
    encode_fixture(&buf, &n);
    put_le32(buf + 8, 7);
    fix_crc(buf, n);
    nn_ckpt c;
    nn_error err = {0};
    ck_assert_msg(nn_ckpt_decode(buf, n, "m.ckpt", &c, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(c.format, 7);
    nn_ckpt_free(&c);
    put_le32(buf + 8, 2);
    fix_crc(buf, n);
    ck_assert_int_eq(nn_ckpt_decode(buf, n, "m.ckpt", &c, &err), -1);
    ck_assert_str_eq(err.msg,
                     "m.ckpt: checkpoint format version 2, this nntrain reads formats 3 and later");
    ck_assert_int_eq(err.code, 1);
    free(buf);
}
END_TEST

/* An unknown optional section is skipped; an unknown required one is
 * refused, naming the section and the format that wrote it. */
START_TEST(test_checkpoint_skips_unknown_optional_and_refuses_unknown_required_sections)
{
    unsigned char *buf, *more;
    size_t n, m;
    nn_ckpt a, c;
    nn_error err = {0};
    make_ckpt(&a);
    ck_assert_int_eq(nn_ckpt_encode(&a, &buf, &n, "x", &err), 0);

    more = with_extra_section(buf, n, "XTRA", false, 37, &m);
    ck_assert_msg(nn_ckpt_decode(more, m, "m.ckpt", &c, &err) == 0, "%s", err.msg);
    assert_ckpt_equal(&a, &c);
    nn_ckpt_free(&c);
    free(more);

    more = with_extra_section(buf, n, "QNTZ", true, 8, &m);
    put_le32(more + 8, 5); /* as a newer nntrain would write it */
    fix_crc(more, m);
    ck_assert_int_eq(nn_ckpt_decode(more, m, "m.ckpt", &c, &err), -1);
    ck_assert_int_eq(err.code, 1);
    ck_assert_str_eq(err.msg, "m.ckpt: section \"QNTZ\" of checkpoint format 5 is required but "
                              "unknown to this nntrain (written by a newer one?)");
    free(more);

    /* a known section marked optional is still read; unknown flag bits are not */
    unsigned char *copy = xmalloc(n);
    memcpy(copy, buf, n);
    put_le32(copy + find_section(copy, n, "PROG") + 4, 0);
    fix_crc(copy, n);
    ck_assert_msg(nn_ckpt_decode(copy, n, "m.ckpt", &c, &err) == 0, "%s", err.msg);
    nn_ckpt_free(&c);
    put_le32(copy + find_section(copy, n, "PROG") + 4, 6);
    fix_crc(copy, n);
    expect_rejected(copy, n, "m.ckpt: malformed checkpoint: section \"PROG\" has unknown flags");
    free(copy);
    nn_ckpt_free(&a);
    free(buf);
}
END_TEST

START_TEST(test_checkpoint_reports_checksum_mismatch)
{
    unsigned char *buf;
    size_t n;
    encode_fixture(&buf, &n);
    size_t parm = find_section(buf, n, "PARM");
    buf[parm + HEAD + 8 + 3] ^= 0x40; /* one float of the parameters */
    nn_ckpt c;
    nn_error err = {0};
    ck_assert_int_eq(nn_ckpt_decode(buf, n, "m.ckpt", &c, &err), -1);
    ck_assert_str_eq(err.msg, "m.ckpt: checksum mismatch (file is corrupt or truncated)");
    free(buf);
}
END_TEST

START_TEST(test_checkpoint_rejects_section_length_past_end)
{
    unsigned char *buf;
    size_t n;
    encode_fixture(&buf, &n);
    size_t vers = find_section(buf, n, "VERS");
    put_le64(buf + vers + 8, 0xFFFFFFFFFFFFFF00ULL);
    fix_crc(buf, n);
    expect_rejected(buf, n, "m.ckpt: malformed checkpoint:");
    /* one byte too long on the last section */
    free(buf);
    encode_fixture(&buf, &n);
    size_t epoc = find_section(buf, n, "EPOC");
    put_le64(buf + epoc + 8, get_le64(buf + epoc + 8) + 1);
    fix_crc(buf, n);
    expect_rejected(buf, n, "m.ckpt: malformed checkpoint:");
    free(buf);
}
END_TEST

START_TEST(test_checkpoint_rejects_a_missing_required_section)
{
    unsigned char *buf;
    size_t n;
    encode_fixture(&buf, &n);
    size_t optm = find_section(buf, n, "OPTM");
    memcpy(buf + optm, "ZZZZ", 4);
    put_le32(buf + optm + 4, 0); /* optional, so skipped: OPTM is then missing */
    fix_crc(buf, n);
    expect_rejected(buf, n, "m.ckpt: malformed checkpoint: section \"OPTM\" is missing");
    free(buf);
}
END_TEST

START_TEST(test_checkpoint_rejects_inconsistent_param_count)
{
    unsigned char *buf;
    size_t n;
    encode_fixture(&buf, &n);
    /* the second layer's bias flag, the last field of its record, cleared:
     * two parameters fewer than PARM holds */
    size_t arch = find_section(buf, n, "ARCH");
    size_t len = (size_t)get_le64(buf + arch + 8);
    put_le32(buf + arch + HEAD + len - 4, 0);
    fix_crc(buf, n);
    expect_rejected(buf, n, "m.ckpt: malformed checkpoint: 26 parameters but the architecture "
                            "has 24");
    free(buf);

    /* PARM count disagreeing with its own length */
    encode_fixture(&buf, &n);
    size_t parm = find_section(buf, n, "PARM");
    put_le64(buf + parm + HEAD, 25);
    fix_crc(buf, n);
    expect_rejected(buf, n, "m.ckpt: malformed checkpoint:");
    free(buf);
}
END_TEST

START_TEST(test_checkpoint_rejects_bad_values)
{
    unsigned char *buf;
    size_t n;
    size_t arch;

    /* ARCH: u32 n_inputs, u32 n_layers, then each layer's record: the kind
     * (u32 length, "dense"), origin, inputs, outputs, activation, alpha, the
     * length of the kind's fields, then its u32 bias: 37 bytes a layer */
    enum { L1 = HEAD + 8, KIND = 4, ORIGIN = 9, IN = 13, OUT = 17, ACT = 21, REC = 37 };
    encode_fixture(&buf, &n); /* no layers */
    arch = find_section(buf, n, "ARCH");
    put_le32(buf + arch + HEAD + 4, 0);
    fix_crc(buf, n);
    expect_rejected(buf, n, "m.ckpt: malformed checkpoint: 0 layers, not in 1..128");
    free(buf);

    encode_fixture(&buf, &n); /* too many */
    arch = find_section(buf, n, "ARCH");
    put_le32(buf + arch + HEAD + 4, NN_MAX_ARCH_LAYERS + 1);
    fix_crc(buf, n);
    expect_rejected(buf, n, "m.ckpt: malformed checkpoint: 129 layers, not in 1..128");
    free(buf);

    encode_fixture(&buf, &n); /* activation of layer 2 */
    arch = find_section(buf, n, "ARCH");
    put_le32(buf + arch + L1 + REC + ACT, 99);
    fix_crc(buf, n);
    expect_rejected(buf, n, "m.ckpt: malformed checkpoint: layer 2 has unknown activation 99");
    free(buf);

    encode_fixture(&buf, &n); /* units 0 */
    arch = find_section(buf, n, "ARCH");
    put_le32(buf + arch + L1 + OUT, 0);
    fix_crc(buf, n);
    expect_rejected(buf, n, "m.ckpt: malformed checkpoint: layer 1 has 0 units, not in 1..65536");
    free(buf);

    encode_fixture(&buf, &n); /* a layer's input is not the output before it */
    arch = find_section(buf, n, "ARCH");
    put_le32(buf + arch + L1 + REC + IN, 5);
    fix_crc(buf, n);
    expect_rejected(buf, n, "m.ckpt: malformed checkpoint: layer 2 takes 5 inputs after 4 outputs");
    free(buf);

    encode_fixture(&buf, &n); /* a declared layer out of order */
    arch = find_section(buf, n, "ARCH");
    put_le32(buf + arch + L1 + REC + ORIGIN, 3);
    fix_crc(buf, n);
    expect_rejected(buf, n, "m.ckpt: malformed checkpoint: layer 2 belongs to declared layer 4 "
                            "after 1");
    free(buf);

    encode_fixture(&buf, &n); /* a kind this nntrain does not know */
    arch = find_section(buf, n, "ARCH");
    memcpy(buf + arch + L1 + KIND, "dwnse", 5);
    fix_crc(buf, n);
    expect_rejected(buf, n, "m.ckpt: malformed checkpoint: layer record 1 has kind \"dwnse\", "
                            "unknown to this nntrain");
    free(buf);

    encode_fixture(&buf, &n); /* scaling kind */
    size_t scal = find_section(buf, n, "SCAL");
    put_le32(buf + scal + HEAD, 9);
    fix_crc(buf, n);
    expect_rejected(buf, n, "m.ckpt: malformed checkpoint: unknown input scaling");
    free(buf);

    encode_fixture(&buf, &n); /* a section twice: rename VERS to CONF */
    memcpy(buf + find_section(buf, n, "VERS"), "CONF", 4);
    fix_crc(buf, n);
    expect_rejected(buf, n, "m.ckpt: malformed checkpoint: section \"CONF\" appears twice");
    free(buf);

    encode_fixture(&buf, &n); /* one section more than the file holds */
    put_le32(buf + 12, 14);
    fix_crc(buf, n);
    expect_rejected(buf, n, "m.ckpt: malformed checkpoint:");
    put_le32(buf + 12, 12); /* the last one then looks like trailing bytes */
    fix_crc(buf, n);
    expect_rejected(buf, n, "m.ckpt: malformed checkpoint:");
    free(buf);
}
END_TEST

/* ---- batch normalization and format 3 ------------------------------------------------ */

/* A network with a batch-normalised layer: its kinds, the dense layer
 * without bias, momentum and eps, and the running statistics (STAT) come
 * back bit for bit. */
START_TEST(test_checkpoint_keeps_batch_norm_layers_and_their_state)
{
    nn_ckpt a, b;
    nn_error err = {0};
    make_ckpt(&a);
    nn_layer_cfg layers[2] = {{.units = 4, .act = NN_ACT_RELU, .batch_norm = true,
                               .batch_norm_momentum = 0.25, .batch_norm_eps = 1e-3},
                              {.units = 2, .act = NN_ACT_IDENTITY}};
    ck_assert_int_eq(nn_arch_from_layers(&a.arch, 3, layers, 2, &err), 0);
    a.arch.layers[0].init = a.arch.layers[2].init = NN_INIT_GLOROT;
    ck_assert_int_eq(a.arch.n_layers, 3);
    /* 4*3 weights, 4 + 4 scale and shift, 2*4 + 2 */
    a.n_params = 30;
    a.params = realloc(a.params, 30 * sizeof(float));
    for (int i = 0; i < 30; i++)
        a.params[i] = 0.03f * (float)i - 0.4f;
    free(a.opt_state);
    a.opt_state = NULL;
    a.n_opt_state = 0;
    a.n_state = 8;
    a.state = xmalloc(8 * sizeof(float));
    for (int i = 0; i < 8; i++)
        a.state[i] = 1.0f / (float)(i + 1);
    unsigned char *buf;
    size_t n;
    ck_assert_msg(nn_ckpt_encode(&a, &buf, &n, "x", &err) == 0, "%s", err.msg);
    ck_assert_msg(nn_ckpt_decode(buf, n, "x", &b, &err) == 0, "%s", err.msg);
    assert_ckpt_equal(&a, &b);
    ck_assert_int_eq(b.arch.layers[1].kind, NN_LAYER_BATCH_NORM);
    ck_assert(!b.arch.layers[0].bias);
    ck_assert_double_eq(b.arch.layers[1].momentum, 0.25);
    nn_ckpt_free(&b);
    free(buf);
    /* the running statistics must match the architecture */
    a.n_state = 7;
    ck_assert_int_eq(nn_ckpt_encode(&a, &buf, &n, "x", &err), -1);
    ck_assert_ptr_null(buf);
    ck_assert_str_eq(err.msg, "x: cannot save checkpoint: 7 values of layer state but the "
                              "architecture has 8");
    a.n_state = 8;
    nn_ckpt_free(&a);
}
END_TEST

/* The format-3 fixtures (nntrain 0.1.0) read as the architecture they
 * describe: dense layers with biases, alpha from TRAI; and rewritten as
 * format 4 they read back the same. */
START_TEST(test_checkpoint_reads_format_3)
{
    nn_ckpt c, d;
    nn_error err = {0};
    ck_assert_msg(nn_ckpt_load("tests/fixtures/v3/fruit-e3.ckpt", &c, &err) == 0, "%s",
                  err.msg);
    ck_assert_int_eq(c.format, 3);
    ck_assert_str_eq(c.version, "0.1.0");
    ck_assert_int_eq(c.arch.n_inputs, 4);
    ck_assert_int_eq(c.arch.n_layers, 2);
    ck_assert_int_eq(c.arch.layers[0].kind, NN_LAYER_DENSE);
    ck_assert(c.arch.layers[0].bias);
    ck_assert_int_eq(c.arch.layers[0].out, 6);
    ck_assert_int_eq(c.arch.layers[0].act, NN_ACT_LEAKY_RELU);
    ck_assert_float_eq(c.arch.layers[0].alpha, 0.2f);
    ck_assert_int_eq(c.arch.layers[1].act, NN_ACT_SOFTMAX);
    ck_assert_uint_eq(c.n_params, 4 * 6 + 6 + 6 * 3 + 3);
    ck_assert_uint_eq(c.n_state, 0);
    ck_assert_int_eq(c.optimizer, NN_OPT_ADAM);
    ck_assert_uint_eq(c.n_opt_state, 2 * c.n_params);
    ck_assert_int_eq(c.n_classes, 3);
    ck_assert_str_eq(c.class_names[1], "banana");
    ck_assert_int_eq(c.layout.format, NN_FORMAT_CSV);
    ck_assert_int_eq(c.epoch, 3);
    unsigned char *buf;
    size_t n;
    ck_assert_msg(nn_ckpt_encode(&c, &buf, &n, "x", &err) == 0, "%s", err.msg);
    ck_assert_msg(nn_ckpt_decode(buf, n, "x", &d, &err) == 0, "%s", err.msg);
    assert_ckpt_equal(&c, &d);
    ck_assert_int_eq(d.n_classes, 3);
    nn_ckpt_free(&c);
    nn_ckpt_free(&d);
    free(buf);

    /* an interrupted regression run: its epoch state */
    ck_assert_msg(nn_ckpt_load("tests/fixtures/v3/wave-int.ckpt", &c, &err) == 0, "%s",
                  err.msg);
    ck_assert_int_gt(c.batch, 0);
    ck_assert_int_eq(c.acc_k, 1);
    ck_assert_int_eq(c.layout.n_targets, 1);
    ck_assert_double_eq(c.huber_delta, 0.5);
    nn_ckpt_free(&c);
}
END_TEST

/* Damage to a format-3 file is refused as before: every bit flip, every
 * truncation, a tag format 3 does not have. */
START_TEST(test_checkpoint_rejects_damaged_format_3)
{
    size_t n;
    unsigned char *buf = read_file("tests/fixtures/v3/bytes-e2.ckpt", &n);
    nn_ckpt c;
    nn_error err = {0};
    for (size_t i = 0; i < n; i++)
        for (int bit = 0; bit < 8; bit += 3) {
            buf[i] ^= (unsigned char)(1u << bit);
            ck_assert_msg(nn_ckpt_decode(buf, n, "m", &c, &err) == -1, "bit %d at %zu", bit, i);
            buf[i] ^= (unsigned char)(1u << bit);
        }
    for (size_t len = 0; len < n; len += 7)
        ck_assert_msg(nn_ckpt_decode(buf, len, "m", &c, &err) == -1, "length %zu", len);
    memcpy(buf + 16, "ZZZZ", 4); /* the first section's tag */
    fix_crc(buf, n);
    expect_rejected(buf, n, "m.ckpt: malformed checkpoint: unknown section \"ZZZZ\"");
    free(buf);
}
END_TEST

/* ---- saving ------------------------------------------------------------------ */

START_TEST(test_checkpoint_save_creates_missing_folders)
{
    const char *dir = nn_test_tmpdir();
    char *path = join(dir, "runs/deep/m.ckpt");
    nn_ckpt a, b;
    nn_error err = {0};
    make_ckpt(&a);
    ck_assert_msg(nn_ckpt_save(path, &a, &err) == 0, "%s", err.msg);
    ck_assert_msg(nn_ckpt_load(path, &b, &err) == 0, "%s", err.msg);
    assert_ckpt_equal(&a, &b);
    char *sub = join(dir, "runs/deep");
    ck_assert_int_eq(count_temp_files(sub), 0);
    nn_ckpt_free(&a);
    nn_ckpt_free(&b);
    free(sub);
    free(path);
}
END_TEST

START_TEST(test_checkpoint_save_under_regular_file_fails_cleanly)
{
    const char *dir = nn_test_tmpdir();
    char *file = join(dir, "plain");
    nn_test_write_file(file, "x", 1);
    char *path = join(file, "m.ckpt");
    nn_ckpt c;
    nn_error err = {0};
    make_ckpt(&c);
    ck_assert_int_eq(nn_ckpt_save(path, &c, &err), -1);
    ck_assert_int_eq(err.code, 1);
    char want[4200];
    snprintf(want, sizeof want, "%s: %s", path, strerror(ENOTDIR));
    ck_assert_str_eq(err.msg, want);
    ck_assert_int_eq(count_temp_files(dir), 0);
    nn_ckpt_free(&c);
    free(path);
    free(file);
}
END_TEST

/* A write that fails part way (here: the file-size limit, EFBIG, which
 * behaves like a full disk and works as root too) leaves the previous
 * checkpoint byte for byte and no temporary file. */
START_TEST(test_checkpoint_failed_write_keeps_previous_file)
{
    const char *dir = nn_test_tmpdir();
    char *path = join(dir, "m.ckpt");
    nn_ckpt c;
    nn_error err = {0};
    make_ckpt(&c);
    ck_assert_int_eq(nn_ckpt_save(path, &c, &err), 0);
    size_t n0;
    unsigned char *before = read_file(path, &n0);

    /* a bigger checkpoint that cannot fit under the limit */
    free(c.config_json);
    c.config_json = xmalloc(20001);
    memset(c.config_json, ' ', 20000);
    c.config_json[20000] = '\0';
    c.epoch = 6;

    struct rlimit old, lim;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 4096;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = nn_ckpt_save(path, &c, &err);
    setrlimit(RLIMIT_FSIZE, &old); /* before any assertion writes a report */
    signal(SIGXFSZ, old_handler);

    ck_assert_int_eq(rc, -1);
    ck_assert_int_eq(err.code, 1);
    char want[4200];
    snprintf(want, sizeof want, "%s: %s", path, strerror(EFBIG));
    ck_assert_str_eq(err.msg, want);
    size_t n1;
    unsigned char *after = read_file(path, &n1);
    ck_assert_uint_eq(n0, n1);
    ck_assert_int_eq(memcmp(before, after, n0), 0);
    ck_assert_int_eq(count_temp_files(dir), 0);
    nn_ckpt_free(&c);
    free(before);
    free(after);
    free(path);
}
END_TEST

START_TEST(test_checkpoint_save_into_read_only_folder_fails)
{
    const char *dir = nn_test_tmpdir();
    char *path = join(dir, "m.ckpt");
    char *probe = join(dir, "probe");
    nn_ckpt c;
    nn_error err = {0};
    make_ckpt(&c);
    ck_assert_int_eq(nn_ckpt_save(path, &c, &err), 0);
    size_t n0;
    unsigned char *before = read_file(path, &n0);
    ck_assert_int_eq(chmod(dir, 0555), 0);
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd >= 0) {
        /* root: permissions are not enforced; the cases above cover failure */
        close(fd);
        unlink(probe);
    } else {
        c.epoch = 9;
        int rc = nn_ckpt_save(path, &c, &err);
        ck_assert_int_eq(rc, -1);
        ck_assert_int_eq(err.code, 1);
        char want[4200];
        snprintf(want, sizeof want, "%s: %s", path, strerror(EACCES));
        ck_assert_str_eq(err.msg, want);
        size_t n1;
        unsigned char *after = read_file(path, &n1);
        ck_assert_uint_eq(n0, n1);
        ck_assert_int_eq(memcmp(before, after, n0), 0);
        free(after);
    }
    ck_assert_int_eq(chmod(dir, 0755), 0);
    ck_assert_int_eq(count_temp_files(dir), 0);
    nn_ckpt_free(&c);
    free(before);
    free(probe);
    free(path);
}
END_TEST

START_TEST(test_checkpoint_save_rejects_inconsistent_struct)
{
    const char *dir = nn_test_tmpdir();
    char *path = join(dir, "m.ckpt");
    nn_ckpt c;
    nn_error err = {0};
    make_ckpt(&c);
    c.n_params = 25;
    ck_assert_int_eq(nn_ckpt_save(path, &c, &err), -1);
    ck_assert_int_eq(err.code, 1);
    ck_assert_ptr_nonnull(strstr(err.msg, "cannot save checkpoint"));
    ck_assert_int_eq(access(path, F_OK), -1);
    ck_assert_int_eq(count_temp_files(dir), 0);
    nn_ckpt_free(&c);
    free(path);
}
END_TEST

START_TEST(test_checkpoint_load_missing_file_names_it)
{
    const char *dir = nn_test_tmpdir();
    char *path = join(dir, "none.ckpt");
    nn_ckpt c;
    nn_error err = {0};
    ck_assert_int_eq(nn_ckpt_load(path, &c, &err), -1);
    char want[4200];
    snprintf(want, sizeof want, "%s: %s", path, strerror(ENOENT));
    ck_assert_str_eq(err.msg, want);
    ck_assert_int_eq(err.code, 1);
    /* a folder is not a checkpoint either */
    ck_assert_int_eq(nn_ckpt_load(dir, &c, &err), -1);
    ck_assert_int_eq(err.code, 1);
    free(path);
}
END_TEST

/* ---- the history of metrics (HIST) ------------------------------------------------- */

static void make_history(nn_history *h, int64_t from, int64_t to)
{
    static const char *const names[] = {"train_loss", "val_loss", "val_r2"};
    nn_error err = {0};
    if (h->n_metrics == 0)
        ck_assert_int_eq(nn_history_init(h, names, 3, &err), 0);
    for (int64_t e = from; e <= to; e++) {
        double v[3] = {1.0 / (double)e, (double)e, e % 3 ? 0.5 : NAN};
        ck_assert_int_eq(nn_history_add(h, e, v, &err), 0);
    }
}

static void assert_history_equal(const nn_history *a, const nn_history *b)
{
    ck_assert_int_eq(a->n_metrics, b->n_metrics);
    for (int i = 0; i < a->n_metrics; i++)
        ck_assert_str_eq(a->names[i], b->names[i]);
    ck_assert(a->stride == b->stride);
    ck_assert_uint_eq(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        ck_assert(a->epochs[i] == b->epochs[i]);
        for (int k = 0; k < a->n_metrics; k++)
            assert_same_f64(a->values[i * (size_t)a->n_metrics + (size_t)k],
                            b->values[i * (size_t)b->n_metrics + (size_t)k]);
    }
}

/* Every epoch's metrics come back bit for bit (NaN, -0.0 and all), and a
 * file without the section (an older nntrain's) reads as no history. */
START_TEST(test_checkpoint_history_round_trips)
{
    nn_ckpt a, b;
    nn_error err = {0};
    unsigned char *buf;
    size_t n;
    make_ckpt(&a); /* 5 epochs done */
    make_history(&a.hist, 1, 5);
    a.hist.values[1] = nn_f64_from_bits(0x8000000000000000ULL); /* -0.0 */
    ck_assert_int_eq(nn_ckpt_encode(&a, &buf, &n, "x", &err), 0);
    ck_assert_msg(nn_ckpt_decode(buf, n, "x", &b, &err) == 0, "%s", err.msg);
    assert_ckpt_equal(&a, &b);
    ck_assert_uint_eq(b.hist.n, 5);
    ck_assert_int_eq(nn_history_find(&b.hist, "val_r2"), 2);
    ck_assert_int_eq(nn_history_find(&b.hist, "val_accuracy"), -1);
    assert_history_equal(&a.hist, &b.hist);
    nn_ckpt_free(&b);

    /* the same file without HIST (the last section): no history */
    size_t hist = find_section(buf, n, "HIST");
    put_le32(buf + 12, 12);
    memmove(buf + hist, buf + n - 4, 4);
    fix_crc(buf, hist + 4);
    ck_assert_msg(nn_ckpt_decode(buf, hist + 4, "x", &b, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(b.hist.n_metrics, 0);
    ck_assert_uint_eq(b.hist.n, 0);
    nn_ckpt_free(&b);
    free(buf);

    /* a history past the epochs done is not written */
    a.epoch = 4;
    ck_assert_int_eq(nn_ckpt_encode(&a, &buf, &n, "x", &err), -1);
    ck_assert_str_eq(err.msg, "x: cannot save checkpoint: history reaches epoch 5, past the 4 "
                              "epochs done");
    nn_ckpt_free(&a);
}
END_TEST

/* Up to NN_HIST_MAX_RECORDS epochs all are kept; then the history halves
 * (stride 2, 4, ...) and keeps the latest epoch too; and stopping and going
 * on through a checkpoint anywhere gives the same history as one run. */
START_TEST(test_checkpoint_history_is_bounded_and_resumable)
{
    nn_history h = {0};
    make_history(&h, 1, NN_HIST_MAX_RECORDS);
    ck_assert_uint_eq(h.n, NN_HIST_MAX_RECORDS);
    ck_assert(h.stride == 1);
    make_history(&h, NN_HIST_MAX_RECORDS + 1, NN_HIST_MAX_RECORDS + 1);
    ck_assert(h.stride == 2);
    ck_assert_uint_eq(h.n, NN_HIST_MAX_RECORDS / 2 + 1); /* 2, 4, ..., 2048, and 2049 */
    ck_assert(h.epochs[0] == 2 && h.epochs[h.n - 1] == NN_HIST_MAX_RECORDS + 1);
    make_history(&h, NN_HIST_MAX_RECORDS + 2, 1000000);
    ck_assert_uint_le(h.n, NN_HIST_MAX_RECORDS + 1);
    ck_assert_uint_gt(h.n, NN_HIST_MAX_RECORDS / 2);
    ck_assert(h.stride == 512); /* 1953 multiples of 512 and epoch 1,000,000 */
    ck_assert_uint_eq(h.n, 1000000 / 512 + 1);
    ck_assert(h.epochs[h.n - 1] == 1000000);
    for (size_t i = 0; i < h.n; i++) {
        ck_assert(i + 1 == h.n || h.epochs[i] % h.stride == 0);
        ck_assert_double_eq(h.values[i * 3 + 1], (double)h.epochs[i]); /* its own values */
    }
    char what[256];
    ck_assert_int_eq(nn_history_check(&h, what, sizeof what), 0);

    /* through a checkpoint at epoch 300,001 (a tail epoch), then on */
    nn_ckpt a, b;
    nn_error err = {0};
    unsigned char *buf;
    size_t n;
    make_ckpt(&a);
    a.epoch = 300001;
    make_history(&a.hist, 1, 300001);
    ck_assert_int_eq(nn_ckpt_encode(&a, &buf, &n, "x", &err), 0);
    ck_assert_msg(nn_ckpt_decode(buf, n, "x", &b, &err) == 0, "%s", err.msg);
    make_history(&b.hist, 300002, 1000000);
    assert_history_equal(&h, &b.hist);
    free(buf);
    nn_ckpt_free(&a);
    nn_ckpt_free(&b);
    nn_history_free(&h);
}
END_TEST

/* A damaged HIST is refused with what is wrong, before allocating what its
 * counts claim. */
START_TEST(test_checkpoint_rejects_a_bad_history)
{
    nn_ckpt a;
    nn_error err = {0};
    unsigned char *buf;
    size_t n;
    make_ckpt(&a);
    make_history(&a.hist, 1, 5);
    ck_assert_int_eq(nn_ckpt_encode(&a, &buf, &n, "x", &err), 0);
    nn_ckpt_free(&a);
    size_t body = find_section(buf, n, "HIST") + HEAD;
    /* u32 M = 3, names "train_loss" (4 + 10), "val_loss" (4 + 8), "val_r2" (4 + 6) */
    size_t stride_at = body + 4 + 14 + 12 + 10, count_at = stride_at + 8;
    ck_assert(get_le64(buf + count_at) == 5);

    unsigned char *bad = xmalloc(n);
    memcpy(bad, buf, n); /* a count the bytes do not hold */
    put_le64(bad + count_at, 6);
    fix_crc(bad, n);
    expect_rejected(bad, n, "m.ckpt: malformed checkpoint: history of 6 epochs in 160 bytes");
    memcpy(bad, buf, n); /* a count of 2^40 allocates nothing */
    put_le64(bad + count_at, (uint64_t)1 << 40);
    fix_crc(bad, n);
    expect_rejected(bad, n, "m.ckpt: malformed checkpoint: history of 1099511627776 epochs");
    memcpy(bad, buf, n); /* too many metrics */
    put_le32(bad + body, 17);
    fix_crc(bad, n);
    expect_rejected(bad, n, "m.ckpt: malformed checkpoint: history of 17 metrics, not in 0..16");
    memcpy(bad, buf, n); /* a name out of its alphabet */
    bad[body + 8] = 'T';
    fix_crc(bad, n);
    expect_rejected(bad, n, "m.ckpt: malformed checkpoint: history metric 1 has a bad or "
                            "repeated name");
    memcpy(bad, buf, n); /* a stride that is not a power of two */
    put_le64(bad + stride_at, 3);
    fix_crc(bad, n);
    expect_rejected(bad, n, "m.ckpt: malformed checkpoint: history stride 3");
    memcpy(bad, buf, n); /* epochs out of order: the second record's epoch */
    put_le64(bad + count_at + 8 + 32, 1);
    fix_crc(bad, n);
    expect_rejected(bad, n, "m.ckpt: malformed checkpoint: history record 2 has epoch 1");
    memcpy(bad, buf, n); /* the last epoch past the 5 done */
    put_le64(bad + count_at + 8 + 4 * 32, 6);
    fix_crc(bad, n);
    expect_rejected(bad, n, "m.ckpt: malformed checkpoint: history reaches epoch 6, past the 5 "
                            "epochs done");
    free(bad);
    free(buf);
}
END_TEST

/* PREC: written only for a precision other than fp32 (an fp32 file has the
 * bytes it had before the section existed), read back, optional (a reader
 * without it skips it), and an unknown or cut value refused with the file
 * and the section named. */
START_TEST(test_checkpoint_precision_section_round_trips)
{
    nn_ckpt a, b;
    nn_error err = {0};
    unsigned char *fp32, *bf16;
    size_t n32, n16;
    make_ckpt(&a);
    ck_assert_int_eq(a.precision, NN_PREC_FP32);
    ck_assert_int_eq(nn_ckpt_encode(&a, &fp32, &n32, "x", &err), 0);
    a.precision = NN_PREC_BF16;
    ck_assert_int_eq(nn_ckpt_encode(&a, &bf16, &n16, "x", &err), 0);
    /* the bf16 file is the fp32 one with one more section of 4 bytes */
    ck_assert_uint_eq(n16, n32 + HEAD + 4);
    ck_assert_int_eq(memcmp(fp32 + 16, bf16 + 16, n32 - 4 - 16), 0);
    for (size_t i = 16; i + 4 <= n32; i++)
        ck_assert(memcmp(fp32 + i, "PREC", 4) != 0);
    size_t at = find_section(bf16, n16, "PREC");
    ck_assert_uint_eq(at, n32 - 4);
    ck_assert_int_eq(bf16[at + 4], 0); /* optional */
    ck_assert_int_eq(bf16[at + HEAD], 1);

    ck_assert_int_eq(nn_ckpt_decode(bf16, n16, "m.ckpt", &b, &err), 0);
    assert_ckpt_equal(&a, &b);
    ck_assert_int_eq(b.precision, NN_PREC_BF16);
    nn_ckpt_free(&b);
    ck_assert_int_eq(nn_ckpt_decode(fp32, n32, "m.ckpt", &b, &err), 0);
    ck_assert_int_eq(b.precision, NN_PREC_FP32);
    nn_ckpt_free(&b);

    unsigned char *bad = xmalloc(n16);
    memcpy(bad, bf16, n16); /* a precision this nntrain does not know */
    put_le32(bad + at + HEAD, 7);
    fix_crc(bad, n16);
    expect_rejected(bad, n16, "m.ckpt: malformed checkpoint: section \"PREC\": precision 7, "
                              "unknown to this nntrain (0 fp32, 1 bf16)");
    free(bad);
    size_t m; /* a second PREC section */
    bad = with_extra_section(bf16, n16, "PREC", false, 4, &m);
    expect_rejected(bad, m, "m.ckpt: malformed checkpoint: section \"PREC\" appears twice");
    free(bad);
    bad = with_extra_section(fp32, n32, "PREC", false, 3, &m); /* cut short */
    expect_rejected(bad, m, "m.ckpt: malformed checkpoint: section \"PREC\" is 3 bytes, not 4");
    free(bad);
    bad = with_extra_section(fp32, n32, "PREC", false, 4, &m); /* 0x5a5a5a5a */
    expect_rejected(bad, m, "m.ckpt: malformed checkpoint: section \"PREC\": precision "
                            "1515870810, unknown");
    free(bad);
    /* a struct with an unknown precision is not written */
    a.precision = (nn_precision)2;
    unsigned char *none;
    size_t nn;
    ck_assert_int_eq(nn_ckpt_encode(&a, &none, &nn, "x", &err), -1);
    ck_assert_str_eq(err.msg, "x: cannot save checkpoint: unknown precision 2");
    nn_ckpt_free(&a);
    free(fp32);
    free(bf16);
}
END_TEST

Suite *checkpoint_suite(void)
{
    Suite *s = suite_create("checkpoint");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_crc32_matches_check_value);
    tcase_add_test(tc, test_crc32_matches_zlib_on_random_buffers);
    tcase_add_test(tc, test_checkpoint_round_trip_is_bit_exact);
    tcase_add_test(tc, test_checkpoint_without_scaling_or_optimizer_state_round_trips);
    tcase_add_test(tc, test_checkpoint_saving_twice_gives_identical_bytes);
    tcase_add_test(tc, test_checkpoint_free_is_safe_on_zeroed_struct);
    tcase_add_test(tc, test_checkpoint_rejects_every_single_byte_flip);
    tcase_add_test(tc, test_checkpoint_rejects_every_truncation);
    tcase_add_test(tc, test_checkpoint_rejects_wrong_magic);
    tcase_add_test(tc, test_checkpoint_reads_a_newer_format_and_refuses_an_older_one);
    tcase_add_test(tc, test_checkpoint_skips_unknown_optional_and_refuses_unknown_required_sections);
    tcase_add_test(tc, test_checkpoint_reports_checksum_mismatch);
    tcase_add_test(tc, test_checkpoint_precision_section_round_trips);
    tcase_add_test(tc, test_checkpoint_rejects_section_length_past_end);
    tcase_add_test(tc, test_checkpoint_rejects_a_missing_required_section);
    tcase_add_test(tc, test_checkpoint_rejects_inconsistent_param_count);
    tcase_add_test(tc, test_checkpoint_rejects_bad_values);
    tcase_add_test(tc, test_checkpoint_keeps_batch_norm_layers_and_their_state);
    tcase_add_test(tc, test_checkpoint_reads_format_3);
    tcase_add_test(tc, test_checkpoint_rejects_damaged_format_3);
    tcase_add_test(tc, test_checkpoint_save_creates_missing_folders);
    tcase_add_test(tc, test_checkpoint_save_under_regular_file_fails_cleanly);
    tcase_add_test(tc, test_checkpoint_failed_write_keeps_previous_file);
    tcase_add_test(tc, test_checkpoint_save_into_read_only_folder_fails);
    tcase_add_test(tc, test_checkpoint_save_rejects_inconsistent_struct);
    tcase_add_test(tc, test_checkpoint_load_missing_file_names_it);
    tcase_add_test(tc, test_checkpoint_history_round_trips);
    tcase_add_test(tc, test_checkpoint_history_is_bounded_and_resumable);
    tcase_add_test(tc, test_checkpoint_rejects_a_bad_history);
    suite_add_tcase(s, tc);
    return s;
}
