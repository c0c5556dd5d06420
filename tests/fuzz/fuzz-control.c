/* Fuzz target: the control-socket message decoder (common/control.c control_decode) on bytes a
 * local peer sends, and the framing around it: whatever decodes must survive control_send ->
 * control_recv over a real SOCK_SEQPACKET pair and come back equal. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/control.h"
#include "common/json-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sp[2] = { -1, -1 };

static void roundtrip(const json_t *msg)
{
        if (sp[0] < 0 && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
                abort();
        int r = control_send(sp[0], msg, NULL, 0);
        if (r == -EMSGSIZE) /* re-encoding may grow (escapes): then it is refused, not sent */
                return;
        if (r < 0)
                abort();
        _cleanup_json_ json_t *back = NULL;
        int fds[CONTROL_FDS_MAX];
        size_t n_fds = 99;
        if (control_recv(sp[1], &back, fds, &n_fds) < 0 || n_fds != 0 || !json_equal(msg, back))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        json_t *msg = (json_t *)0x1; /* must stay untouched on failure */
        int r = control_decode((const char *)data, size, &msg);
        if (r < 0) {
                if (r != -EBADMSG || msg != (json_t *)0x1)
                        abort();
                return 0;
        }
        _cleanup_json_ json_t *j = msg;
        /* The decoder's contract: an object with a string "op" or a boolean "ok". */
        if (!json_is_object(j) || size > CONTROL_MSG_MAX)
                abort();
        if (!json_is_string(json_object_get(j, "op")) && !json_is_boolean(json_object_get(j, "ok")))
                abort();
        /* Re-encoding is canonical: decoding it again gives the same message. */
        _cleanup_free_ char *text = json_dump_compact(j);
        if (!text)
                return 0;
        json_t *again = NULL;
        r = control_decode(text, strlen(text), &again);
        if (r == 0) {
                if (!json_equal(j, again))
                        abort();
                json_decref(again);
        } else if (strlen(text) <= CONTROL_MSG_MAX) {
                abort();
        }
        roundtrip(j);
        return 0;
}
