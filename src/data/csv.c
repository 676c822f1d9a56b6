/* csv.c - the CSV row reader and data-set loader (see csv.h).
 *
 * The row reader pulls NN_CSV_CHUNK bytes at a time from an nn_reader and
 * runs a small state machine over them, copying each field's unquoted bytes
 * into one record buffer (fields NUL-terminated, their offsets in offs).
 * Nothing but the current chunk and the current record is held, and the
 * record is refused as soon as it passes NN_CSV_MAX_LINE bytes, so an
 * endless line costs at most that much memory.
 *
 * The loader reads the first two records to settle the header, resolves the
 * label and target columns, then parses each row straight into growing
 * arrays: features (n, nfeat) float, targets (n, n_targets) float, and one
 * id per row for the label.  Labels are kept as strings (interned in a hash
 * table) until the end, because whether they are integers or class names is
 * only known once every label has been seen.
 */
#include "data/csv.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/reader.h"

#define NN_CSV_CHUNK (64u * 1024u)
#define NN_CSV_MAX_CLASSES 65536
#define NN_CSV_MAX_INT_LABEL 65535

/* --- the row reader ------------------------------------------------------ */

/* Byte classes of the scanner (one table for unquoted text, one for quoted). */
enum { B_DATA = 0, B_DELIM, B_NL, B_CR, B_QUOTE, B_NUL };

struct nn_csv {
    nn_reader *r;
    char *name;                   /* for messages: path or "stdin" */
    int ws;                       /* 1: fields separated by runs of spaces/tabs */
    unsigned char unq[256];       /* class of each byte outside quotes */
    uint64_t stop[4];             /* the bytes other than B_DATA outside quotes (but NUL),
                                     each repeated 8 times; unused ones repeat '\n' */
    unsigned char *buf;           /* (NN_CSV_CHUNK) input; unread bytes are buf[pos..len) */
    size_t pos, len;
    int eof;                      /* the reader returned 0 bytes */
    int borrowed;                 /* buf is the caller's text (csv_from_memory), r NULL */
    int failed;                   /* an error was returned; no more records */
    char *data;                   /* (dcap) the current record's fields, each NUL-terminated */
    size_t dlen, dcap;
    size_t *offs;                 /* (fcap) start of field i in data */
    size_t nf, fcap;
    uint64_t line;                /* line number of buf[pos] */
    uint64_t rec_line;            /* line where the current record starts */
    uint64_t blank_line;          /* first blank line since the last record, 0 if none */
    long skip;                    /* physical lines still to skip at the start */
    int comment;                  /* a line starting with this byte is skipped; 0: none */
};

static int bad_delimiter(int delimiter)
{
    return delimiter != NN_CSV_WHITESPACE &&
           (delimiter <= 0 || delimiter > 255 || delimiter == '"' || delimiter == '\r' ||
            delimiter == '\n');
}

/* The byte classes outside quotes for `delimiter`. */
static void set_classes(nn_csv *c, int delimiter)
{
    const uint64_t ones = 0x0101010101010101ULL;
    c->ws = delimiter == NN_CSV_WHITESPACE;
    c->stop[0] = ones * '\n';
    c->stop[1] = ones * '\r';
    c->stop[2] = ones * (c->ws ? ' ' : (unsigned)delimiter);
    c->stop[3] = ones * (c->ws ? '\t' : '\n');
    c->unq['\n'] = B_NL;
    c->unq['\0'] = B_NUL;
    if (c->ws) {
        c->unq[' '] = c->unq['\t'] = c->unq['\r'] = B_DELIM;
    } else {
        c->unq['\r'] = B_CR;
        c->unq[(unsigned char)delimiter] = B_DELIM;
    }
}

/* A reader over text[0..n), which starts at line `line` of the file `name`
 * (a part cut at a record boundary: no byte-order mark is looked for) and
 * stays the caller's.  NULL when out of memory. */
static nn_csv *csv_from_memory(const char *name, int delimiter, const char *text, size_t n,
                               uint64_t line)
{
    nn_csv *c = calloc(1, sizeof *c);
    if (!c || !(c->name = strdup(name))) {
        free(c);
        return NULL;
    }
    c->buf = (unsigned char *)text; /* only ever read */
    c->borrowed = 1;
    c->len = n;
    c->eof = 1;
    set_classes(c, delimiter);
    c->line = line;
    return c;
}

nn_csv *nn_csv_open(const char *path, int delimiter, nn_error *err)
{
    if (bad_delimiter(delimiter)) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: invalid CSV delimiter (byte %d)",
                     strcmp(path, "-") == 0 ? "stdin" : path, delimiter);
        return NULL;
    }
    nn_reader *r = nn_reader_open(path, err);
    return r ? nn_csv_from_reader(r, delimiter, err) : NULL;
}

nn_csv *nn_csv_from_reader(nn_reader *r, int delimiter, nn_error *err)
{
    const char *path = nn_reader_path(r);
    const char *name = strcmp(path, "-") == 0 ? "stdin" : path;
    if (bad_delimiter(delimiter)) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: invalid CSV delimiter (byte %d)", name, delimiter);
        nn_reader_close(r);
        return NULL;
    }
    nn_csv *c = calloc(1, sizeof *c);
    if (!c || !(c->name = strdup(name)) || !(c->buf = malloc(NN_CSV_CHUNK))) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", name);
        nn_reader_close(r);
        nn_csv_close(c);
        return NULL;
    }
    c->r = r;
    set_classes(c, delimiter);
    c->line = 1;

    /* A UTF-8 byte-order mark at the very start is not data.  Only three
     * bytes are asked for (nn_reader_read waits for all three unless the
     * input ends), so a pipe that sends one short record is not kept
     * waiting for a whole chunk. */
    long long got = nn_reader_read(c->r, c->buf, 3, err);
    if (got < 0) {
        nn_csv_close(c);
        return NULL;
    }
    c->len = (size_t)got;
    c->eof = got == 0;
    if (c->len >= 3 && memcmp(c->buf, "\xEF\xBB\xBF", 3) == 0)
        c->pos = 3;
    return c;
}

void nn_csv_close(nn_csv *c)
{
    if (!c)
        return;
    nn_reader_close(c->r);
    free(c->name);
    if (!c->borrowed)
        free(c->buf);
    free(c->data);
    free(c->offs);
    free(c);
}

size_t nn_csv_nfields(const nn_csv *c)
{
    return c->nf;
}

const char *nn_csv_field(const nn_csv *c, size_t i)
{
    return i < c->nf ? c->data + c->offs[i] : NULL;
}

uint64_t nn_csv_line(const nn_csv *c)
{
    return c->rec_line;
}

const char *nn_csv_name(const nn_csv *c)
{
    return c->name;
}

size_t nn_csv_pending(const nn_csv *c)
{
    return c->len - c->pos + (c->r ? nn_reader_pending(c->r) : 0);
}

/* 1 with more bytes in buf, 0 at the end of the input, -1 on a read error. */
static int refill(nn_csv *c, nn_error *err)
{
    if (c->eof)
        return 0;
    /* whatever has arrived, so records reach a streaming caller at once */
    long long got = nn_reader_read_some(c->r, c->buf, NN_CSV_CHUNK, err);
    if (got < 0)
        return -1;
    c->pos = 0;
    c->len = (size_t)got;
    if (got == 0)
        c->eof = 1;
    return got > 0;
}

/* Room for n more bytes in data; the record limit bounds the total. */
static int data_reserve(nn_csv *c, size_t n, nn_error *err)
{
    if (c->dcap - c->dlen >= n)
        return 0;
    size_t cap = c->dcap ? c->dcap : 256;
    while (cap - c->dlen < n)
        cap *= 2; /* dlen + n <= 2 * NN_CSV_MAX_LINE + 2: cannot overflow */
    char *p = realloc(c->data, cap);
    if (!p) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s:%llu: out of memory", c->name,
                     (unsigned long long)c->rec_line);
        return -1;
    }
    c->data = p;
    c->dcap = cap;
    return 0;
}

static int field_begin(nn_csv *c, nn_error *err)
{
    if (c->nf == NN_CSV_MAX_COLUMNS) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s:%llu: more than %d fields in one record", c->name,
                     (unsigned long long)c->rec_line, NN_CSV_MAX_COLUMNS);
        return -1;
    }
    if (c->nf == c->fcap) {
        size_t cap = c->fcap ? 2 * c->fcap : 64;
        size_t *p = realloc(c->offs, cap * sizeof *p);
        if (!p) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s:%llu: out of memory", c->name,
                         (unsigned long long)c->rec_line);
            return -1;
        }
        c->offs = p;
        c->fcap = cap;
    }
    c->offs[c->nf++] = c->dlen;
    return 0;
}

static int field_end(nn_csv *c, nn_error *err)
{
    if (data_reserve(c, 1, err) < 0)
        return -1;
    c->data[c->dlen++] = '\0';
    return 0;
}

static int append(nn_csv *c, const void *p, size_t n, nn_error *err)
{
    if (data_reserve(c, n + 1, err) < 0) /* + 1: the field's NUL comes next */
        return -1;
    memcpy(c->data + c->dlen, p, n);
    c->dlen += n;
    return 0;
}

static int too_long(nn_csv *c, nn_error *err)
{
    nn_error_set(err, NN_EXIT_RUNTIME, "%s:%llu: line longer than %d bytes", c->name,
                 (unsigned long long)c->rec_line, NN_CSV_MAX_LINE);
    return -1;
}

static int nul_byte(nn_csv *c, nn_error *err)
{
    nn_error_set(err, NN_EXIT_RUNTIME, "%s:%llu: NUL byte in the data (not a text file?)",
                 c->name, (unsigned long long)c->line);
    return -1;
}

/* A record of one unquoted field made only of spaces and tabs (or nothing)
 * is a blank line. */
static int record_is_blank(const nn_csv *c, int quoted)
{
    if (c->nf == 0)
        return 1;
    if (c->nf > 1 || quoted)
        return 0;
    for (const char *s = c->data; *s; s++)
        if (*s != ' ' && *s != '\t')
            return 0;
    return 1;
}

enum { S_START, S_UNQ, S_QUOTED, S_QEND, S_CR };

/* Whether a byte of w equals the byte repeated in rep (exact: the classic
 * zero-byte test on w ^ rep). */
