/* Unit tests for supervisor/options.c and the exit-status mapping in supervisor/spawn.c. */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#include "supervisor/options.h"
#include "supervisor/spawn.h"
#include "common/macro.h"
#include "tests/unit/tap.h"

int main(void)
{
        struct run_options o;
        char err[256];
        char *a1[] = { "qclaw-run", "--profile", "codex", "--workspace", "/w", "--", "ls", "-l",
                       NULL };
        char *a2[] = { "qclaw-run", "git", "--profile", "x", NULL };
        char *a3[] = { "qclaw-run", "--profile", "x", NULL };
        char *a4[] = { "qclaw-run", "--bogus", "ls", NULL };
        char *a5[] = { "qclaw-run", "--audit-log", "/a", "--proxy-socket", "/s", "--user", "bob",
                       "true", NULL };

        CHECK(options_parse(8, a1, &o, err, sizeof(err)) == 0);
        CHECK_STREQ(o.profile, "codex");
        CHECK_STREQ(o.workspace, "/w");
        CHECK_STREQ(o.argv[0], "ls");
        CHECK_STREQ(o.argv[1], "-l");
        CHECK_STREQ(o.proxy_socket, QCLAW_DEFAULT_CONTROL_SOCKET);
        CHECK(!o.audit_log_given);

        /* The command's own options are its own. */
        CHECK(options_parse(4, a2, &o, err, sizeof(err)) == 0);
        CHECK_STREQ(o.profile, QCLAW_DEFAULT_PROFILE);
        CHECK_STREQ(o.argv[0], "git");
        CHECK_STREQ(o.argv[1], "--profile");

        CHECK(options_parse(3, a3, &o, err, sizeof(err)) == -EINVAL);
        CHECK(options_parse(3, a4, &o, err, sizeof(err)) == -EINVAL);
        CHECK(options_parse(8, a5, &o, err, sizeof(err)) == 0);
        CHECK(o.audit_log_given);
        CHECK_STREQ(o.user, "bob");
        CHECK_STREQ(o.proxy_socket, "/s");

        static const struct {
                int wstatus, code;
        } codes[] = {
                { W_EXITCODE(0, 0), 0 },   { W_EXITCODE(3, 0), 3 },     { W_EXITCODE(127, 0), 127 },
                { SIGKILL, 128 + SIGKILL }, { SIGTERM, 128 + SIGTERM }, { SIGSEGV | 0x80, 128 + SIGSEGV },
        };
        for (size_t i = 0; i < ELEMENTSOF(codes); i++)
                CHECK(sandbox_exit_code(codes[i].wstatus) == codes[i].code);
        return TEST_DONE();
}
