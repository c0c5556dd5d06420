/* uid/gid maps for the unprivileged mode (the caller mapped to itself inside a user
 * namespace). Trust level: supervisor parent, as the invoking (unprivileged) user. */
#pragma once

#include <sys/types.h>

/* Write /proc/PID/{setgroups,uid_map,gid_map}: "uid uid 1", "deny", "gid gid 1". 0 or -errno. */
int userns_write_maps(pid_t pid, uid_t uid, gid_t gid);