static inline uint64_t has_byte(uint64_t w, uint64_t rep)
{
    uint64_t x = w ^ rep;
    return (x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL;
}

/* Reads one record into data/offs.  Returns 1 for a record, 2 for a blank
 * line, 0 at the end of the input, -1 on error. */
static int read_record(nn_csv *c, nn_error *err)
{
    c->nf = 0;
    c->dlen = 0;
    size_t rec = 0;         /* bytes of the record so far, line end excluded */
    int st = S_START;
    int cr_after_quote = 0; /* S_CR entered from S_QEND */
    int quoted = 0;         /* the record has a quoted field */
    uint64_t quote_line = 0;

    for (;;) {
        if (c->pos == c->len) {
            int k = refill(c, err);
            if (k < 0)
                return -1;
            if (k == 0)
                break;
        }
        const unsigned char *b = c->buf;
        switch (st) {
        case S_START: {
            unsigned char ch = b[c->pos];
            if (c->ws && c->unq[ch] == B_DELIM) { /* leading or repeated whitespace */
                c->pos++;
                if (++rec > NN_CSV_MAX_LINE)
                    return too_long(c, err);
                continue;
            }
            if (c->ws && ch == '\n') { /* whitespace after the last field */
                c->pos++;
                c->line++;
                return c->nf == 0 ? 2 : 1;
            }
            if (field_begin(c, err) < 0)
                return -1;
            if (ch == '"') {
                c->pos++;
                if (++rec > NN_CSV_MAX_LINE)
                    return too_long(c, err);
                st = S_QUOTED;
                quoted = 1;
                quote_line = c->line;
            } else {
                st = S_UNQ;
            }
            continue;
        }
        case S_UNQ: {
            /* The hot loop: copy ordinary bytes while scanning, and in
             * delimiter mode go straight on to the next unquoted field.
             * Each run is bounded so that the record never holds more
             * than the limit plus one byte. */
            const unsigned char *unq = c->unq;
            const size_t len = c->len;
            size_t pos = c->pos, dlen = c->dlen, nf = c->nf, fcap = c->fcap;
            char *data = c->data;
            size_t *offs = c->offs;
            int more = 1; /* 0: back to the outer loop (refill, S_START or error) */
            unsigned char cls = B_DATA;
            for (;;) {
                size_t avail = len - pos, room = (size_t)NN_CSV_MAX_LINE + 1 - rec;
                size_t lim = avail < room ? avail : room;
                if (c->dcap - dlen < lim + 2) {
                    c->dlen = dlen;
                    if (data_reserve(c, lim + 2, err) < 0)
                        return -1;
                    data = c->data;
                }
                const unsigned char *src = b + pos;
                char *dst = data + dlen;
                size_t i = 0;
                /* eight bytes at a time (room reserved: lim + 2) up to the
                 * first that ends the field; the lowest set bit of the test
                 * is exact, and on a little-endian host it is the first byte */
                while (i + 8 <= lim) {
                    uint64_t w;
                    memcpy(&w, src + i, 8);
                    uint64_t m = has_byte(w, 0) | has_byte(w, c->stop[0]) |
                                 has_byte(w, c->stop[1]) | has_byte(w, c->stop[2]) |
                                 has_byte(w, c->stop[3]);
                    memcpy(dst + i, &w, 8);
                    if (m) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
                        i += (size_t)__builtin_ctzll(m) >> 3;
                        goto stop_byte;
#else
                        break;
#endif
                    }
                    i += 8;
                }
                while (i < lim && unq[src[i]] == B_DATA) {
                    dst[i] = (char)src[i];
                    i++;
                }
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            stop_byte:
#endif
                dlen += i;
                pos += i;
                rec += i;
                if (i == lim) { /* the chunk is used up, or the record too long */
                    more = 0;
                    break;
                }
                cls = unq[src[i]];
                if (cls != B_DELIM || c->ws)
                    break;
                pos++; /* the delimiter */
                if (++rec > NN_CSV_MAX_LINE) {
                    more = 0;
                    break;
                }
                data[dlen++] = '\0'; /* room reserved above */
                if (pos == len || b[pos] == '"') {
                    st = S_START;
                    more = 0;
                    break;
                }
                if (nf < fcap && nf < NN_CSV_MAX_COLUMNS) {
                    offs[nf++] = dlen;
                } else {
                    c->nf = nf;
                    c->dlen = dlen;
                    if (field_begin(c, err) < 0)
                        return -1;
                    nf = c->nf;
                    fcap = c->fcap;
                    offs = c->offs;
                }
            }
            c->pos = pos;
            c->dlen = dlen;
            c->nf = nf;
            if (rec > NN_CSV_MAX_LINE)
                return too_long(c, err);
            if (!more)
                continue;
            switch (cls) {
            case B_DELIM: /* whitespace mode */
                c->pos++;
                if (++rec > NN_CSV_MAX_LINE)
                    return too_long(c, err);
                if (field_end(c, err) < 0)
                    return -1;
                st = S_START;
                continue;
            case B_NL:
                c->pos++;
                if (field_end(c, err) < 0)
                    return -1;
                c->line++;
                return record_is_blank(c, quoted) ? 2 : 1;
            case B_CR:
                c->pos++;
                st = S_CR;
                cr_after_quote = 0;
                continue;
            default: /* B_NUL */
                return nul_byte(c, err);
            }
        }
        case S_QUOTED: {
            size_t end = c->len, room = (size_t)NN_CSV_MAX_LINE + 1 - rec;
            if (end - c->pos > room)
                end = c->pos + room;
            size_t i = c->pos;
            for (; i < end; i++) {
                unsigned char ch = b[i];
                if (ch == '"' || ch == '\0')
                    break;
                if (ch == '\n')
                    c->line++;
            }
            if (i > c->pos) {
                if (append(c, b + c->pos, i - c->pos, err) < 0)
                    return -1;
                rec += i - c->pos;
                c->pos = i;
                if (rec > NN_CSV_MAX_LINE)
                    return too_long(c, err);
                continue;
            }
            if (b[i] == '\0')
                return nul_byte(c, err);
            c->pos++; /* the quote: closing, or the first of a doubled one */
            if (++rec > NN_CSV_MAX_LINE)
                return too_long(c, err);
            st = S_QEND;
            continue;
        }
        case S_QEND: {
            unsigned char ch = b[c->pos];
            if (ch == '"') { /* "" inside quotes */
                c->pos++;
                if (++rec > NN_CSV_MAX_LINE)
                    return too_long(c, err);
                if (append(c, "\"", 1, err) < 0)
                    return -1;
                st = S_QUOTED;
                continue;
            }
            switch (c->unq[ch]) {
            case B_DELIM:
                c->pos++;
                if (++rec > NN_CSV_MAX_LINE)
                    return too_long(c, err);
                if (field_end(c, err) < 0)
                    return -1;
                st = S_START;
                continue;
            case B_NL:
                c->pos++;
                if (field_end(c, err) < 0)
                    return -1;
                c->line++;
                return 1;
            case B_CR:
                c->pos++;
                st = S_CR;
                cr_after_quote = 1;
                continue;
            default:
                nn_error_set(err, NN_EXIT_RUNTIME,
                             "%s:%llu: text after the closing quote of field %zu", c->name,
                             (unsigned long long)c->line, c->nf);
                return -1;
            }
        }
        default: { /* S_CR: a CR outside quotes, the line end when LF follows */
            if (b[c->pos] == '\n') {
                c->pos++;
                if (field_end(c, err) < 0)
                    return -1;
                c->line++;
                return record_is_blank(c, quoted) ? 2 : 1;
            }
            if (cr_after_quote) {
                nn_error_set(err, NN_EXIT_RUNTIME,
                             "%s:%llu: text after the closing quote of field %zu", c->name,
                             (unsigned long long)c->line, c->nf);
                return -1;
            }
            /* A lone CR is data. */
            if (++rec > NN_CSV_MAX_LINE)
                return too_long(c, err);
            if (append(c, "\r", 1, err) < 0)
                return -1;
            st = S_UNQ;
            continue;
        }
        }
    }

    /* The end of the input. */
    switch (st) {
    case S_START:
        if (c->nf == 0)
            return 0; /* nothing, or only whitespace (ws mode) */
        if (!c->ws && (field_begin(c, err) < 0 || field_end(c, err) < 0)) /* "a,b," */
            return -1;
        return 1;
    case S_QUOTED:
        nn_error_set(err, NN_EXIT_RUNTIME, "%s:%llu: unterminated quoted field", c->name,
                     (unsigned long long)quote_line);
        return -1;
    default: /* S_UNQ, S_QEND, S_CR: the record had no final line end */
        if (field_end(c, err) < 0)
            return -1;
        return record_is_blank(c, quoted) ? 0 : 1;
    }
}

void nn_csv_set_skip(nn_csv *c, long skip_lines, int comment)
{
    c->skip = skip_lines > 0 ? skip_lines : 0;
    c->comment = comment > 0 && comment < 256 ? comment : 0;
}

/* The next byte without taking it: 0..255, -2 at the end, -1 on error. */
static int peek(nn_csv *c, nn_error *err)
{
    if (c->pos == c->len) {
        int k = refill(c, err);
        if (k <= 0)
            return k < 0 ? -1 : -2;
    }
    return c->buf[c->pos];
}

/* Consumes the rest of the physical line, its LF included.  0 or -1. */
static int skip_line(nn_csv *c, nn_error *err)
{
    for (;;) {
        if (c->pos == c->len) {
            int k = refill(c, err);
            if (k <= 0)
                return k;
        }
        const unsigned char *nl = memchr(c->buf + c->pos, '\n', c->len - c->pos);
        if (nl) {
            c->pos = (size_t)(nl - c->buf) + 1;
            c->line++;
            return 0;
        }
        c->pos = c->len;
    }
}

/* Leading lines to skip, and comment lines, before the next record. */
static int skip_lines(nn_csv *c, nn_error *err)
{
    for (;;) {
        int ch = c->skip > 0 || c->comment ? peek(c, err) : -2;
        if (ch == -1)
            return -1;
        if (ch == -2)
            return 0;
        if (c->skip > 0)
            c->skip--;
        else if (ch != c->comment)
            return 0;
        if (skip_line(c, err) < 0)
            return -1;
    }
}

int nn_csv_next(nn_csv *c, nn_error *err)
{
    if (c->failed) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: read after an error", c->name);
        return -1;
    }
    for (;;) {
        if ((c->skip > 0 || c->comment) && skip_lines(c, err) < 0) {
            c->failed = 1;
            c->nf = 0;
            return -1;
        }
        c->rec_line = c->line;
        int k = read_record(c, err);
        if (k < 0) {
            c->failed = 1;
            c->nf = 0;
            return -1;
        }
        if (k == 0) {
            c->nf = 0;
            return 0;
        }
        if (k == 2) {
            if (c->blank_line == 0)
                c->blank_line = c->rec_line;
            continue;
        }
        if (c->blank_line) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s:%llu: blank line inside the data", c->name,
                         (unsigned long long)c->blank_line);
            c->failed = 1;
            c->nf = 0;
            return -1;
        }
        return 1;
    }
}

/* --- numbers ------------------------------------------------------------- */

