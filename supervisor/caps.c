/* Drop to the agent's identity: no capabilities in any set, empty bounding set, no ambient caps,
 * PR_SET_NO_NEW_PRIVS. Raw syscalls (capset, prctl) as bubblewrap does: libcap-ng read
 * /proc/self/status five times per launch for the same result. Trust level: sandbox init (root
 * or userns root before this call, the agent's uid after it). Everything is verified after the
 * fact. */
#include "supervisor/caps.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/macro.h"

/* The kernel's capability sets are two 32-bit words (_LINUX_CAPABILITY_VERSION_3). */
static int caps_get(struct __user_cap_data_struct d[2])
{
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };

        return syscall(SYS_capget, &h, d) < 0 ? NEG_ERRNO() : 0;
}

static int caps_set_empty(void)
{
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2] = {};

        return syscall(SYS_capset, &h, d) < 0 ? NEG_ERRNO() : 0;
}

/* Every capability the running kernel knows (it may know more than our headers): drop from the
 * bounding set until the kernel says there is no such capability. Needs CAP_SETPCAP. */
static int bounding_clear(void)
{
        for (unsigned long c = 0;; c++) {
                if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) == 0)
                        continue;
                if (errno == EINVAL && c > CAP_LAST_CAP / 2)
                        return 0; /* past the last capability */
                return NEG_ERRNO();
        }
}

static int caps_verify(uid_t uid, gid_t gid)
{
        struct __user_cap_data_struct d[2];
        uid_t ru, eu, su;
        gid_t rg, eg, sg;
        unsigned long c;
        int r;

        if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
                return NEG_ERRNO();
        if (ru != uid || eu != uid || su != uid || rg != gid || eg != gid || sg != gid)
                return -EPERM;
        if (uid == 0)
                return -EPERM; /* never root */
        if ((r = caps_get(d)) < 0)
                return r;
        for (size_t i = 0; i < 2; i++)
                if (d[i].effective || d[i].permitted || d[i].inheritable)
                        return -EPERM;
        for (c = 0;; c++) {
                int b = prctl(PR_CAPBSET_READ, c, 0, 0, 0);

                if (b < 0)
                        break; /* EINVAL: past the kernel's last capability */
                if (b > 0)
                        return -EPERM;
                if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) > 0)
                        return -EPERM;
        }
        if (c <= CAP_LAST_CAP / 2)
                return -EPERM; /* the bounding set could not be read at all */
        if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
                return -EPERM;
        return 0;
}

int caps_drop_all(uid_t uid, gid_t gid, bool in_userns)
{
        int r;

        if (uid == 0)
                return -EPERM;
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return NEG_ERRNO();
        /* The bounding set first: clearing it needs CAP_SETPCAP, which the id change drops. */
        if ((r = bounding_clear()) < 0)
                return r;
        if (!in_userns) {
                /* Root mode: no supplementary groups, then gid, then uid (setresuid last: it
                 * ends the right to change ids). Leaving uid 0 with KEEPCAPS off (the default,
                 * forced here) clears the permitted and effective sets. */
                if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
                        return NEG_ERRNO();
                /* Raw system calls: glibc's wrappers signal every thread glibc believes
                 * exists, and init, clone3()d (not fork()ed) from the supervisor, must not
                 * depend on that bookkeeping. Init has one thread: the calling thread's ids are
                 * the process's. */
                if (syscall(SYS_setgroups, 0, NULL) < 0 ||
                    syscall(SYS_setresgid, gid, gid, gid) < 0 ||
                    syscall(SYS_setresuid, uid, uid, uid) < 0)
                        return NEG_ERRNO();
        }
        /* In a user namespace setgroups is denied and the ids are already the caller's. Either
         * way every set is cleared explicitly (inheritable too). */
        if ((r = caps_set_empty()) < 0)
                return r;
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return NEG_ERRNO();
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return NEG_ERRNO();
        return caps_verify(uid, gid);
}

int caps_fsid_enter(uid_t uid, gid_t gid, struct caps_fsid *saved)
{
        *saved = (struct caps_fsid){};
        int n = getgroups(0, NULL);
        if (n < 0)
                return NEG_ERRNO();
        saved->groups = calloc(n ? (size_t)n : 1, sizeof(gid_t));
        if (!saved->groups)
                return -ENOMEM;
        saved->n_groups = getgroups(n, saved->groups);
        /* Raw calls, as in caps_drop_all(): these change the calling thread only, and every
         * caller here has one thread. setfsuid() answers with the previous id whatever
         * happens: a second call with an impossible id reads back what is in effect. */
        if (saved->n_groups < 0 || syscall(SYS_setgroups, 0, NULL) < 0) {
                free(saved->groups);
                saved->groups = NULL;
                return -EPERM;
        }
        (void)syscall(SYS_setfsgid, gid);
        (void)syscall(SYS_setfsuid, uid);
        saved->active = true;
        if ((uid_t)syscall(SYS_setfsuid, (uid_t)-1) != uid ||
            (gid_t)syscall(SYS_setfsgid, (gid_t)-1) != gid) {
                caps_fsid_leave(saved);
                return -EPERM;
        }
        return 0;
}

void caps_fsid_leave(struct caps_fsid *saved)
{
        if (!saved->active)
                return;
        (void)syscall(SYS_setfsuid, 0);
        (void)syscall(SYS_setfsgid, 0);
        (void)syscall(SYS_setgroups, (size_t)saved->n_groups, saved->groups);
        free(saved->groups);
        *saved = (struct caps_fsid){};
}
