/* Identity and privileges of the sandbox: drop to the agent's uid/gid, clear every capability
 * set and the bounding set (capset / prctl), no_new_privs. Trust level: sandbox init. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* Root mode (in_userns false): setgroups([]), setresgid, setresuid to uid/gid with every
 * capability and the bounding set cleared. User-namespace mode: ids are already the caller's;
 * clear capabilities and bounding set. Then PR_SET_NO_NEW_PRIVS and verification that
 * effective, permitted, inheritable, ambient and bounding sets are empty. 0 or -errno. */
int caps_drop_all(uid_t uid, gid_t gid, bool in_userns);

/* Root only: act on the filesystem as uid/gid with no supplementary groups (setfsuid/setfsgid;
 * the real and effective ids, and with them the right to mount or to change back, stay root's),
 * so that paths the caller names are resolved with that user's reach, not root's: what
 * bubblewrap's setuid mode does for its bind sources. caps_fsid_leave() restores root's
 * filesystem identity and groups. 0 or -errno; on failure nothing is changed. */
struct caps_fsid {
        gid_t *groups;
        int n_groups;
        bool active;
};
int caps_fsid_enter(uid_t uid, gid_t gid, struct caps_fsid *saved);
void caps_fsid_leave(struct caps_fsid *saved);
