/* The supervisor <-> proxy control socket: Unix SOCK_SEQPACKET, one JSON object per message
 * (at most CONTROL_MSG_MAX bytes), file descriptors in SCM_RIGHTS (at most CONTROL_FDS_MAX).
 *
 * Messages (DESIGN.md "Supervisor <-> proxy control socket"):
 *   request  {"op":"attach","session":ID,"profile":NAME,"pid":PID}   + 1 fd (listening socket)
 *   reply    {"ok":true} | {"ok":false,"error":"..."}
 * The session lasts as long as the control connection. */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#define CONTROL_MSG_MAX (64 * 1024)
#define CONTROL_FDS_MAX 4

/* Send one JSON object with n_fds descriptors. 0 or -errno. */
int control_send(int sock, const json_t *msg, const int *fds, size_t n_fds);

/* Receive one message. On success *ret_msg is a JSON object (caller decrefs) and up to
 * CONTROL_FDS_MAX received fds (O_CLOEXEC) are stored in ret_fds, their count in *ret_n_fds.
 * Returns 0, -ECONNRESET on orderly EOF, -EBADMSG for a malformed/truncated message (any fds
 * received with it are closed), or -errno. */
int control_recv(int sock, json_t **ret_msg, int ret_fds[CONTROL_FDS_MAX], size_t *ret_n_fds);

/* Pure decoder used by control_recv (and its fuzz target): bytes -> JSON object, validated to be
 * an object with a string "op" (requests) or a boolean "ok" (replies). 0 or -EBADMSG. */
int control_decode(const char *buf, size_t len, json_t **ret_msg);

/* Connect to a control socket path (SOCK_SEQPACKET|SOCK_CLOEXEC). fd or -errno. */
int control_connect(const char *path);