/* Locale independence: the syntax is checked here, byte by byte, with '.'
 * as the only decimal point, so no LC_NUMERIC setting can change what is
 * accepted.  The value is then found in one of three ways, each correctly
 * rounded:
 *  - a plain integer of up to 19 digits: one uint64 -> double conversion;
 *  - up to 19 significant digits forming w <= 2^53, scaled by 10^e with
 *    |e| <= 22: w and 10^e are both exact doubles, so one IEEE multiply or
 *    divide rounds correctly (skipped when FLT_EVAL_METHOD != 0, where the
 *    compiler would evaluate in wider precision and round twice);
 *  - anything else is rewritten as its significant digits and an exponent,
 *    "DIGITSe-N", with no decimal point - the one part of strtod's standard
 *    form that depends on the locale - and handed to strtod (correctly
 *    rounded in glibc).
 * Underflow to zero or a subnormal is accepted; overflow to inf is not. */

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static const float pow10f_exact[11] = {1e0f, 1e1f, 1e2f, 1e3f, 1e4f, 1e5f,
                                        1e6f, 1e7f, 1e8f, 1e9f, 1e10f};

static int is_digit(unsigned char ch)
{
    return ch >= '0' && ch <= '9';
}

/* 0 with *out, 1 not a number, 2 a number outside the double range. */
static int parse_num(const char *s, double *out)
{
    const unsigned char *p = (const unsigned char *)s;

    /* The common case first: a plain integer of up to 19 digits, converted
     * exactly (one correctly rounded uint64 -> double conversion). */
    uint64_t w = 0;
    size_t k = 0;
    while (k < 19 && is_digit(p[k]))
        w = w * 10 + (uint64_t)(p[k++] - '0');
    if (k > 0 && p[k] == '\0') {
        *out = (double)w;
        return 0;
    }

    while (*p == ' ' || *p == '\t')
        p++;
    int neg = 0;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    /* Digits before and after the '.', in one pass: w holds the first 19
     * significant ones (leading zeros dropped), first points at the first. */
    const unsigned char *ib = p, *ie, *fb, *fe, *first = NULL;
    size_t nsig = 0;
    w = 0;
    for (; is_digit(*p); p++)
        if (nsig > 0 || *p != '0') {
            if (nsig++ == 0)
                first = p;
            if (nsig <= 19)
                w = w * 10 + (uint64_t)(*p - '0');
        }
    ie = fb = fe = p;
    if (*p == '.') {
        fb = ++p;
        for (; is_digit(*p); p++)
            if (nsig > 0 || *p != '0') {
                if (nsig++ == 0)
                    first = p;
                if (nsig <= 19)
                    w = w * 10 + (uint64_t)(*p - '0');
            }
        fe = p;
    }
    size_t n_frac = (size_t)(fe - fb);
    if ((size_t)(ie - ib) + n_frac == 0)
        return 1;
    long long e = 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        int eneg = 0;
        if (*p == '+' || *p == '-')
            eneg = *p++ == '-';
        if (!is_digit(*p))
            return 1;
        for (; is_digit(*p); p++)
            if (e < 1000000000) /* saturate: far beyond any double */
                e = e * 10 + (*p - '0');
        if (eneg)
            e = -e;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p)
        return 1;

    /* value = D * 10^e10, D the significant digits as an integer */
    long long e10 = e - (long long)n_frac;
    if (nsig == 0) {
        *out = neg ? -0.0 : 0.0;
        return 0;
    }
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    if (nsig <= 19 && w <= ((uint64_t)1 << 53) && e10 >= -22 && e10 <= 22) {
        double v = (double)w;
        v = e10 >= 0 ? v * pow10_exact[e10] : v / pow10_exact[-e10];
        *out = neg ? -v : v;
        return 0;
    }
#endif
    char small[96];
    char *buf = small;
    size_t cap = nsig + 32;
    if (cap > sizeof small && !(buf = malloc(cap)))
        return 1; /* out of memory: reported as not a number (records are <= 1 MiB) */
    k = 0;
    for (const unsigned char *q = first; q < fe; q++)
        if (q != ie) /* skip the '.' */
            buf[k++] = (char)*q;
    snprintf(buf + k, cap - k, "e%lld", e10);
    char *end;
    double v = strtod(buf, &end);
    int bad = *end != '\0';
    if (buf != small)
        free(buf);
    if (bad)
        return 1;
    if (isinf(v))
        return 2;
    *out = neg ? -v : v;
    return 0;
}

int nn_csv_parse_number(const char *s, double *out)
{
    double v;
    if (parse_num(s, &v) != 0)
        return -1;
    *out = v;
    return 0;
}

/* --- the data-set loader ----------------------------------------------- */

typedef struct {
    nn_csv *c;
    const char *name;
    const nn_csv_spec *spec;
    char *const *classes;   /* (n_classes) from a checkpoint or the spec's list, or NULL */
    int n_classes;
    bool classes_from_spec; /* classes is the spec's "classes" list, or a count line's names */
    bool classes_from_count; /* classes are the count line's names */
    char **count_rec;       /* (count_nf) the count line, skipped ("auto") */
    size_t count_nf;
    uint64_t count_rows;    /* the rows it announces */
    bool names_numeric;     /* one of the class names is a number */
    const nn_csv_opts *o;
    nn_csv_info info;
    char *const *na;        /* (n_na) missing-value strings */
    int n_na;
    bool na_numeric;        /* one of them is a number: check every field */

    /* layout */
    char **rec1;            /* (nf1) the first record, copied */
    size_t nf1;
    uint64_t line1;         /* its line */
    int header;             /* rec1 is the header */
    size_t ncols;
    char **names;           /* (ncols) header names (= rec1), or NULL */
    long label_col;         /* -1: no label */
    long *tcols;            /* (nt) */
    int nt;
    unsigned char *role;    /* (ncols) 0 feature, 1 label, 2 target */
    size_t nfeat;

    /* rows */
    size_t records;         /* records read after the head (nn_csv_parts) */
    int more;               /* the head stopped before the end of the input */
    size_t n, cap;
    float *x;               /* (cap, nfeat) */
    float *t;               /* (cap, nt) */
    uint32_t *lab;          /* (cap,) label string id, or class id with `classes` */
    const char **fp;        /* (ncols) the current row's fields */

    /* label strings, interned: strs[id], and an open-addressing table of
     * id + 1 (0 = empty); with `classes`, the table indexes classes */
    char **strs;
    uint64_t *first_line;   /* (strcap) line where strs[id] first appears */
    size_t nstr, strcap;
    uint32_t *htab;
    size_t hcap;            /* a power of two */
} loader;

static int mul_size(size_t a, size_t b, size_t *out)
{
    if (b != 0 && a > SIZE_MAX / b)
        return -1;
    *out = a * b;
    return 0;
}

static int oom(loader *L, nn_error *err)
{
    nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", L->name);
    return -1;
}

/* realloc of n elements of size sz, overflow-checked. */
static void *grow(void *p, size_t n, size_t sz)
{
    size_t bytes;
    if (mul_size(n, sz, &bytes) < 0 || bytes == 0)
        return NULL;
    return realloc(p, bytes);
}

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* The label text without surrounding spaces and tabs. */
static const char *trim(const char *s, size_t *n)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t k = strlen(s);
    while (k > 0 && (s[k - 1] == ' ' || s[k - 1] == '\t'))
        k--;
    *n = k;
    return s;
}

static int str_is(const char *a, size_t n, const char *b)
{
    return strncmp(a, b, n) == 0 && b[n] == '\0';
}

/* The slot of (s, n) in htab over `keys`: its id + 1, or 0 with *slot free. */
static uint32_t hash_find(const loader *L, char *const *keys, const char *s, size_t n,
                          size_t *slot)
{
    size_t mask = L->hcap - 1, i = (size_t)hash_bytes(s, n) & mask;
    for (;; i = (i + 1) & mask) {
        uint32_t v = L->htab[i];
        if (v == 0 || str_is(s, n, keys[v - 1])) {
            *slot = i;
            return v;
        }
    }
}

static int hash_rebuild(loader *L, char *const *keys, size_t nkeys, size_t cap)
{
    uint32_t *t = calloc(cap, sizeof *t);
    if (!t)
        return -1;
    free(L->htab);
    L->htab = t;
    L->hcap = cap;
    for (size_t k = 0; k < nkeys; k++) {
        size_t slot;
        if (hash_find(L, keys, keys[k], strlen(keys[k]), &slot) == 0)
            L->htab[slot] = (uint32_t)k + 1;
    }
    return 0;
}

/* "field 3" or "field 3 ("name")" for column i (0-based). */
static const char *col_desc(const loader *L, size_t i, char *buf, size_t n)
{
    if (L->names)
        snprintf(buf, n, "field %zu (\"%.100s\")", i + 1, L->names[i]);
    else
        snprintf(buf, n, "field %zu", i + 1);
    return buf;
}

/* A field's text for a message, cut at 60 bytes. */
static const char *shown(const char *s, char *buf, size_t n)
{
    if (strlen(s) <= 60)
        return s;
    snprintf(buf, n, "%.57s...", s);
    return buf;
}

/* Case-insensitive ASCII prefix test, free of the locale. */
static int ascii_prefix(const char *s, const char *word)
{
    for (; *word; s++, word++) {
        char ch = *s >= 'A' && *s <= 'Z' ? (char)(*s - 'A' + 'a') : *s;
        if (ch != *word)
            return 0;
    }
    return 1;
}

bool nn_csv_is_na(const char *s, char *const *values, int n)
{
    size_t len;
    const char *t = trim(s, &len);
    for (int i = 0; i < n; i++)
        if (str_is(t, len, values[i]))
            return true;
    return false;
}

/* Field i (0-based) of the row at `line` is missing (its text s). */
static int missing_error(loader *L, const char *s, size_t i, uint64_t line, bool feature,
                         nn_error *err)
{
    char cd[160], sv[64];
    col_desc(L, i, cd, sizeof cd);
    nn_error_set(err, NN_EXIT_RUNTIME, "%s:%llu: %s is missing (\"%s\"): set \"missing\": %s",
                 L->name, (unsigned long long)line, cd, shown(s, sv, sizeof sv),
                 feature ? "\"drop\" to leave such rows out, or \"mean\" to use the column's mean"
                         : "\"drop\" to leave such rows out");
    return -1;
}

/* The error for field i (0-based) of the row at `line`, which parse_num
 * answered with rc (0: a double too large for a float). */
static int field_error(loader *L, const char *s, size_t i, uint64_t line, int rc, nn_error *err)
{
    char cd[160], sv[64];
    col_desc(L, i, cd, sizeof cd);
    const char *p = s;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '+' || *p == '-')
        p++;
    if (rc == 1 && ascii_prefix(p, "nan"))
        nn_error_set(err, NN_EXIT_RUNTIME, "%s:%llu: %s is NaN", L->name,
                     (unsigned long long)line, cd);
    else if (rc == 1 && !ascii_prefix(p, "inf"))
        nn_error_set(err, NN_EXIT_RUNTIME, "%s:%llu: %s is not a number: \"%s\"%s", L->name,
                     (unsigned long long)line, cd, shown(s, sv, sizeof sv),
                     line == L->line1 && !L->header && L->spec->header != NN_HEADER_YES
                         ? " (a header line? set \"header\": true)" : "");
    else if (rc == 0)
        nn_error_set(err, NN_EXIT_RUNTIME, "%s:%llu: %s is too large for a 32-bit float: \"%s\"",
                     L->name, (unsigned long long)line, cd, shown(s, sv, sizeof sv));
    else
        nn_error_set(err, NN_EXIT_RUNTIME, "%s:%llu: %s is not a finite number: \"%s\"", L->name,
                     (unsigned long long)line, cd, shown(s, sv, sizeof sv));
    return -1;
}

