/* Unit tests for supervisor/cgroup.c: finding our cgroup on v2-only, v1 and hybrid hosts. */
#include <errno.h>

#include "supervisor/cgroup.h"
#include "common/macro.h"
#include "tests/unit/tap.h"

int main(void)
{
        static const char hybrid[] = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/8c91\n"
                                     "2:cpu,cpuacct:/a\n0::/user.slice/x.scope\n";
        static const char v2only[] = "0::/system.slice/qclaw.service\n";
        static const struct {
                const char *text, *controller;
                int r;
                const char *path;
        } cases[] = {
                { hybrid, "memory", 0, "/process_api/8c91" },
                { hybrid, "pids", 0, "/" },
                { hybrid, "cpuacct", 0, "/a" },
                { hybrid, "cpu", 0, "/a" },
                { hybrid, "", 0, "/user.slice/x.scope" },
                { hybrid, "blkio", -ENOENT, NULL },
                { hybrid, "mem", -ENOENT, NULL },
                { v2only, "", 0, "/system.slice/qclaw.service" },
                { v2only, "memory", -ENOENT, NULL },
                { "garbage", "", -ENOENT, NULL },
                { "0::relative\n", "", -ENOENT, NULL },
                { "", "", -ENOENT, NULL },
        };
        char out[64];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                int r = cgroup_parse_proc_self(cases[i].text, cases[i].controller, out,
                                               sizeof(out));
                CHECK(r == cases[i].r);
                if (r == 0)
                        CHECK_STREQ(out, cases[i].path);
        }
        CHECK(cgroup_parse_proc_self(v2only, "", out, 8) == -ENAMETOOLONG);

        /* No limits asked: nothing created, nothing noted. */
        struct cgroup_session *s = NULL;
        char note[CGROUP_NOTE_MAX];
        CHECK(cgroup_prepare("qclaw-unit", 0, 0, &s, note, sizeof(note)) == 0);
        CHECK(s && !s->v2_dir && !s->v1_mem_dir && !s->v1_pids_dir && note[0] == '\0');
        cgroup_session_free(s);
        return TEST_DONE();
}
