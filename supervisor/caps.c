/* Drop to the agent's identity with libcap-ng: no capabilities in any set, empty bounding set,
 * no ambient caps, PR_SET_NO_NEW_PRIVS. Trust level: sandbox init (root or userns root before
 * this call, the agent's uid after it). Everything is verified after the fact. */
#include "supervisor/caps.h"

#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common/macro.h"

static int caps_verify(uid_t uid, gid_t gid)
{
        uid_t ru, eu, su;
        gid_t rg, eg, sg;

        if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
                return NEG_ERRNO();
        if (ru != uid || eu != uid || su != uid || rg != gid || eg != gid || sg != gid)
                return -EPERM;
        if (uid == 0)
                return -EPERM; /* never root */
        capng_get_caps_process();
        if (capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE)
                return -EPERM;
        for (int c = 0; c <= CAP_LAST_CAP; c++) {
                int b = prctl(PR_CAPBSET_READ, c, 0, 0, 0);

                if (b > 0)
                        return -EPERM;
                if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) > 0)
                        return -EPERM;
        }
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

        capng_clear(CAPNG_SELECT_ALL);
        if (in_userns) {
                /* setgroups is denied in the userns; ids are already the caller's. */
                r = capng_apply(CAPNG_SELECT_ALL);
        } else {
                /* setgroups([]) + setresgid + setresuid, then apply the empty sets and clear
                 * the bounding set (which needs CAP_SETPCAP, so libcap-ng does it before the
                 * final drop). */
                r = capng_change_id((int)uid, (int)gid,
                                    CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING |
                                            CAPNG_CLEAR_AMBIENT);
        }
        if (r < 0)
                return errno > 0 ? -errno : -EPERM;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return NEG_ERRNO();
        return caps_verify(uid, gid);
}
