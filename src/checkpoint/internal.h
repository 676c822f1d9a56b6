/* internal.h - what the files of src/checkpoint share (internal to them).
 *
 *   frame.c   the framing: header, section table, checksum (formats 3, 4)
 *   fields.c  section bodies that formats 3 and 4 share, and the checks of
 *             a whole nn_ckpt
 *   v4.c      format 4: its table of sections, encode and decode
 *   v3.c      format 3 (nntrain 0.1.0), decode only
 *   file.c    reading and writing files atomically; nn_ckpt_free
 */
#ifndef NN_CKPT_INTERNAL_H
#define NN_CKPT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "checkpoint/checkpoint.h"
#include "util/bytes.h"

#define NN_CKPT_MAGIC "NNTRCKPT"
#define NN_CKPT_MAGIC_LEN 8
#define NN_CKPT_HEADER_LEN 16  /* magic, version, section count */
#define NN_CKPT_TRAILER_LEN 4  /* CRC-32 */
#define NN_CKPT_REQUIRED 1u    /* section flag bit 0 (format 4) */

/* One section of a file: its tag, its flag, its payload. */
typedef struct {
    unsigned char tag[4];
    bool required;          /* format 3 has no flags: every section is required */
    nn_bytes_in body;
} nn_ckpt_section;

/* Checks the magic, the version (3 or later), the checksum and every
 * section length of n bytes, and lists the sections in file order
 * (*secs malloc'd, the caller frees it; *count of them).  Returns 0, or -1
 * with *err naming `name`. */
int nn_ckpt_frame_parse(const unsigned char *p, size_t n, const char *name, uint32_t *version,
                        nn_ckpt_section **secs, size_t *count, nn_error *err);

/* Format 4 framing for the writer: the header, then for each section its
 * head (the length patched by section_end), then the trailer. */
void nn_ckpt_frame_begin(nn_bytes *w, uint32_t version, uint32_t sections);
size_t nn_ckpt_section_begin(nn_bytes *w, const char tag[4], bool required);
void nn_ckpt_section_end(nn_bytes *w, size_t head);
void nn_ckpt_frame_end(nn_bytes *w);

/* "NAME: malformed checkpoint: WHAT" (code 1); returns -1. */
int nn_ckpt_malformed(nn_error *err, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "NAME: out of memory" (code 1); returns -1. */
int nn_ckpt_nomem(nn_error *err, const char *name);
/* A tag as text for messages: "ABCD" quoted, or hex when not printable. */
void nn_ckpt_tag_text(const unsigned char *t, char out[16]);

/* ---- shared section bodies (fields.c) ------------------------------------ */

/* Text without a NUL (VERS, CONF): the whole body, malloc'd. */
void nn_ckpt_put_text(nn_bytes *w, const char *s);
int nn_ckpt_get_text(nn_bytes_in *r, char **out, const char *what, const char *name,
                     nn_error *err);

/* u64 count, then count f32 filling exactly the rest (PARM, OPTS, STAT). */
void nn_ckpt_put_floats(nn_bytes *w, const float *v, size_t n);
int nn_ckpt_get_floats(nn_bytes_in *r, float **v, size_t *n, const char *tag, const char *name,
                       nn_error *err);

/* SCAL: u32 scale, u32 count (0 or n_inputs), count f32 shift, count f32
 * mult.  get needs c->arch.n_inputs. */
void nn_ckpt_put_scal(nn_bytes *w, const nn_ckpt *c);
int nn_ckpt_get_scal(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err);

/* PROG: i64 epoch, i64 step, 4 u64 rng, u64 seed, f64 train_loss,
 * train_accuracy, val_loss, val_accuracy (88 bytes). */
void nn_ckpt_put_prog(nn_bytes *w, const nn_ckpt *c);
int nn_ckpt_get_prog(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err);

/* DATA: u32 format, u32 n_targets, class names (u32 count, 0 or
 * n_classes, then each u32 length and bytes), u32 header, u32 delimiter,
 * u64 n_columns, i64 label column, n_targets i64 target columns, column
 * names (u32 count, 0 or n_columns, each u32 length and bytes).  get takes
 * n_classes (format 4 stores it before, format 3 in ARCH) and needs
 * c->arch. */
void nn_ckpt_put_data(nn_bytes *w, const nn_ckpt *c);
int nn_ckpt_get_data(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err);

/* Early stopping (TRAI in format 4; the end of TRAI in format 3): f64
 * best_val_loss, i64 best_epoch, i64 bad_epochs, u32 stopped. */
void nn_ckpt_put_stopping(nn_bytes *w, const nn_ckpt *c);
int nn_ckpt_get_stopping(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err);

/* EPOC: i64 batch, 4 u64 epoch_rng, f64 acc_loss_sum, u64 acc_n, u64
 * acc_correct, u32 acc_k, 4 acc_k f64 (68 + 32 acc_k bytes).  get needs
 * c->arch. */
void nn_ckpt_put_epoc(nn_bytes *w, const nn_ckpt *c);
int nn_ckpt_get_epoc(nn_bytes_in *r, nn_ckpt *c, const char *name, nn_error *err);

/* The body must be read to its end. */
int nn_ckpt_expect_end(const nn_bytes_in *r, const char *tag, const char *name, nn_error *err);

/* Everything a complete nn_ckpt must satisfy (the architecture, counts
 * against it, enums, buffers); 0, or -1 with what[cap]. */
int nn_ckpt_check(const nn_ckpt *c, char *what, size_t cap);

/* ---- the formats ------------------------------------------------------------ */

int nn_ckpt_decode_v4(const nn_ckpt_section *secs, size_t count, uint32_t version,
                      const char *name, nn_ckpt *c, nn_error *err);
int nn_ckpt_decode_v3(const nn_ckpt_section *secs, size_t count, const char *name, nn_ckpt *c,
                      nn_error *err);

#endif
