/* qclaw-admin verify [FILE]: prove an audit log (and its rotated predecessors FILE.N .. FILE.1)
 * is one unbroken hash chain. Trust level: in dom0 the file is a mirror of VM data, so nothing
 * from it is printed except numbers and the hash (64 hex, checked by the parser). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "policy/audit.h"
#include "rpc/admin.h"

#define DEFAULT_AUDIT_LOG "/var/lib/qclaw/audit.jsonl"

static void usage(FILE *f)
{
        fprintf(f,
                "usage: qclaw-admin verify [FILE]\n"
                "  Verify the hash chain of an audit log and its rotated files (FILE.N .. FILE.1,\n"
                "  FILE). Default FILE: " DEFAULT_AUDIT_LOG "\n"
                "  Exit status: 0 unbroken, 1 broken (the first broken seq and why), 2 usage or\n"
                "  unreadable file.\n");
}

int admin_verify(int argc, char **argv)
{
        const char *path = NULL;
        bool dashdash = false;
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                if (!dashdash && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
                        usage(stdout);
                        return 0;
                }
                if (!dashdash && strcmp(a, "--") == 0) {
                        dashdash = true;
                        continue;
                }
                if (!dashdash && a[0] == '-' && a[1] != '\0') {
                        fprintf(stderr, "qclaw-admin verify: unknown option '%s'\n", a);
                        usage(stderr);
                        return 2;
                }
                if (path) {
                        usage(stderr);
                        return 2;
                }
                path = a;
        }
        if (!path)
                path = DEFAULT_AUDIT_LOG;
        if (!*path) {
                usage(stderr);
                return 2;
        }

        struct audit_verifier v;
        int r = audit_verify_path(path, &v);
        if (r < 0) {
                fprintf(stderr, "%s: cannot verify: %s\n", path, strerror(-r));
                return 2;
        }
        if (v.broken != AUDIT_OK) {
                fprintf(stderr, "%s: chain broken at seq %" PRIu64 ": %s\n", path, v.broken_seq,
                        v.reason);
                return 1;
        }
        if (v.count == 0) {
                printf("%s: ok, 0 records\n", path);
                return 0;
        }
        printf("%s: ok, %" PRIu64 " records, seq %" PRIu64 "..%" PRIu64 ", last hash %s\n", path,
               v.count, v.last_seq - v.count + 1, v.last_seq, v.last_hash);
        return 0;
}
