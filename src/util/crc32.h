/* crc32.h - CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), the same
 * value as zlib's crc32().  Table-driven, written here so the checkpoint code
 * does not depend on zlib's exact API. */
#ifndef NN_CRC32_H
#define NN_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Continues crc over n bytes; start with crc = 0. */
uint32_t nn_crc32(uint32_t crc, const void *data, size_t n);

#endif
