/* Unit tests for supervisor/mount.c's plan: outer paths first, hidden paths last. */
#include <stdlib.h>
#include <string.h>

#include "policy/profile.h"
#include "supervisor/mount.h"
#include "common/macro.h"
#include "tests/unit/tap.h"

int main(void)
{
        char *ro[] = { "/usr", "/etc", "/", NULL };
        char *rw[] = { "/home/u/work", NULL };
        char *tmp[] = { "/home/u", "/tmp", NULL };
        char *hide[] = { "/home/u/.ssh", "/etc/qclaw/tokens", NULL };
        struct profile p = {
                .fs_read_only = { ro, 3 },
                .fs_read_write = { rw, 1 },
                .fs_tmpfs = { tmp, 2 },
                .fs_hide = { hide, 2 },
        };
        static const struct {
                enum mount_kind kind;
                const char *path;
        } want[] = {
                { MOUNT_READ_ONLY, "/" },          { MOUNT_READ_ONLY, "/usr" },
                { MOUNT_READ_ONLY, "/etc" },       { MOUNT_TMPFS, "/tmp" },
                { MOUNT_TMPFS, "/home/u" },        { MOUNT_READ_WRITE, "/home/u/work" },
                { MOUNT_HIDE, "/home/u/.ssh" },    { MOUNT_HIDE, "/etc/qclaw/tokens" },
        };
        struct mount_entry *plan = NULL;
        size_t n = 0;

        CHECK(mount_plan(&p, &plan, &n) == 0);
        CHECK(n == ELEMENTSOF(want));
        for (size_t i = 0; i < n && i < ELEMENTSOF(want); i++) {
                CHECK(plan[i].kind == want[i].kind);
                CHECK_STREQ(plan[i].path, want[i].path);
        }
        free(plan);

        struct profile empty = {};
        CHECK(mount_plan(&empty, &plan, &n) == 0 && n == 0);
        free(plan);
        return TEST_DONE();
}