/* Field i (0-based) of the row at `line` as a finite float: 0, 1 when it
 * is a missing value the spec accepts (*out NaN), -1 with *err. */
static inline int field_float(loader *L, const char *s, size_t i, uint64_t line, float *out,
                              nn_error *err)
{
    if (L->na_numeric && nn_csv_is_na(s, L->na, L->n_na))
        goto missing;
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    {
        /* Plain integers and decimals ("7", "-0.125", "3.50"), by far the
         * most common fields, inline: at most 19 digits forming d <= 2^53,
         * no exponent.  The value is parse_num's (its exact path: d /
         * 10^frac rounded once to double, then the sign), then the float
         * as below; found in one pass with no branch on the sign. */
        const unsigned char *p = (const unsigned char *)s;
        int neg = *p == '-';
        p += neg;
        uint64_t d = 0;
        int nd = 0, nfrac = 0;
        for (; is_digit(*p); p++, nd++)
            d = d * 10 + (uint64_t)(*p - '0');
        if (*p == '.')
            for (p++; is_digit(*p); p++, nd++, nfrac++)
                d = d * 10 + (uint64_t)(*p - '0');
        if (*p == '\0' && nd > 0 && d < ((uint64_t)1 << 24) && nfrac <= 10) {
            /* d and 10^nfrac are exact floats, and rounding their quotient
             * to double first (53 >= 2 * 24 + 2 bits) then to float gives
             * the float division's result (Figueroa, "When is double
             * rounding innocuous?", 1995): the same value, faster */
            float f = (float)d / pow10f_exact[nfrac];
            uint32_t bits; /* -f when neg, without a branch on a coin toss */
            memcpy(&bits, &f, sizeof bits);
            bits ^= (uint32_t)neg << 31;
            memcpy(out, &bits, sizeof bits);
            return 0;
        }
        if (*p == '\0' && nd > 0 && nd <= 19 && d <= ((uint64_t)1 << 53)) {
            double v = nfrac ? (double)d / pow10_exact[nfrac] : (double)d; /* nfrac <= 19 */
            uint64_t bits; /* -v when neg */
            memcpy(&bits, &v, sizeof bits);
            bits ^= (uint64_t)neg << 63;
            memcpy(&v, &bits, sizeof v);
            *out = (float)v;
            return 0;
        }
    }
#else
    /* Short plain integers, by far the most common field, inline. */
    uint32_t w = 0;
    int k = 0;
    while (k < 9 && is_digit((unsigned char)s[k]))
        w = w * 10 + (uint32_t)(s[k++] - '0');
    if (k > 0 && s[k] == '\0') {
        *out = (float)w; /* w < 10^9: exact in double, so one rounding as below */
        return 0;
    }
#endif
    double v;
    int rc = parse_num(s, &v);
    if (rc == 0) {
        float f = (float)v;
        if (!isinf(f)) {
            *out = f;
            return 0;
        }
    }
    if (!nn_csv_is_na(s, L->na, L->n_na))
        return field_error(L, s, i, line, rc, err);
missing:
    if (L->spec->missing == NN_MISSING_ERROR)
        return missing_error(L, s, i, line, L->role[i] == 0, err);
    *out = NAN;
    return 1;
}

/* A label that is a number matches the first class name of the same value:
 * its id + 1, or 0. */
static uint32_t number_class(const loader *L, const char *s, size_t len)
{
    char tmp[64];
    double v, w;
    if (len >= sizeof tmp)
        return 0;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    if (parse_num(tmp, &v) != 0)
        return 0;
    for (int k = 0; k < L->n_classes; k++)
        if (parse_num(L->classes[k], &w) == 0 && w == v)
            return (uint32_t)k + 1;
    return 0;
}

/* A whole-number label k in 0..n_classes-1 that names no class stands for
 * the k-th name, when no name is a number (integer-coded files such as
 * scikit-learn's, whose class names come in a separate list): class k + 1,
 * else 0. */
static uint32_t index_class(const loader *L, const char *s, size_t len)
{
    uint32_t k = 0;
    if (len == 0 || len > 9)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        k = k * 10 + (uint32_t)(s[i] - '0');
    }
    return k < (uint32_t)L->n_classes ? k + 1 : 0;
}

/* "a, b, c" from n names (in the order of ord when not NULL), cut to fit
 * buf with "...". */
static void name_list(char *const *names, size_t n, const size_t *ord, char *buf, size_t cap)
{
    size_t k = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *nm = names[ord ? ord[i] : i];
        size_t need = strlen(nm) + 2;
        if (k + need + 5 >= cap) {
            snprintf(buf + k, cap - k, "%s...", i ? ", " : "");
            return;
        }
        k += (size_t)snprintf(buf + k, cap - k, "%s%s", i ? ", " : "", nm);
    }
}

static int intern_label(loader *L, const char *s, size_t len, uint64_t line, uint32_t *id,
                        nn_error *err);

/* The row's label -> lab[n]: an interned string id, or (with `classes`)
 * the class index. */
static int row_label(loader *L, const char *field, uint64_t line, nn_error *err)
{
    size_t len, slot;
    const char *s = trim(field, &len);
    if (len == 0) {
        char cd[160];
        nn_error_set(err, NN_EXIT_RUNTIME, "%s:%llu: %s is empty: every row needs a label",
                     L->name, (unsigned long long)line,
                     col_desc(L, (size_t)L->label_col, cd, sizeof cd));
        return -1;
    }
    if (L->classes) {
        uint32_t v = hash_find(L, L->classes, s, len, &slot);
        if (v == 0)
            v = number_class(L, s, len);
        if (v == 0 && !L->names_numeric)
            v = index_class(L, s, len);
        if (v == 0) {
            char sv[64];
            char tmp[61];
            snprintf(tmp, sizeof tmp, "%.*s", len > 60 ? 60 : (int)len, s);
            if (L->classes_from_spec) {
                char list[400];
                name_list(L->classes, (size_t)L->n_classes, NULL, list, sizeof list);
                nn_error_set(err, NN_EXIT_RUNTIME,
                             L->classes_from_count
                                 ? "%s:%llu: label \"%s\" is not one of the classes the count "
                                   "line names (%s)"
                                 : "%s:%llu: label \"%s\" is not one of the source's "
                                   "\"classes\" (%s)",
                             L->name, (unsigned long long)line, shown(tmp, sv, sizeof sv), list);
            } else {
                nn_error_set(err, NN_EXIT_RUNTIME,
                             "%s:%llu: label \"%s\" was not seen in training", L->name,
                             (unsigned long long)line, shown(tmp, sv, sizeof sv));
            }
            return -1;
        }
        L->lab[L->n] = v - 1;
        return 0;
    }
    uint32_t v;
    if (intern_label(L, s, len, line, &v, err) < 0)
        return -1;
    L->lab[L->n] = v - 1;
    return 0;
}

/* The id + 1 of the label text s[0..len) in the table of distinct labels,
 * added (first seen at `line`) when new. */
static int intern_label(loader *L, const char *s, size_t len, uint64_t line, uint32_t *id,
                        nn_error *err)
{
    size_t slot;
    uint32_t v = hash_find(L, L->strs, s, len, &slot);
    if (v == 0) {
        if (L->nstr == NN_CSV_MAX_CLASSES) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s:%llu: more than %d distinct labels", L->name,
                         (unsigned long long)line, NN_CSV_MAX_CLASSES);
            return -1;
        }
        if (L->nstr == L->strcap) {
            size_t cap = L->strcap ? 2 * L->strcap : 16;
            char **p = grow(L->strs, cap, sizeof *p);
            if (!p)
                return oom(L, err);
            L->strs = p;
            uint64_t *fl = grow(L->first_line, cap, sizeof *fl);
            if (!fl)
                return oom(L, err);
            L->first_line = fl;
            L->strcap = cap;
        }
        L->first_line[L->nstr] = line;
        char *copy = malloc(len + 1);
        if (!copy)
            return oom(L, err);
        memcpy(copy, s, len);
        copy[len] = '\0';
        L->strs[L->nstr++] = copy;
        v = (uint32_t)L->nstr;
        L->htab[slot] = v;
        if (2 * L->nstr > L->hcap && hash_rebuild(L, L->strs, L->nstr, 2 * L->hcap) < 0)
            return oom(L, err);
    }
    *id = v;
    return 0;
}

/* Room for one more row.  The first allocation holds as many rows as fit in
 * NN_CSV_FIRST_ROWS_BYTES (1024 at most, 1 at least), so a single very wide
 * row does not reserve 1024 times its width; later ones double, so the
 * arrays stay within twice the rows really read. */
#define NN_CSV_FIRST_ROWS_BYTES ((size_t)1 << 20)
static int rows_reserve(loader *L, nn_error *err)
{
    if (L->n < L->cap)
        return 0;
    size_t row_bytes = (L->nfeat + (size_t)L->nt + 1) * sizeof(float); /* nfeat <= 10^6 */
    size_t first = NN_CSV_FIRST_ROWS_BYTES / row_bytes;
    if (first > 1024)
        first = 1024;
    size_t cap = L->cap ? 2 * L->cap : first > 0 ? first : 1;
    if (cap < L->cap)
        return oom(L, err);
    if (L->nfeat) {
        float *p = grow(L->x, cap, L->nfeat * sizeof(float)); /* nfeat <= 10^6 */
        if (!p)
            return oom(L, err);
        L->x = p;
    }
    if (L->nt) {
        float *p = grow(L->t, cap, (size_t)L->nt * sizeof(float));
        if (!p)
            return oom(L, err);
        L->t = p;
    }
    if (L->label_col >= 0) {
        uint32_t *p = grow(L->lab, cap, sizeof *p);
        if (!p)
            return oom(L, err);
        L->lab = p;
    }
    L->cap = cap;
    return 0;
}

/* One data row of nf fields starting at `line`. */
static int add_row(loader *L, const char *const *f, size_t nf, uint64_t line, nn_error *err)
{
    if (nf != L->ncols) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s:%llu: expected %zu fields, found %zu", L->name,
                     (unsigned long long)line, L->ncols, nf);
        return -1;
    }
    if (rows_reserve(L, err) < 0)
        return -1;
    float *xr = L->x + L->n * L->nfeat; /* (nfeat,) */
    int miss = 0, k;
    size_t nan_fields = 0;
    for (size_t i = 0; i < nf; i++)
        if (L->role[i] == 0) {
            if ((k = field_float(L, f[i], i, line, xr++, err)) < 0)
                return -1;
            nan_fields += (size_t)k;
        }
    for (int j = 0; j < L->nt; j++) {
        if ((k = field_float(L, f[L->tcols[j]], (size_t)L->tcols[j], line,
                             L->t + L->n * (size_t)L->nt + (size_t)j, err)) < 0)
            return -1;
        miss |= k;
    }
    if (L->label_col >= 0 && nn_csv_is_na(f[L->label_col], L->na, L->n_na)) {
        if (L->spec->missing == NN_MISSING_ERROR)
            return missing_error(L, f[L->label_col], (size_t)L->label_col, line, false, err);
        miss = 1;
    }
    /* a missing target or label leaves the row out; a missing feature too,
     * unless it is to be imputed */
    if (miss || (nan_fields && L->spec->missing == NN_MISSING_DROP)) {
        L->info.dropped++;
        return 0;
    }
    if (L->label_col >= 0 && row_label(L, f[L->label_col], line, err) < 0)
        return -1;
    L->info.missing_fields += nan_fields;
    L->n++;
    return 0;
}

