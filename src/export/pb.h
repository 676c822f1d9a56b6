/* pb.h - a minimal protocol-buffers writer: the wire format of
 * https://protobuf.dev/programming-guides/encoding/, enough to write an ONNX
 * model (export/onnx.h) without a protobuf library.
 *
 * A message is built into a growable byte buffer, field by field, in the
 * order the caller writes them.  A nested message is built into its own
 * buffer first and then embedded whole (nn_pb_message), since its length
 * prefix must come before its bytes.
 *
 * Wire types used: 0 varint (int32, int64, enums: two's complement, so a
 * negative number takes ten bytes), 2 length-delimited (strings, bytes,
 * embedded messages, packed repeated numbers), 5 fixed32 (float).
 *
 * Errors are sticky: a failed allocation (or a size past NN_PB_MAX_BYTES)
 * sets `failed`, every later write is ignored, and the caller checks once
 * at the end.  Nothing here prints.
 */
#ifndef NN_EXPORT_PB_H
#define NN_EXPORT_PB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* protobuf's own limit for a serialized message: 2 GiB */
#define NN_PB_MAX_BYTES ((size_t)INT32_MAX)

enum { NN_PB_VARINT = 0, NN_PB_FIXED64 = 1, NN_PB_LEN = 2, NN_PB_FIXED32 = 5 };

typedef struct {
    unsigned char *p; /* (n,) the bytes so far; NULL while empty */
    size_t n, cap;
    bool failed;      /* out of memory or too large: p is no longer written */
} nn_pb;

/* An empty buffer (a zeroed nn_pb is one too); free with nn_pb_free. */
void nn_pb_init(nn_pb *b);
void nn_pb_free(nn_pb *b);

/* The raw pieces: a varint (1 to 10 bytes, 7 bits a byte, low first, the
 * top bit set on every byte but the last), a field key (field << 3 | wire
 * type), and bytes as they are. */
void nn_pb_varint(nn_pb *b, uint64_t v);
void nn_pb_key(nn_pb *b, int field, int wire);
void nn_pb_raw(nn_pb *b, const void *data, size_t n);
/* The bytes nn_pb_varint writes for v (1..10). */
int nn_pb_varint_size(uint64_t v);

/* Fields.  nn_pb_int64 writes int32/int64/enum fields (negative values as
 * ten-byte two's complement, as protobuf does); nn_pb_float a fixed32
 * IEEE-754 little-endian; nn_pb_bytes / nn_pb_string a length-delimited
 * field; nn_pb_message embeds the finished message `sub` (not freed; a
 * failed sub makes b failed); the packed forms write a repeated field as
 * one length-delimited run (float: 4 bytes little-endian each). */
void nn_pb_int64(nn_pb *b, int field, int64_t v);
void nn_pb_float(nn_pb *b, int field, float v);
void nn_pb_bytes(nn_pb *b, int field, const void *data, size_t n);
void nn_pb_string(nn_pb *b, int field, const char *s);
void nn_pb_message(nn_pb *b, int field, const nn_pb *sub);
void nn_pb_packed_int64(nn_pb *b, int field, const int64_t *v, size_t n);
void nn_pb_packed_float(nn_pb *b, int field, const float *v, size_t n);

/* The floats' IEEE-754 bit patterns, little-endian, 4 bytes each, into
 * out (4 n bytes): the layout of TensorProto.raw_data. */
void nn_pb_floats_le(unsigned char *out, const float *v, size_t n);

#endif
