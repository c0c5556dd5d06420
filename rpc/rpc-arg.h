/* Names and arguments that cross qrexec: service arguments (VM side: from dom0 or another qube)
 * and VM names (dom0 side: from the admin's command line, used in qrexec command strings). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RPC_SEQ_DIGITS_MAX 19 /* 9999999999999999999 < 2^64 */
#define VM_NAME_MAX 31

/* The argument a qrexec executable service was called with: argv[1] if present, else
 * $QREXEC_SERVICE_ARGUMENT (set whenever the call had a '+'). Both present and different, or
 * more than one positional argument: -EINVAL. *ret = NULL when there is no argument at all. */
int rpc_arg_get(int argc, char **argv, const char **ret);

/* qclaw.AuditLog's argument: 1-19 ASCII digits, nothing else (no sign, no '+', no spaces).
 * 0 or -EINVAL. */
int rpc_arg_parse_seq(const char *arg, size_t len, uint64_t *ret);

/* A Qubes VM name: starts with a letter, then [A-Za-z0-9_.-], at most 31 characters, not
 * "dom0", "none" or "default", and not ending in "-dm" (stubdomains). */
bool vm_name_is_valid(const char *name);