/* How the user named a column, for messages: "species" or 7. */
static void col_spec_text(const nn_column *col, char *buf, size_t n)
{
    if (col->name)
        snprintf(buf, n, "\"%.100s\"", col->name);
    else
        snprintf(buf, n, "%ld", col->index);
}

/* `col` -> its 0-based index; `what` is "label" or "target". */
static int resolve_column(loader *L, const nn_column *col, const char *what, long *out,
                          nn_error *err)
{
    if (!col->name) {
        long idx = col->index;
        if (idx < 0 && (unsigned long)-(idx + 1) < L->ncols)
            idx += (long)L->ncols;
        if (idx < 0 || (unsigned long)idx >= L->ncols) {
            nn_error_set(err, NN_EXIT_RUNTIME, "%s: %s column %ld does not exist (rows have %zu fields)",
                         L->name, what, col->index, L->ncols);
            return -1;
        }
        *out = idx;
        return 0;
    }
    if (!L->header) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: %s column \"%.100s\" is given by name, but the file has no header line",
                     L->name, what, col->name);
        return -1;
    }
    size_t found = 0, first = 0, second = 0;
    for (size_t i = 0; i < L->ncols; i++)
        if (strcmp(L->names[i], col->name) == 0) {
            if (found == 0)
                first = i;
            else if (found == 1)
                second = i;
            found++;
        }
    if (found == 1) {
        *out = (long)first;
        return 0;
    }
    if (found > 1) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s:%llu: column \"%.100s\" appears more than once in the header (fields %zu and %zu)",
                     L->name, (unsigned long long)L->line1, col->name, first + 1, second + 1);
        return -1;
    }
    /* List the columns, as many as fit in a message. */
    char list[640];
    size_t k = 0;
    list[0] = '\0';
    for (size_t i = 0; i < L->ncols; i++) {
        size_t need = strlen(L->names[i]) + 2;
        if (k + need + 5 >= sizeof list) {
            snprintf(list + k, sizeof list - k, "%s...", i ? ", " : "");
            break;
        }
        k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", i ? ", " : "", L->names[i]);
    }
    nn_error_set(err, NN_EXIT_RUNTIME, "%s:%llu: no column \"%.100s\" in the header (columns: %s)",
                 L->name, (unsigned long long)L->line1, col->name, list);
    return -1;
}

static int is_number(const char *s)
{
    double v;
    return parse_num(s, &v) == 0;
}

/* Whether s splits at spaces and tabs into two words or more, one of them
 * a number: columns that a delimiter other than whitespace missed. */
static int has_inner_space(const char *s)
{
    int words = 0, numbers = 0;
    char w[64];
    while (*s) {
        while (*s == ' ' || *s == '\t')
            s++;
        size_t n = strcspn(s, " \t");
        if (n == 0)
            break;
        words++;
        if (n < sizeof w) {
            memcpy(w, s, n);
            w[n] = '\0';
            numbers += is_number(w);
        }
        s += n;
    }
    return words >= 2 && numbers >= 1;
}

/* Label and target columns -> label_col, tcols, role, nfeat. */
static int resolve_layout(loader *L, nn_error *err)
{
    const nn_csv_spec *sp = L->spec;
    L->role = calloc(L->ncols, 1);
    if (!L->role)
        return oom(L, err);
    if (sp->has_label) {
        if (resolve_column(L, &sp->label, "label", &L->label_col, err) < 0)
            return -1;
        L->role[L->label_col] = 1;
    }
    if (sp->n_targets > 0) {
        L->tcols = grow(NULL, (size_t)sp->n_targets, sizeof *L->tcols);
        if (!L->tcols)
            return oom(L, err);
        for (int j = 0; j < sp->n_targets; j++) {
            if (resolve_column(L, &sp->targets[j], "target", &L->tcols[j], err) < 0)
                return -1;
            if (L->role[L->tcols[j]] != 0) {
                char cs[128];
                col_spec_text(&sp->targets[j], cs, sizeof cs);
                nn_error_set(err, NN_EXIT_RUNTIME,
                             "%s: column %s is chosen twice (as the label or a target)", L->name,
                             cs);
                return -1;
            }
            L->role[L->tcols[j]] = 2;
            L->nt = j + 1;
        }
    }
    L->nfeat = L->ncols - (L->label_col >= 0) - (size_t)L->nt;
    if (L->nfeat == 0) {
        /* one field holding spaces: most likely columns the delimiter missed */
        int spaced = L->ncols == 1 && sp->delimiter != NN_CSV_WHITESPACE &&
                     has_inner_space(L->rec1[0]);
        /* a first line starting with '#' or the like: an unset comment */
        unsigned char c0 = (unsigned char)L->rec1[0][0];
        int commented = !spaced && !sp->comment && L->ncols == 1 &&
                        (c0 == '#' || c0 == '%' || c0 == ';' || c0 == '/');
        char hint[80] = "";
        if (spaced)
            snprintf(hint, sizeof hint, "; is the file separated by spaces? set \"delimiter\": "
                                        "\"whitespace\"");
        else if (commented)
            snprintf(hint, sizeof hint, "; is line %llu a comment? set \"comment\": \"%c\"",
                     (unsigned long long)L->line1, c0);
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: no feature columns (every column is the label or a target)%s", L->name,
                     hint);
        return -1;
    }
    L->fp = grow(NULL, L->ncols, sizeof *L->fp);
    if (!L->fp)
        return oom(L, err);
    return 0;
}

/* A distinct label: its text, id, and value when it is a number. */
typedef struct {
    const char *s;
    uint32_t id;
    int num; /* 1: v holds its value */
    double v;
} label_key;

static int cmp_name_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int nn_csv_names_distinct(char *const *names, size_t n)
{
    char **v = grow(NULL, n ? n : 1, sizeof *v);
    if (!v)
        return -1;
    memcpy(v, names, n * sizeof *v);
    qsort(v, n, sizeof *v, cmp_name_ptr);
    int ok = 1;
    for (size_t i = 1; i < n && ok; i++)
        ok = strcmp(v[i - 1], v[i]) != 0;
    free(v);
    return ok;
}

static int cmp_label_text(const void *a, const void *b)
{
    return strcmp(((const label_key *)a)->s, ((const label_key *)b)->s);
}

/* By value, ties by first appearance (id), so the first form written names
 * a class. */
