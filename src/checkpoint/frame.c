/* frame.c - the checkpoint's framing: the header, the section table and the
 * checksum, for reading formats 3 and 4 and writing format 4 (internal.h).
 *
 *   offset   size  field
 *   0        8     magic "NNTRCKPT"
 *   8        4     u32 format version
 *   12       4     u32 section count
 *   16       ...   sections; format 4: 4-byte tag, u32 flags, u64 length L,
 *                  L payload bytes; format 3: the same without the flags
 *   size-4   4     u32 CRC-32 (nn_crc32) of bytes [0, size-4)
 *
 * Reading checks, in this order: the magic, the version, the CRC, then
 * every section head and length against the bytes that remain.  The
 * section list is allocated only after its count is bounded by the bytes
 * the file holds, so a header claiming 2^32 sections allocates nothing. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint/internal.h"
#include "util/crc32.h"

int nn_ckpt_malformed(nn_error *err, const char *name, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    nn_error_set(err, NN_EXIT_RUNTIME, "%s: malformed checkpoint: %s", name, what);
    return -1;
}

int nn_ckpt_nomem(nn_error *err, const char *name)
{
    nn_error_set(err, NN_EXIT_RUNTIME, "%s: out of memory", name);
    return -1;
}

void nn_ckpt_tag_text(const unsigned char *t, char out[16])
{
    int printable = 1;
    for (int i = 0; i < 4; i++)
        if (t[i] < 0x20 || t[i] > 0x7e || t[i] == '"' || t[i] == '\\')
            printable = 0;
    if (printable)
        snprintf(out, 16, "\"%c%c%c%c\"", t[0], t[1], t[2], t[3]);
    else
        snprintf(out, 16, "0x%02x%02x%02x%02x", t[0], t[1], t[2], t[3]);
}

/* The header, with a message the user can act on for each failure. */
static int check_header(const unsigned char *p, size_t n, const char *name, uint32_t *version,
                        nn_error *err)
{
    size_t m = n < NN_CKPT_MAGIC_LEN ? n : NN_CKPT_MAGIC_LEN;
    if (n == 0 || memcmp(p, NN_CKPT_MAGIC, m) != 0) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: not an nntrain checkpoint", name);
        return -1;
    }
    if (n >= NN_CKPT_MAGIC_LEN + 4) {
        *version = nn_load_u32(p + NN_CKPT_MAGIC_LEN);
        if (*version < NN_CKPT_OLDEST_VERSION) {
            nn_error_set(err, NN_EXIT_RUNTIME,
                         "%s: checkpoint format version %lu, this nntrain reads formats %d and "
                         "later",
                         name, (unsigned long)*version, NN_CKPT_OLDEST_VERSION);
            return -1;
        }
    }
    if (n < NN_CKPT_HEADER_LEN + NN_CKPT_TRAILER_LEN ||
        nn_crc32(0, p, n - NN_CKPT_TRAILER_LEN) != nn_load_u32(p + n - NN_CKPT_TRAILER_LEN)) {
        nn_error_set(err, NN_EXIT_RUNTIME, "%s: checksum mismatch (file is corrupt or truncated)",
                     name);
        return -1;
    }
    return 0;
}

int nn_ckpt_frame_parse(const unsigned char *p, size_t n, const char *name, uint32_t *version,
                        nn_ckpt_section **secs, size_t *count, nn_error *err)
{
    *secs = NULL;
    *count = 0;
    if (check_header(p, n, name, version, err) != 0)
        return -1;
    bool flags = *version >= 4;
    size_t head = flags ? 16 : 12, end = n - NN_CKPT_TRAILER_LEN, pos = NN_CKPT_HEADER_LEN;
    uint32_t claimed = nn_load_u32(p + NN_CKPT_MAGIC_LEN + 4);
    if ((uint64_t)claimed > (end - pos) / head)
        return nn_ckpt_malformed(err, name, "%lu sections cannot fit in %zu bytes",
                                 (unsigned long)claimed, end - pos);
    nn_ckpt_section *s = calloc(claimed ? claimed : 1, sizeof *s);
    if (!s)
        return nn_ckpt_nomem(err, name);
    char tag[16];
    for (uint32_t i = 0; i < claimed; i++) {
        if (end - pos < head) {
            free(s);
            return nn_ckpt_malformed(err, name, "section %lu of %lu starts past the end of the "
                                     "data", (unsigned long)i + 1, (unsigned long)claimed);
        }
        memcpy(s[i].tag, p + pos, 4);
        uint32_t f = flags ? nn_load_u32(p + pos + 4) : NN_CKPT_REQUIRED;
        uint64_t len = nn_load_u64(p + pos + head - 8);
        pos += head;
        nn_ckpt_tag_text(s[i].tag, tag);
        if (f > NN_CKPT_REQUIRED) {
            free(s);
            return nn_ckpt_malformed(err, name, "section %s has unknown flags 0x%lx", tag,
                                     (unsigned long)f);
        }
        if (len > end - pos) {
            free(s);
            return nn_ckpt_malformed(err, name, "section %s is %llu bytes, past the end of the "
                                     "file", tag, (unsigned long long)len);
        }
        s[i].required = f & NN_CKPT_REQUIRED;
        s[i].body = (nn_bytes_in){p + pos, (size_t)len, 0, false};
        pos += (size_t)len;
    }
    if (pos != end) {
        free(s);
        return nn_ckpt_malformed(err, name, "%zu unexpected bytes after the last section",
                                 end - pos);
    }
    *secs = s;
    *count = claimed;
    return 0;
}

void nn_ckpt_frame_begin(nn_bytes *w, uint32_t version, uint32_t sections)
{
    nn_put_raw(w, NN_CKPT_MAGIC, NN_CKPT_MAGIC_LEN);
    nn_put_u32(w, version);
    nn_put_u32(w, sections);
}

size_t nn_ckpt_section_begin(nn_bytes *w, const char tag[4], bool required)
{
    nn_put_raw(w, tag, 4);
    nn_put_u32(w, required ? NN_CKPT_REQUIRED : 0);
    size_t at = w->len;
    nn_put_u64(w, 0); /* the length, once known */
    return at;
}

void nn_ckpt_section_end(nn_bytes *w, size_t head)
{
    nn_put_u64_at(w, head, (uint64_t)(w->len - head - 8));
}

void nn_ckpt_frame_end(nn_bytes *w)
{
    if (!w->oom)
        nn_put_u32(w, nn_crc32(0, w->p, w->len));
}
