/* Fuzz target: what crosses qrexec into qclaw code: the qclaw.AuditLog argument parser, VM
 * names, terminal escaping, and dom0's check of an untrusted qclaw.AuditLog reply against its
 * mirror tail (logs_check_reply). First byte selects the mirror state for the reply check. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "rpc/logs-pull.h"
#include "rpc/rpc-arg.h"
#include "rpc/term-escape.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        uint64_t seq;
        if (rpc_arg_parse_seq((const char *)data, size, &seq) == 0) {
                /* accepted: only digits, 1-19 of them */
                if (size == 0 || size > RPC_SEQ_DIGITS_MAX)
                        abort();
                for (size_t i = 0; i < size; i++)
                        if (data[i] < '0' || data[i] > '9')
                                abort();
        }

        char *s = malloc(size + 1);
        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        if (vm_name_is_valid(s) && (strlen(s) > VM_NAME_MAX || strpbrk(s, " ;/\n'\"$")))
                abort();

        struct strbuf b = STRBUF_INIT(8 * size + 16);
        if (term_escape_append(&b, s, size, 0) == 0 && b.data)
                for (size_t i = 0; i < b.len; i++)
                        if ((unsigned char)b.data[i] < 0x20 || (unsigned char)b.data[i] > 0x7e)
                                abort();
        strbuf_free(&b);

        if (size > 0) {
                static const char hash[] =
                        "0000000000000000000000000000000000000000000000000000000000000000";
                struct pull_result res = { 0 };
                size_t good = 0;
                uint64_t last = data[0] % 4;
                char lh[AUDIT_HASH_HEX + 1] = "";
                bool more;
                logs_check_reply(data[0] % 4, (data[0] % 4) ? hash : NULL, s + 1, size - 1, &res,
                                 &good, &last, lh, &more);
                if (good > size - 1)
                        abort();
                for (const char *p = res.reason; *p; p++)
                        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
                                abort();
        }
        free(s);
        return 0;
}