static int cmp_label_value(const void *a, const void *b)
{
    const label_key *x = a, *y = b;
    if (x->v != y->v)
        return x->v < y->v ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Labels that are all whole numbers within 0..U-1 (U from the units). */
static int labels_are_indices(const label_key *keys, size_t n, int units, int32_t *maxv)
{
    double top = units <= 0 ? NN_CSV_MAX_INT_LABEL : units == 1 ? 1 : units - 1;
    *maxv = 0;
    for (size_t k = 0; k < n; k++) {
        if (!keys[k].num || keys[k].v != floor(keys[k].v) || keys[k].v < 0 || keys[k].v > top)
            return 0;
        if ((int32_t)keys[k].v > *maxv)
            *maxv = (int32_t)keys[k].v;
    }
    return 1;
}

/* The labels of a model trained on class indices that are not such an index. */
static int not_an_index(loader *L, const label_key *keys, size_t n, nn_error *err)
{
    int top = L->o->units <= 1 ? 1 : L->o->units - 1;
    const label_key *bad = NULL;
    for (size_t k = 0; k < n; k++)
        if ((!keys[k].num || keys[k].v != floor(keys[k].v) || keys[k].v < 0 || keys[k].v > top) &&
            (!bad || L->first_line[keys[k].id] < L->first_line[bad->id]))
            bad = &keys[k];
    if (!bad) { /* the caller found one: not reached */
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: labels do not fit the model's classes", L->name);
        return -1;
    }
    char sv[64];
    nn_error_set(err, NN_EXIT_RUNTIME,
                 "%s:%llu: label \"%s\" is not one of the model's classes 0..%d (it was trained "
                 "on whole-number labels)",
                 L->name, (unsigned long long)L->first_line[bad->id],
                 shown(bad->s, sv, sizeof sv), top);
    return -1;
}

/* More distinct labels (D, names in class order) than the output layer holds. */
static int too_many_labels(loader *L, const label_key *keys, const size_t *first, size_t D,
                           nn_error *err)
{
    int units = L->o->units, U = units == 1 ? 2 : units;
    const label_key *bad = &keys[first[U]];
    char list[400], sv[64], unit_text[64];
    char **names = calloc(D, sizeof *names);
    if (!names)
        return oom(L, err);
    for (size_t c = 0; c < D; c++)
        names[c] = (char *)keys[first[c]].s;
    name_list(names, D, NULL, list, sizeof list);
    free(names);
    int one_to_d = 1;
    for (size_t c = 0; c < D && one_to_d; c++)
        one_to_d = keys[first[c]].num && keys[first[c]].v == (double)(c + 1);
    if (units == 1)
        snprintf(unit_text, sizeof unit_text, "single unit (two classes)");
    else
        snprintf(unit_text, sizeof unit_text, "%d units", units);
    char hint[96] = "";
    if (one_to_d)
        snprintf(hint, sizeof hint, "; labels 1..%zu are read as classes 0..%zu", D, D - 1);
    nn_error_set(err, NN_EXIT_RUNTIME,
                 "%s:%llu: label \"%s\" does not fit the output layer's %s (the file has %zu "
                 "distinct labels: %s): give the output layer %zu units%s",
                 L->name, (unsigned long long)L->first_line[bad->id], shown(bad->s, sv, sizeof sv),
                 unit_text, D, list, D, hint);
    return -1;
}

/* The classes of the distinct labels (csv.h, nn_csv_read_opts): d->n_classes
 * and d->class_names, and, unless the label ids are class indices already
 * (with `classes`), the class of each label id in cls[0..nstr). */
static int class_map(loader *L, nn_dataset *d, int32_t *cls, nn_error *err)
{
    int units = L->o->units;
    if (L->classes) {
        if (L->classes_from_spec && units > 0 && L->n_classes > (units == 1 ? 2 : units)) {
            nn_error_set(err, NN_EXIT_RUNTIME,
                         "%s: the source's \"classes\" has %d names for the output layer's %d "
                         "unit%s (%s)",
                         L->name, L->n_classes, units, units == 1 ? "" : "s",
                         units == 1 ? "a single unit tells two classes apart" : "one per class");
            return -1;
        }
        d->class_names = calloc((size_t)L->n_classes, sizeof *d->class_names);
        if (!d->class_names)
            return oom(L, err);
        d->n_classes = L->n_classes;
        for (int k = 0; k < L->n_classes; k++)
            if (!(d->class_names[k] = strdup(L->classes[k])))
                return oom(L, err);
        return 0;
    }
    size_t n = L->nstr;
    label_key *keys = grow(NULL, n ? n : 1, sizeof *keys);
    size_t *first = grow(NULL, n ? n : 1, sizeof *first);   /* class -> key index */
    int rc = -1;
    if (!keys || !first) {
        oom(L, err);
        goto out;
    }
    int all_num = 1;
    for (size_t k = 0; k < n; k++) {
        keys[k] = (label_key){L->strs[k], (uint32_t)k, 0, 0};
        keys[k].num = parse_num(L->strs[k], &keys[k].v) == 0;
        all_num &= keys[k].num;
    }
    int32_t maxv;
    if (labels_are_indices(keys, n, units, &maxv)) { /* class k is label k */
        for (size_t k = 0; k < n; k++)
            cls[k] = (int32_t)keys[k].v;
        d->n_classes = n ? maxv + 1 : 0;
        rc = 0;
        goto out;
    }
    if (L->o->integer_classes) {
        rc = not_an_index(L, keys, n, err);
        goto out;
    }
    /* Sorted: numbers by value (equal values are one class), else text by
     * byte value. */
    qsort(keys, n, sizeof *keys, all_num ? cmp_label_value : cmp_label_text);
    size_t D = 0;
    for (size_t k = 0; k < n; k++) {
        if (k == 0 || !all_num || keys[k].v != keys[k - 1].v)
            first[D++] = k;
        cls[keys[k].id] = (int32_t)(D - 1);
    }
    if (units > 0 && D > (size_t)(units == 1 ? 2 : units)) {
        rc = too_many_labels(L, keys, first, D, err);
        goto out;
    }
    d->class_names = calloc(D ? D : 1, sizeof *d->class_names);
    if (!d->class_names) {
        oom(L, err);
        goto out;
    }
    for (size_t c = 0; c < D; c++)
        if (!(d->class_names[c] = strdup(keys[first[c]].s))) {
            d->n_classes = (int32_t)c;
            oom(L, err);
            goto out;
        }
    d->n_classes = (int32_t)D;
    rc = 0;
out:
    free(keys);
    free(first);
    return rc;
}

/* Turns the per-row label ids into d->labels, n_classes, class_names
 * (csv.h, nn_csv_read_opts). */
static int finish_labels(loader *L, nn_dataset *d, nn_error *err)
{
    d->labels = grow(NULL, L->n ? L->n : 1, sizeof *d->labels);
    int32_t *cls = grow(NULL, L->nstr ? L->nstr : 1, sizeof *cls); /* id -> class */
    if (!d->labels || !cls) {
        free(cls);
        return oom(L, err);
    }
    int rc = class_map(L, d, cls, err);
    if (rc == 0)
        for (size_t i = 0; i < L->n; i++)
            d->labels[i] = L->classes ? (int32_t)L->lab[i] : cls[L->lab[i]];
    free(cls);
    return rc;
}

static void free_strings(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* The first record, copied (it is both a header candidate and maybe a row). */
static char **copy_record(const nn_csv *c)
{
    size_t nf = nn_csv_nfields(c);
    char **v = calloc(nf, sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < nf; i++)
        if (!(v[i] = strdup(nn_csv_field(c, i)))) {
            free_strings(v, nf);
            return NULL;
        }
    return v;
}


/* A field written as a whole number: digits, an optional sign, spaces. */
static int is_plain_int(const char *s, long long *out)
{
    size_t n;
    const char *t = trim(s, &n);
    size_t i = (n > 0 && (t[0] == '-' || t[0] == '+')) ? 1 : 0;
    if (i == n || n - i > 15)
        return 0;
    long long v = 0;
    for (size_t k = i; k < n; k++) {
        if (!is_digit((unsigned char)t[k]))
            return 0;
        v = v * 10 + (t[k] - '0');
    }
    *out = t[0] == '-' ? -v : v;
    return 1;
}

/* Rows after the first that "auto" looks at. */
#define NN_CSV_SAMPLE 20

typedef struct {
    char **f;
    size_t nf;
    uint64_t line;
} sample_row;

/* Header "auto" (csv.h): decides whether rec1 is a header from the sample
 * rows s[0..ns), and says why in L->info. */
static void decide_header(loader *L, const sample_row *s, size_t ns)
{
    char *const *r1 = L->rec1;
    size_t nf1 = L->nf1;
    char *why = L->info.header_why, sv[64];
    size_t wn = sizeof L->info.header_why;
    L->info.header_auto = true;
    L->header = 0;
    if (ns == 0) {
        /* A lone line that holds the name of the label or a target column
         * is a header (of a file with no rows), not a data row. */
        const nn_csv_spec *sp = L->spec;
        for (size_t i = 0; i < nf1 && !L->header; i++) {
            if (sp->has_label && sp->label.name && strcmp(sp->label.name, r1[i]) == 0)
                L->header = 1;
            for (int t = 0; t < sp->n_targets && !L->header; t++)
                if (sp->targets[t].name && strcmp(sp->targets[t].name, r1[i]) == 0)
                    L->header = 1;
            if (L->header)
                snprintf(why, wn, "field %zu \"%s\" names a chosen column", i + 1,
                         shown(r1[i], sv, sizeof sv));
        }
        if (!L->header)
            snprintf(why, wn, "it is the only line");
        return;
    }
    /* 1. Text above a column of numbers. */
    size_t text = 0;
    for (size_t i = 0; i < nf1; i++) {
        if (is_number(r1[i]) || nn_csv_is_na(r1[i], L->na, L->n_na))
            continue;
        if (text++ == 0 && !why[0])
            snprintf(why, wn, "field %zu \"%s\" is not a number, nor is that column below it",
                     i + 1, shown(r1[i], sv, sizeof sv));
        size_t nums = 0, other = 0;
        for (size_t r = 0; r < ns; r++) {
            if (i >= s[r].nf || nn_csv_is_na(s[r].f[i], L->na, L->n_na))
                continue;
            if (is_number(s[r].f[i]))
                nums++;
            else
                other++;
        }
        if (nums > 0 && other == 0) {
            L->header = 1;
            snprintf(why, wn, "field %zu \"%s\" is not a number", i + 1,
                     shown(r1[i], sv, sizeof sv));
            return;
        }
    }
    if (text > 0)
        return;
    /* Every field is a number (or missing). */
    snprintf(why, wn, "every field is a number");
    long long v;
    /* 2. Names that count the columns: 0..n-1 or 1..n, after an empty
     * first field (an index column's) if there is one; with fewer than five
     * columns only above a body that holds a fraction somewhere, since a
     * short row such as 1,2,3 is as likely data. */
    size_t lead = nf1 > 1 && trim(r1[0], &(size_t){0})[0] == '\0' ? 1 : 0;
    int from0 = nf1 - lead >= 3, from1 = from0;
    for (size_t i = lead; i < nf1 && (from0 || from1); i++) {
        if (!is_plain_int(r1[i], &v)) {
            from0 = from1 = 0;
            break;
        }
        from0 &= v == (long long)(i - lead);
        from1 &= v == (long long)(i - lead) + 1;
    }
    if ((from0 || from1) && nf1 < 5) {
        int frac = 0;
        for (size_t r = 0; r < ns && !frac; r++)
            for (size_t i = 0; i < s[r].nf && !frac; i++) {
                double x;
                frac = parse_num(s[r].f[i], &x) == 0 && x != floor(x);
            }
        from0 &= frac;
        from1 &= frac;
    }
    if (from0 || from1) {
        L->header = 1;
        snprintf(why, wn, "its fields %d..%zu count the columns", from1,
                 nf1 - lead - (size_t)!from1);
        return;
    }
    /* 3. A whole number above a column whose every sampled value (two at
     * least) has a fraction. */
    for (size_t i = 0; i < nf1; i++) {
        if (!is_plain_int(r1[i], &v))
            continue;
        size_t frac = 0, other = 0;
        for (size_t r = 0; r < ns; r++) {
            double x;
            if (i >= s[r].nf || nn_csv_is_na(s[r].f[i], L->na, L->n_na))
                continue;
            if (parse_num(s[r].f[i], &x) == 0 && x != floor(x))
                frac++;
            else
                other++;
        }
        if (frac >= 2 && other == 0) {
            L->header = 1;
            snprintf(why, wn, "field %zu \"%s\" is a whole number above %zu rows of fractions",
                     i + 1, shown(r1[i], sv, sizeof sv), frac);
            return;
        }
    }
}

static void free_sample(sample_row *s, size_t ns)
{
    for (size_t r = 0; r < ns; r++)
        free_strings(s[r].f, s[r].nf);
}

/* A count line (header "auto", no skip_lines): a first line such as
 * scikit-learn's "150,4,setosa,versicolor,virginica", whose first field is
 * a whole number (the rows), whose second is the number of feature columns
 * of the rows below (their fields less the label or the targets), and that
 * is no row itself: it has another number of fields, or, as wide as a row,
 * two or more names after the counts (the class names) and no number.  The
 * rows it announces are checked against the file at the end. */
static bool is_count_line(const loader *L, const sample_row *s, size_t ns)
{
    long long rows, feats;
    if (ns == 0 || L->nf1 < 2 || !is_plain_int(L->rec1[0], &rows) ||
        !is_plain_int(L->rec1[1], &feats) || rows < 1 || feats < 1)
        return false;
    for (size_t i = 1; i < ns; i++)
        if (s[i].nf != s[0].nf)
            return false;
    long long outs = L->spec->n_targets > 0 ? L->spec->n_targets : 1;
    if ((unsigned long long)feats + (unsigned long long)outs != (unsigned long long)s[0].nf)
        return false;
    if (L->nf1 != s[0].nf)
        return true;
    /* as wide as a row: at least two names after the counts, none a number */
    if (L->nf1 < 4)
        return false;
    for (size_t i = 2; i < L->nf1; i++)
        if (is_number(L->rec1[i]))
            return false;
    return true;
}

/* Skips the count line rec1: the first sample row becomes rec1.  Its names
 * after the counts (none of them a number) become the classes when the
 * labels are not mapped by a list already. */
static int skip_count_line(loader *L, sample_row *s, size_t *ns, nn_error *err)
{
    long long rows = 0, feats = 0;
    is_plain_int(L->rec1[0], &rows);
    is_plain_int(L->rec1[1], &feats);
    L->count_rec = L->rec1;
    L->count_nf = L->nf1;
    L->count_rows = (uint64_t)rows;
    L->rec1 = s[0].f;
    L->nf1 = L->ncols = s[0].nf;
    L->line1 = s[0].line;
    memmove(s, s + 1, sizeof *s * (*ns - 1));
    (*ns)--;
    size_t nn = L->count_nf - 2;
    bool names = nn >= 2 && L->spec->has_label;
    for (size_t i = 2; i < L->count_nf && names; i++)
        names = !is_number(L->count_rec[i]) && strlen(L->count_rec[i]) > 0;
    char *why = L->info.count_why;
    size_t wn = sizeof L->info.count_why;
    int k = snprintf(why, wn, "%lld rows, %lld features", rows, feats);
    L->info.count_line = true;
    if (!names || L->classes)
        return 0;
    if (nn > NN_CSV_MAX_CLASSES)
        return 0;
    /* Names that repeat do not name classes (two classes "a" could not be
     * told apart): the labels' own classes are used, as without names. */
    int distinct = nn_csv_names_distinct(L->count_rec + 2, nn);
    if (distinct < 0)
        return oom(L, err);
    if (!distinct) {
        snprintf(why + k, wn - (size_t)k, "; its names repeat, so they name no classes");
        return 0;
    }
    L->classes = L->count_rec + 2;
    L->n_classes = (int)nn;
    L->classes_from_spec = L->classes_from_count = true;
    L->names_numeric = false;
    size_t hcap = 64;
    while (hcap < 2 * nn)
        hcap *= 2;
    if (hash_rebuild(L, L->classes, nn, hcap) < 0)
        return oom(L, err);
    for (size_t i = 0; i < nn && k > 0 && (size_t)k < wn; i++)
        k += snprintf(why + k, wn - (size_t)k, "%s%s", i ? ", " : ", classes ",
                      L->count_rec[2 + i]);
    return 0;
}

/* The head of the file: the first record and the rows "auto" looks at,
 * which settle the header and the layout, added as rows.  L->more tells
 * whether records may follow. */
static int load_head(loader *L, nn_error *err)
{
    nn_csv *c = L->c;
    int k = nn_csv_next(c, err);
    if (k < 0)
        return -1;
    if (k == 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: empty file", L->name);
        return -1;
    }
    size_t nf1 = nn_csv_nfields(c);
    L->nf1 = L->ncols = nf1;
    L->line1 = nn_csv_line(c);
    char **rec1 = L->rec1 = copy_record(c);
    if (!rec1)
        return oom(L, err);

    /* A few rows after the first, for "auto" to look at. */
    sample_row sample[NN_CSV_SAMPLE];
    size_t ns = 0;
    int k2 = 1;
    while (ns < (L->spec->header == NN_HEADER_AUTO ? NN_CSV_SAMPLE : 1) &&
           (k2 = nn_csv_next(c, err)) == 1) {
        sample[ns] = (sample_row){copy_record(c), nn_csv_nfields(c), nn_csv_line(c)};
        if (!sample[ns].f) {
            free_sample(sample, ns);
            return oom(L, err);
        }
        ns++;
    }
    if (k2 < 0) {
        free_sample(sample, ns);
        return -1;
    }
    if (L->spec->header == NN_HEADER_AUTO && L->spec->skip_lines == 0 &&
        is_count_line(L, sample, ns)) {
        if (skip_count_line(L, sample, &ns, err) < 0) {
            free_sample(sample, ns);
            return -1;
        }
        rec1 = L->rec1;
        nf1 = L->nf1;
    }
    L->info.header_line = L->line1;
    switch (L->spec->header) {
    case NN_HEADER_YES:
        L->header = 1;
        break;
    case NN_HEADER_NO:
        L->header = 0;
        break;
    default:
        decide_header(L, sample, ns);
    }
    L->info.header = L->header;
    k2 = ns > 0;
    if (L->header && k2 == 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: header but no data rows", L->name);
        return -1;
    }
    if (L->header)
        L->names = rec1;
    if (resolve_layout(L, err) < 0) {
        free_sample(sample, ns);
        return -1;
    }
    if (!L->header && add_row(L, (const char *const *)rec1, nf1, L->line1, err) < 0) {
        free_sample(sample, ns);
        return -1;
    }
    for (size_t r = 0; r < ns; r++)
        if (add_row(L, (const char *const *)sample[r].f, sample[r].nf, sample[r].line, err) < 0) {
            free_sample(sample, ns);
            return -1;
        }
    free_sample(sample, ns);
    L->more = k2;
    return 0;
}

/* Every further record of L->c as a row: 0 at the end, -1 with *err. */
static int load_rows(loader *L, nn_error *err)
{
    nn_csv *c = L->c;
    int k;
    while ((k = nn_csv_next(c, err)) == 1) {
        L->records++;
        size_t nf = nn_csv_nfields(c);
        if (nf == L->ncols)
            for (size_t i = 0; i < nf; i++)
                L->fp[i] = nn_csv_field(c, i);
        if (add_row(L, L->fp, nf, nn_csv_line(c), err) < 0)
            return -1;
    }
    return k;
}

/* The checks once every row is read (L->n rows kept, L->info.dropped left
 * out). */
static int load_end(loader *L, nn_error *err)
{
    if (L->count_rec && L->count_rows != (uint64_t)L->n + L->info.dropped) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s:1: the first line looks like a count line (%s) but the file has %zu "
                     "rows; set \"skip_lines\": 1 to skip it, or \"header\"", L->name,
                     L->count_rec[0], L->n + L->info.dropped);
        return -1;
    }
    if (L->n == 0 && L->info.dropped > 0) {
        nn_error_set(err, NN_EXIT_RUNTIME,
                     "%s: no rows left: each of the %zu rows has a missing value", L->name,
                     L->info.dropped);
        return -1;
    }
    if (L->n > UINT32_MAX) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: more than %lu rows", L->name,
                     (unsigned long)UINT32_MAX);
        return -1;
    }
    return 0;
}

