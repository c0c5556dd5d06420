/* Resource limits through cgroups: v2 where the controller is enabled, else the v1 memory/pids
 * hierarchies (hybrid hosts), else none (logged). Trust level: supervisor parent. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CGROUP_NOTE_MAX 256

struct cgroup_session {
        char *v2_dir;       /* our cgroup in the v2 hierarchy, or NULL */
        int v2_fd;          /* v2_dir opened for CLONE_INTO_CGROUP when v2 alone limits, or -1 */
        char *v1_mem_dir;   /* v1 memory cgroup, or NULL */
        char *v1_pids_dir;  /* v1 pids cgroup, or NULL */
        int v1_tasks_fd[2]; /* the v1 dirs' `tasks` files, opened for cgroup_join_self, or -1 */
        bool memory_limited;
        bool pids_limited;
};

/* The path of `controller` ("memory", "pids"; "" for the v2 unified entry "0::") in the text of
 * /proc/self/cgroup. 0 with the path (starting with '/') copied to out, -ENOENT, -ENAMETOOLONG. */
int cgroup_parse_proc_self(const char *text, const char *controller, char *out, size_t outlen);

/* Create the session's cgroup(s) named `name` below our own and set memory_max / pids_max
 * (0 = no limit). First removes stale session cgroups beside it (left by a supervisor that was
 * killed): only names "qclaw-s-" + 8 hex digits, only empty ones (no process, no child cgroup)
 * created (mtime) more than a minute ago. Never fails for lack of a facility: *ret says what is limited and `note`
 * explains what is not. -errno only for memory allocation failure. */
int cgroup_prepare(const char *name, uint64_t memory_max, uint64_t pids_max,
                   struct cgroup_session **ret, char *note, size_t notelen);
/* cgroup_prepare in two steps, so that the v1 part can run while the sandbox is being built:
 * _v2 (before clone: v2_fd is for CLONE_INTO_CGROUP) allocates *ret and sets up the v2 cgroup
 * when v2 has the controllers; _v1 adds the v1 hierarchies for what v2 does not limit, opens
 * their `tasks` files (v1_tasks_fd) and writes the note. */
int cgroup_prepare_v2(const char *name, uint64_t memory_max, uint64_t pids_max,
                      struct cgroup_session **ret);
int cgroup_prepare_v1(struct cgroup_session *s, const char *name, uint64_t memory_max,
                      uint64_t pids_max, char *note, size_t notelen);
/* In the sandbox's init, first thing after clone (still single-threaded): join the v1
 * hierarchies by writing "0" to their `tasks` files (opened by cgroup_prepare). A thread moving
 * itself skips the kernel's global cgroup_threadgroup_rwsem, whose write side waits for an RCU
 * grace period (10-17 ms on a busy host); a v2 cgroup is joined at clone (CLONE_INTO_CGROUP,
 * v2_fd). 0 or -errno (a limit we promised would not hold). */
int cgroup_join_self(const struct cgroup_session *s);
/* The same for one `tasks` fd (received from the supervisor). */
int cgroup_join_fd(int tasks_fd);
/* Remove the session's (now empty) cgroups and free. Accepts NULL. */
struct cgroup_session *cgroup_session_free(struct cgroup_session *s);
