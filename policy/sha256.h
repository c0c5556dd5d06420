/* SHA-256 via OpenSSL's libcrypto, with lowercase hex output. */
#pragma once

#include <stddef.h>

#define SHA256_HEX_LEN 64

#define SHA256_DIGEST_BYTES 32

/* Raw 32-byte digest. 0 or -EIO. */
int sha256_digest(const void *data, size_t len, unsigned char out[SHA256_DIGEST_BYTES]);

/* hex must hold SHA256_HEX_LEN + 1 bytes. 0 or -EIO. */
int sha256_hex(const void *data, size_t len, char hex[SHA256_HEX_LEN + 1]);

/* Incremental form, for hashing several pieces. */
struct sha256_ctx;
int sha256_begin(struct sha256_ctx **ret);
int sha256_update(struct sha256_ctx *c, const void *data, size_t len);
/* Finishes and frees c. */
int sha256_end(struct sha256_ctx *c, char hex[SHA256_HEX_LEN + 1]);