static int load(loader *L, nn_dataset *d, nn_error *err)
{
    if (load_head(L, err) < 0 || (L->more && load_rows(L, err) < 0) || load_end(L, err) < 0)
        return -1;
    d->type = NN_DT_F32;
    d->n = L->n;
    d->features = L->nfeat;
    d->ndim = 2;
    d->dims[0] = (uint32_t)L->n;
    d->dims[1] = L->nfeat > UINT32_MAX ? UINT32_MAX : (uint32_t)L->nfeat;
    /* Hand the arrays over, trimmed to their size. */
    float *x = grow(L->x, L->n, L->nfeat * sizeof(float));
    d->x = x ? x : L->x;
    L->x = NULL;
    if (L->nt) {
        float *t = grow(L->t, L->n, (size_t)L->nt * sizeof(float));
        d->targets = t ? t : L->t;
        L->t = NULL;
        d->n_targets = L->nt;
    }
    if (L->label_col >= 0 && finish_labels(L, d, err) < 0)
        return -1;
    return 0;
}

const char *const nn_csv_default_na[NN_CSV_DEFAULT_NA] = {"", "NA", "NaN", "?", "null"};

int nn_csv_read(nn_dataset *d, nn_data_layout *layout, const char *path, const nn_csv_spec *spec,
                char *const *classes, int n_classes, nn_error *err)
{
    nn_csv_opts o = {classes, n_classes, 0, false, NULL};
    return nn_csv_read_opts(d, layout, path, spec, &o, err);
}

/* The layout's copy of the missing-value strings; -1 out of memory. */
static int copy_na(nn_data_layout *l, char *const *na, int n)
{
    l->na_values = calloc((size_t)n + 1, sizeof *l->na_values);
    if (!l->na_values)
        return -1;
    for (int i = 0; i < n; i++) {
        if (!(l->na_values[i] = strdup(na[i])))
            return -1;
        l->n_na = i + 1;
    }
    return 0;
}

/* Sets up L to read path with spec and o, the reader opened: 0, or -1 with
 * *err (then loader_free still frees what was made). */
static int loader_init(loader *L, const char *path, const nn_csv_spec *spec,
                       const nn_csv_opts *o, nn_error *err)
{
    char *const *classes = o->classes;
    int n_classes = o->n_classes;
    memset(L, 0, sizeof *L);
    L->spec = spec;
    L->label_col = -1;
    L->o = o;
    if (!classes && spec->n_class_list > 0) {
        classes = spec->class_list;
        n_classes = spec->n_class_list;
        L->classes_from_spec = true;
    }
    L->classes = classes;
    L->n_classes = classes ? n_classes : 0;
    for (int k = 0; k < L->n_classes; k++)
        L->names_numeric |= is_number(classes[k]);
    L->name = strcmp(path, "-") == 0 ? "stdin" : path;
    L->na = spec->has_na ? spec->na_values : (char *const *)nn_csv_default_na;
    L->n_na = spec->has_na ? spec->n_na : NN_CSV_DEFAULT_NA;
    for (int i = 0; i < L->n_na; i++)
        L->na_numeric |= is_number(L->na[i]);
    if (spec->n_targets < 0 || (classes && n_classes <= 0)) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: invalid CSV reading options", L->name);
        return -1;
    }
    /* The hash table: over `classes` for look-ups, or for interning. */
    size_t hcap = 64;
    while (classes && hcap < 2 * (size_t)n_classes)
        hcap *= 2;
    if (hash_rebuild(L, classes, (size_t)L->n_classes, hcap) < 0)
        return oom(L, err);
    /* A zero delimiter (an unset spec) means the comma. */
    L->c = nn_csv_open(path, spec->delimiter ? spec->delimiter : ',', err);
    if (!L->c)
        return -1;
    nn_csv_set_skip(L->c, spec->skip_lines, spec->comment);
    return 0;
}

/* *layout from what L found (the header names move there). */
static int loader_layout(loader *L, nn_data_layout *layout, nn_error *err)
{
    const nn_csv_spec *spec = L->spec;
    memset(layout, 0, sizeof *layout);
    if (copy_na(layout, L->na, L->n_na) < 0) {
        nn_data_layout_free(layout);
        return oom(L, err);
    }
    layout->format = NN_FORMAT_CSV;
    layout->header = L->header;
    layout->delimiter = spec->delimiter ? spec->delimiter : ',';
    layout->n_columns = L->ncols;
    if (L->header) {
        layout->names = L->rec1;
        L->rec1 = NULL;
    }
    layout->label_col = L->label_col;
    layout->target_cols = L->tcols;
    L->tcols = NULL;
    layout->n_targets = L->nt;
    layout->missing = (int)spec->missing;
    return 0;
}

static void loader_free(loader *L)
{
    free_strings(L->rec1, L->nf1);
    free_strings(L->count_rec, L->count_nf);
    free(L->tcols);
    free(L->role);
    free(L->x);
    free(L->t);
    free(L->lab);
    free((void *)L->fp);
    free_strings(L->strs, L->nstr);
    free(L->first_line);
    free(L->htab);
    nn_csv_close(L->c);
    memset(L, 0, sizeof *L);
}

