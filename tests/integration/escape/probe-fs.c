/* escape-probe, self-disable category: write the profile, reach the proxy's control socket,
 * write to /etc (the file it would create is removed at once).
 * Trust level: test program, runs as the untrusted agent. */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "probe.h"

static void open_write_attempt(const char *name, const char *path)
{
        int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd >= 0) {
                close(fd);
                attempt(name, true, "%s opened for writing", path);
        } else {
                attempt(name, false, "%s", errname(errno));
        }
}

void cat_selfdisable(void)
{
        if (O.profile_file)
                open_write_attempt("selfdisable/profile-file", O.profile_file);
        if (O.control_socket) {
                int e = unix_connect(O.control_socket, false, SOCK_SEQPACKET);
                if (e == 0)
                        attempt("selfdisable/control-socket", true, "connected");
                else
                        attempt("selfdisable/control-socket", false, "%s", errname(e));
        }
        int fd = open("/etc/qclaw-escape-probe", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) {
                close(fd);
                unlink("/etc/qclaw-escape-probe");
                attempt("selfdisable/write-etc", true, "created a file in /etc");
        } else {
                attempt("selfdisable/write-etc", false, "%s", errname(errno));
        }
}
