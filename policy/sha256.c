/* SHA-256 through libcrypto's EVP interface. Trust level: pure hashing. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>

#include "policy/sha256.h"

struct sha256_ctx {
        EVP_MD_CTX *md;
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

int sha256_hex(const void *data, size_t len, char hex[SHA256_HEX_LEN + 1])
{
        unsigned char d[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        if (EVP_Digest(data, len, d, &n, EVP_sha256(), NULL) != 1 || n != 32)
                return -EIO;
        to_hex(d, n, hex);
        return 0;
}

int sha256_begin(struct sha256_ctx **ret)
{
        struct sha256_ctx *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->md = EVP_MD_CTX_new();
        if (!c->md || EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1) {
                EVP_MD_CTX_free(c->md);
                free(c);
                return -EIO;
        }
        *ret = c;
        return 0;
}

int sha256_update(struct sha256_ctx *c, const void *data, size_t len)
{
        return EVP_DigestUpdate(c->md, data, len) == 1 ? 0 : -EIO;
}

int sha256_end(struct sha256_ctx *c, char hex[SHA256_HEX_LEN + 1])
{
        unsigned char d[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        int r = EVP_DigestFinal_ex(c->md, d, &n) == 1 && n == 32 ? 0 : -EIO;
        if (r == 0)
                to_hex(d, n, hex);
        EVP_MD_CTX_free(c->md);
        free(c);
        return r;
}