int nn_csv_read_opts(nn_dataset *d, nn_data_layout *layout, const char *path,
                     const nn_csv_spec *spec, const nn_csv_opts *o, nn_error *err)
{
    memset(d, 0, sizeof *d);
    if (layout)
        memset(layout, 0, sizeof *layout);
    loader L;
    int rc = loader_init(&L, path, spec, o, err);
    if (rc == 0)
        rc = load(&L, d, err);
    if (rc == 0 && layout)
        rc = loader_layout(&L, layout, err);
    if (o->info)
        *o->info = L.info;
    if (rc < 0)
        nn_dataset_free(d);
    const char *name = strcmp(path, "-") == 0 ? "stdin" : path;
    loader_free(&L);
    if (rc < 0 && err && err->code == 0)
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: cannot read", name);
    return rc;
}

/* --- a file parsed in parts (csv.h) ------------------------------------ */

struct nn_csv_parts {
    loader L;            /* the head's loader: the layout, the table of labels */
    nn_csv_opts o;       /* a copy, info pointing nowhere */
    size_t n, dropped, missing_fields; /* totals over the parts taken */
    uint64_t blank_line; /* a blank line no record has followed yet; 0 if none */
};

nn_csv_parts *nn_csv_parts_open(const char *path, const nn_csv_spec *spec,
                                const nn_csv_opts *o, nn_error *err)
{
    nn_csv_parts *P = calloc(1, sizeof *P);
    if (!P) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", path);
        return NULL;
    }
    P->o = *o;
    P->o.info = NULL;
    if (loader_init(&P->L, path, spec, &P->o, err) < 0 || load_head(&P->L, err) < 0) {
        nn_csv_parts_close(P);
        return NULL;
    }
    P->n = P->L.n;
    P->dropped = P->L.info.dropped;
    P->missing_fields = P->L.info.missing_fields;
    return P;
}

void nn_csv_parts_close(nn_csv_parts *P)
{
    if (!P)
        return;
    loader_free(&P->L);
    free(P);
}

size_t nn_csv_parts_features(const nn_csv_parts *P)
{
    return P->L.nfeat;
}

int nn_csv_parts_targets(const nn_csv_parts *P)
{
    return P->L.nt;
}

bool nn_csv_parts_has_label(const nn_csv_parts *P)
{
    return P->L.label_col >= 0;
}

const char *nn_csv_parts_name(const nn_csv_parts *P)
{
    return P->L.name;
}

void nn_csv_parts_head(nn_csv_parts *P, nn_csv_part *out)
{
    loader *L = &P->L;
    memset(out, 0, sizeof *out);
    out->n = L->n;
    out->x = L->x;
    out->t = L->t;
    out->lab = L->lab;
    out->cap = L->cap;
    out->dropped = L->info.dropped;
    out->missing_fields = L->info.missing_fields;
    L->x = L->t = NULL;
    L->lab = NULL;
    L->n = L->cap = 0;
    P->n = P->dropped = P->missing_fields = 0; /* counted when it is taken */
}

const char *nn_csv_parts_rest(const nn_csv_parts *P, size_t *n, uint64_t *line,
                              nn_reader **r)
{
    const nn_csv *c = P->L.c;
    *line = c->line;
    if (!P->L.more || c->failed) {
        *n = 0;
        *r = NULL;
        return "";
    }
    *n = c->len - c->pos;
    *r = c->eof ? NULL : c->r;
    return (const char *)c->buf + c->pos;
}

/* Bytes that separate fields outside quotes. */
static int is_delim(int ws, unsigned char dl, unsigned char ch)
{
    return ws ? ch == ' ' || ch == '\t' || ch == '\r' : ch == dl;
}

size_t nn_csv_parts_split(const nn_csv_parts *P, const char *text, size_t n)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t last = 0;
    if (!memchr(p, '"', n)) {
        /* No quote: every LF ends a record (or a comment line). */
        for (size_t i = n; i > 0; i--)
            if (p[i - 1] == '\n')
                return i;
        return 0;
    }
    /* read_record's states, without the copying: where a quote opens a
     * field, and comment lines, decide which LF ends a record. */
    const nn_csv_spec *sp = P->L.spec;
    int ws = sp->delimiter == NN_CSV_WHITESPACE;
    unsigned char dl = (unsigned char)(sp->delimiter ? sp->delimiter : ',');
    int comment = P->L.c->comment;
    int st = S_START, line_start = 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = p[i];
        if (line_start) {
            line_start = 0;
            if (comment && ch == comment) {
                const unsigned char *nl = memchr(p + i, '\n', n - i);
                if (!nl)
                    return last;
                i = (size_t)(nl - p);
                last = i + 1;
                line_start = 1;
                continue;
            }
        }
        switch (st) {
        case S_START:
            if (ws && is_delim(ws, dl, ch))
                continue;
            if (ch == '"') {
                st = S_QUOTED;
                continue;
            }
            st = S_UNQ; /* the byte is the field's first */
            /* fall through */
        case S_UNQ:
            if (ch == '\n')
                break;
            if (is_delim(ws, dl, ch))
                st = S_START;
            else if (ch == '\r')
                st = S_CR;
            continue;
        case S_QUOTED: {
            const unsigned char *q = memchr(p + i, '"', n - i);
            if (!q)
                return last;
            i = (size_t)(q - p);
            st = S_QEND;
            continue;
        }
        case S_QEND:
            if (ch == '"')
                st = S_QUOTED;
            else if (ch == '\n')
                break;
            else if (is_delim(ws, dl, ch))
                st = S_START;
            else
                st = ch == '\r' ? S_CR : S_UNQ; /* else an error the parser reports */
            continue;
        default: /* S_CR */
            if (ch == '\n')
                break;
            st = S_UNQ; /* a lone CR is data: the byte is looked at again */
            i--;
            continue;
        }
        /* an LF that ends a record */
        st = S_START;
        last = i + 1;
        line_start = 1;
    }
    return last;
}

int nn_csv_parts_parse(const nn_csv_parts *P, const char *text, size_t n, uint64_t line,
                       bool whole, nn_csv_part *out)
{
    loader C = P->L; /* shares the layout, read only */
    C.x = out->x; /* the row arrays of an earlier part are used again */
    C.t = out->t;
    C.lab = out->lab;
    C.cap = out->cap;
    nn_csv_part_reset(out);
    memset(out, 0, sizeof *out);
    nn_error *err = &out->err;
    C.c = NULL;
    C.n = C.records = 0;
    C.fp = NULL;
    C.info.dropped = C.info.missing_fields = 0;
    C.strs = NULL;
    C.first_line = NULL;
    C.nstr = C.strcap = 0;
    if (!C.classes) { /* a table of its own; with classes the head's is only read */
        C.htab = NULL;
        C.hcap = 0;
    }
    int rc = -1;
    if ((!C.classes && hash_rebuild(&C, NULL, 0, 64) < 0) ||
        !(C.fp = grow(NULL, C.ncols, sizeof *C.fp))) {
        oom(&C, err);
        goto out;
    }
    const nn_csv_spec *sp = C.spec;
    C.c = csv_from_memory(C.name, sp->delimiter ? sp->delimiter : ',', text, n, line);
    if (!C.c) {
        oom(&C, err);
        goto out;
    }
    nn_csv_set_skip(C.c, 0, sp->comment);
    rc = load_rows(&C, err);
    if (rc == 0 && !whole) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s:%llu: cannot find where this record ends",
                     C.name, (unsigned long long)C.c->line);
        rc = -1;
    }
    out->blank_line = C.c->blank_line;
out:
    out->rc = rc;
    out->n = C.n;
    out->x = C.x;
    out->t = C.t;
    out->lab = C.lab;
    out->cap = C.cap;
    out->dropped = C.info.dropped;
    out->missing_fields = C.info.missing_fields;
    out->records = C.records;
    out->strs = C.strs;
    out->first_line = C.first_line;
    out->nstr = C.nstr;
    if (!C.classes)
        free(C.htab);
    free((void *)C.fp);
    nn_csv_close(C.c);
    return rc;
}

void nn_csv_part_reset(nn_csv_part *part)
{
    free_strings(part->strs, part->nstr);
    free(part->first_line);
    float *x = part->x, *t = part->t;
    uint32_t *lab = part->lab;
    size_t cap = part->cap;
    memset(part, 0, sizeof *part);
    part->x = x;
    part->t = t;
    part->lab = lab;
    part->cap = cap;
}

void nn_csv_part_free(nn_csv_part *part)
{
    if (!part)
        return;
    nn_csv_part_reset(part);
    free(part->x);
    free(part->t);
    free(part->lab);
    memset(part, 0, sizeof *part);
}

int nn_csv_parts_take(nn_csv_parts *P, nn_csv_part *part, nn_error *err)
{
    loader *L = &P->L;
    if (P->blank_line && part->records > 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s:%llu: blank line inside the data", L->name,
                     (unsigned long long)P->blank_line);
        return -1;
    }
    /* the part's label ids -> the head's, first appearances in file order */
    if (!L->classes && part->nstr > 0) {
        uint32_t *map = grow(NULL, part->nstr, sizeof *map);
        if (!map)
            return oom(L, err);
        for (size_t k = 0; k < part->nstr; k++)
            if (intern_label(L, part->strs[k], strlen(part->strs[k]), part->first_line[k],
                             &map[k], err) < 0) {
                free(map);
                return -1;
            }
        for (size_t i = 0; i < part->n; i++)
            part->lab[i] = map[part->lab[i]] - 1;
        free(map);
    }
    if (part->rc < 0) {
        if (err)
            *err = part->err;
        return -1;
    }
    if (part->records > 0 || !P->blank_line)
        P->blank_line = part->blank_line;
    P->n += part->n;
    P->dropped += part->dropped;
    P->missing_fields += part->missing_fields;
    return 0;
}

int nn_csv_parts_finish(nn_csv_parts *P, int32_t **map, size_t *n_map, int32_t *n_classes,
                        char ***class_names, nn_data_layout *layout, nn_csv_info *info,
                        nn_error *err)
{
    loader *L = &P->L;
    *map = NULL;
    *n_map = 0;
    *n_classes = 0;
    *class_names = NULL;
    memset(layout, 0, sizeof *layout);
    L->n = P->n;
    L->info.dropped = P->dropped;
    L->info.missing_fields = P->missing_fields;
    if (info)
        *info = L->info;
    if (load_end(L, err) < 0)
        return -1;
    nn_dataset d;
    memset(&d, 0, sizeof d);
    if (L->label_col >= 0) {
        int32_t *cls = NULL;
        if (!L->classes && !(cls = grow(NULL, L->nstr ? L->nstr : 1, sizeof *cls)))
            return oom(L, err);
        if (class_map(L, &d, cls, err) < 0) {
            free(cls);
            nn_dataset_free(&d);
            return -1;
        }
        *map = cls;
        *n_map = cls ? L->nstr : 0;
    }
    if (loader_layout(L, layout, err) < 0) {
        free(*map);
        *map = NULL;
        *n_map = 0;
        nn_dataset_free(&d);
        return -1;
    }
    *n_classes = d.n_classes;
    *class_names = d.class_names;
    return 0;
}
