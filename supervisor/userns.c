/* Unprivileged mode: map the caller to itself in the sandbox's user namespace (one uid, one
 * gid, setgroups denied). Trust level: supervisor parent, runs as the invoking user. */
#include "supervisor/userns.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/fd-util.h"
#include "common/macro.h"

static int write_proc_file(pid_t pid, const char *name, const char *text)
{
        char path[64];
        _cleanup_close_ int fd = -1;

        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return NEG_ERRNO();
        /* One write(2): the kernel accepts a map only in a single write. */
        if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
                return NEG_ERRNO();
        return 0;
}

int userns_write_maps(pid_t pid, uid_t uid, gid_t gid)
{
        char map[64];
        int r;

        r = write_proc_file(pid, "setgroups", "deny");
        if (r < 0 && r != -ENOENT)
                return r;
        snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
        r = write_proc_file(pid, "uid_map", map);
        if (r < 0)
                return r;
        snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
        return write_proc_file(pid, "gid_map", map);
}
