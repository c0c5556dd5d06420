/* Unit tests for common/: bounded buffers, integer parsing, control-message framing. */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/control.h"
#include "common/fd-util.h"
#include "common/json-util.h"
#include "common/strbuf.h"
#include "common/time-util.h"
#include "tap.h"

static void test_strbuf(void)
{
        struct strbuf b = STRBUF_INIT(8);
        CHECK(strbuf_appends(&b, "abcd") == 0);
        CHECK(strbuf_appendf(&b, "%d", 123) == 0);
        CHECK_STREQ(b.data, "abcd123");
        CHECK(strbuf_appends(&b, "xy") == -E2BIG); /* 9 > 8 */
        CHECK(b.len == 7);
        CHECK(strbuf_appends(&b, "x") == 0);
        CHECK(b.len == 8);
        strbuf_free(&b);
}

static void test_parse_u64(void)
{
        static const struct {
                const char *s;
                int r;
                unsigned long long v;
        } cases[] = {
                { "0", 0, 0 },
                { "42", 0, 42 },
                { "18446744073709551615", 0, 18446744073709551615ULL },
                { "18446744073709551616", -ERANGE, 0 },
                { "", -EINVAL, 0 },
                { "-1", -EINVAL, 0 },
                { "+1", -EINVAL, 0 },
                { " 1", -EINVAL, 0 },
                { "1x", -EINVAL, 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                unsigned long long v = 999;
                int r = parse_u64(cases[i].s, &v);
                CHECK(r == cases[i].r);
                if (r == 0)
                        CHECK(v == cases[i].v);
        }
}

static void test_control(void)
{
        int sv[2];
        CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
        int pipefd[2];
        CHECK(pipe(pipefd) == 0);
        _cleanup_json_ json_t *m = json_pack("{s:s,s:s,s:s,s:i}", "op", "attach", "session",
                                             "s-1", "profile", "demo", "pid", 42);
        CHECK(control_send(sv[0], m, &pipefd[1], 1) == 0);
        json_t *got = NULL;
        int fds[CONTROL_FDS_MAX];
        size_t n_fds = 0;
        CHECK(control_recv(sv[1], &got, fds, &n_fds) == 0);
        CHECK(n_fds == 1);
        CHECK_STREQ(json_get_str(got, "op", NULL), "attach");
        CHECK(json_get_int(got, "pid", 0) == 42);
        /* the passed fd is the pipe's write end: writing through it reaches the read end */
        CHECK(write(fds[0], "x", 1) == 1);
        char c = 0;
        CHECK(read(pipefd[0], &c, 1) == 1 && c == 'x');
        json_decref(got);
        close(fds[0]);

        /* malformed messages are refused, and their fds closed */
        CHECK(send(sv[0], "not json", 8, 0) == 8);
        CHECK(control_recv(sv[1], &got, fds, &n_fds) == -EBADMSG);
        CHECK(send(sv[0], "[1,2]", 5, 0) == 5);
        CHECK(control_recv(sv[1], &got, fds, &n_fds) == -EBADMSG);
        CHECK(send(sv[0], "{\"x\":1}", 7, 0) == 7);
        CHECK(control_recv(sv[1], &got, fds, &n_fds) == -EBADMSG);
        close(sv[0]);
        CHECK(control_recv(sv[1], &got, fds, &n_fds) == -ECONNRESET);
        close(sv[1]);
        close(pipefd[0]);
        close(pipefd[1]);
}

static void test_time(void)
{
        char buf[32];
        format_iso8601_ms(1796313600123000ULL, buf, sizeof(buf));
        CHECK_STREQ(buf, "2026-12-03T16:00:00.123Z");
        /* same second (the cached part), then the next second and a jump back */
        format_iso8601_ms(1796313600999999ULL, buf, sizeof(buf));
        CHECK_STREQ(buf, "2026-12-03T16:00:00.999Z");
        format_iso8601_ms(1796313601000500ULL, buf, sizeof(buf));
        CHECK_STREQ(buf, "2026-12-03T16:00:01.000Z");
        format_iso8601_ms(946684799007000ULL, buf, sizeof(buf));
        CHECK_STREQ(buf, "1999-12-31T23:59:59.007Z");
        char small[8] = "xxxxxxx";
        format_iso8601_ms(1796313600123000ULL, small, sizeof(small));
        CHECK_STREQ(small, "");
}

int main(void)
{
        test_strbuf();
        test_parse_u64();
        test_control();
        test_time();
        return TEST_DONE();
}
