/* bytes.h - little-endian encoding into a growing buffer, and bounded
 * decoding from one, for the checkpoint and the layer kinds' own fields.
 *
 * Integers are little-endian; f32/f64 are IEEE-754 bit patterns stored as
 * u32/u64, so NaN payloads, -0.0 and denormals survive bit for bit.  The
 * host's byte order never shows in the bytes.
 *
 * Writing never fails midway: an allocation failure sets `oom` and later
 * writes do nothing, so a writer checks once at the end.  Reading past the
 * end sets `bad` and yields zeros, so a length mistake cannot read out of
 * bounds; a reader checks `bad` once after a group of reads. */
#ifndef NN_BYTES_H
#define NN_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    unsigned char *p; /* (cap,) malloc'd; the caller frees it */
    size_t len, cap;
    bool oom;
} nn_bytes;

void nn_put_raw(nn_bytes *w, const void *src, size_t n);
void nn_put_u32(nn_bytes *w, uint32_t v);
void nn_put_u64(nn_bytes *w, uint64_t v);
void nn_put_f32(nn_bytes *w, float v);
void nn_put_f64(nn_bytes *w, double v);
void nn_put_f32s(nn_bytes *w, const float *v, size_t n);
/* A string as u32 length and its bytes (no NUL). */
void nn_put_str(nn_bytes *w, const char *s);
/* Writes v at offset `at` (already written): for lengths known afterwards. */
void nn_put_u64_at(nn_bytes *w, size_t at, uint64_t v);

typedef struct {
    const unsigned char *p; /* (n,) */
    size_t n, pos;
    bool bad;
} nn_bytes_in;

/* The next k bytes, or NULL (and bad) when fewer are left. */
const unsigned char *nn_get_raw(nn_bytes_in *r, size_t k);
uint32_t nn_get_u32(nn_bytes_in *r);
uint64_t nn_get_u64(nn_bytes_in *r);
float nn_get_f32(nn_bytes_in *r);
double nn_get_f64(nn_bytes_in *r);
void nn_get_f32s(nn_bytes_in *r, float *v, size_t n);
/* A string written by nn_put_str, malloc'd and NUL-terminated; NULL (and
 * bad) when cut short or holding a NUL byte, NULL with *oom on out of
 * memory.  Its length is bounded by the bytes left before allocating. */
char *nn_get_str(nn_bytes_in *r, bool *oom);
/* Bytes not read yet. */
size_t nn_bytes_left(const nn_bytes_in *r);

/* Little-endian loads from raw memory (p has at least 4 or 8 bytes). */
uint32_t nn_load_u32(const unsigned char *p);
uint64_t nn_load_u64(const unsigned char *p);

#endif
