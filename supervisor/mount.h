/* The sandbox's filesystem: a new root on tmpfs built from the profile, fresh /proc, minimal
 * /dev, pivot_root with the old root detached. Trust level: sandbox init, before privileges
 * are dropped (root, or root of the sandbox's user namespace). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct profile;

enum mount_kind {
        MOUNT_READ_ONLY,
        MOUNT_READ_WRITE,
        MOUNT_TMPFS,
        MOUNT_HIDE,
};

struct mount_entry {
        enum mount_kind kind;
        const char *path; /* borrowed from the profile */
};

/* All filesystem entries of the profile in the order they are applied: outer paths before the
 * paths nested in them (so a tmpfs $HOME does not cover a workspace inside it), hidden paths
 * last. *ret is malloc'ed. 0 or -ENOMEM. */
int mount_plan(const struct profile *p, struct mount_entry **ret, size_t *ret_n);

/* Build the new root (read-only tmpfs with the profile's mounts, /proc, /dev) over /tmp.
 * The current process must be alone in a fresh mount namespace and already in its pid
 * namespace. uid/gid own the tmpfs mounts. On failure -errno and err names the step and path
 * ("read_only /usr: Permission denied"). Then mount_pivot. */
int mount_setup_root(const struct profile *p, uid_t uid, gid_t gid, bool in_userns, char *err,
                     size_t errlen);

/* pivot_root into the new root and detach the old one (the host's tree). 0 or -errno + err. */
int mount_pivot(char *err, size_t errlen);
