/* SHA-256 through libcrypto. Trust level: pure hashing.
 * Uses OpenSSL's direct SHA256_* functions rather than EVP: the first EVP digest loads the
 * default provider (1-2 ms measured), which is on qclaw-run's launch path (profile hash) and
 * the dom0 verifier's; the direct functions compute the same digest with no set-up. They are
 * marked deprecated in OpenSSL 3 but remain part of its API. The one-shot SHA256() is not one
 * of them in OpenSSL 3 (it is EVP_Q_digest: an algorithm fetch per call, ~1 us extra), hence
 * Init/Update/Final below. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <errno.h>
#include <openssl/sha.h>
#include <stdlib.h>

#include "policy/sha256.h"

struct sha256_ctx {
        SHA256_CTX c;
};

static void to_hex(const unsigned char *d, unsigned n, char *hex)
{
        static const char digits[] = "0123456789abcdef";
        for (unsigned i = 0; i < n; i++) {
                hex[2 * i] = digits[d[i] >> 4];
                hex[2 * i + 1] = digits[d[i] & 15];
        }
        hex[2 * n] = '\0';
}

int sha256_digest(const void *data, size_t len, unsigned char out[SHA256_DIGEST_BYTES])
{
        SHA256_CTX c;
        if (SHA256_Init(&c) != 1 || SHA256_Update(&c, data, len) != 1)
                return -EIO;
        return SHA256_Final(out, &c) == 1 ? 0 : -EIO;
}

int sha256_hex(const void *data, size_t len, char hex[SHA256_HEX_LEN + 1])
{
        unsigned char d[SHA256_DIGEST_LENGTH];
        if (sha256_digest(data, len, d) < 0)
                return -EIO;
        to_hex(d, SHA256_DIGEST_LENGTH, hex);
        return 0;
}

int sha256_begin(struct sha256_ctx **ret)
{
        struct sha256_ctx *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        if (SHA256_Init(&c->c) != 1) {
                free(c);
                return -EIO;
        }
        *ret = c;
        return 0;
}

int sha256_update(struct sha256_ctx *c, const void *data, size_t len)
{
        return SHA256_Update(&c->c, data, len) == 1 ? 0 : -EIO;
}

int sha256_end(struct sha256_ctx *c, char hex[SHA256_HEX_LEN + 1])
{
        unsigned char d[SHA256_DIGEST_LENGTH];
        int r = SHA256_Final(d, &c->c) == 1 ? 0 : -EIO;
        if (r == 0)
                to_hex(d, SHA256_DIGEST_LENGTH, hex);
        free(c);
        return r;
}
