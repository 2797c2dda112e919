/* SHA-256 (FIPS 180-4), for fingerprints a researcher can recompute with
 * Python's hashlib: `preprocess` prints the hash of the pixel tensor's
 * little-endian float32 bytes, which must equal
 * hashlib.sha256(t.numpy().astype('<f4').tobytes()).hexdigest().
 *
 * Streaming: sha256_init, any number of sha256_update calls (any chunk
 * sizes), sha256_final. sha256_hex does all three for one buffer. */
#ifndef HL_SHA256_H
#define HL_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t h[8];     /* chaining state */
    uint64_t n_bytes;  /* message length so far */
    uint8_t block[64]; /* the partial block */
    size_t fill;       /* bytes in block */
} Sha256;

void sha256_init(Sha256 *s);
void sha256_update(Sha256 *s, const void *data, size_t n);
/* Pads, writes the 32-byte digest; s must be re-initialised before reuse. */
void sha256_final(Sha256 *s, uint8_t digest[32]);

/* The digest of n bytes as 64 lower-case hex digits and a NUL. */
void sha256_hex(const void *data, size_t n, char hex[65]);
/* A digest in lower-case hex (65 bytes with the NUL). */
void sha256_to_hex(const uint8_t digest[32], char hex[65]);

#endif
