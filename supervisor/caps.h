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
