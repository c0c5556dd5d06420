/* Landlock: the second filesystem/network layer (DESIGN.md "Sandbox recipe" step 7), applied in
 * the child after pivot_root and after dropping privileges, with raw syscalls. Best effort across
 * ABI versions: filesystem rights per ABI; TCP connect only to the proxy port and bind only to
 * published ports (ABI >= 4); abstract Unix sockets and signals scoped (ABI >= 6). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "policy/profile.h"

struct landlock_params {
        uint16_t proxy_port; /* 0 = none: no TCP connect at all */
        const uint16_t *bind_ports;
        size_t n_bind_ports;
};

/* Paths are the sandbox's view: profile read_only -> read + execute; read_write and tmpfs -> all
 * rights; /proc read; the usual /dev nodes read/write; everything else denied. Missing paths
 * are skipped. Sets PR_SET_NO_NEW_PRIVS. Returns the ABI version used (> 0), -EOPNOTSUPP when
 * Landlock is absent or disabled (log it, not fatal), other -errno on failure. */
int landlock_apply(const struct profile *p, const struct landlock_params *lp);

/* landlock_apply in two steps: build the ruleset (*ret_fd; returns the ABI or -errno as
 * landlock_apply), then restrict the calling thread with it (sets PR_SET_NO_NEW_PRIVS; 0 or
 * -errno). The caller closes the fd. */
int landlock_prepare(const struct profile *p, const struct landlock_params *lp, int *ret_fd);
int landlock_restrict(int ruleset_fd);

/* The kernel's Landlock ABI version, or -EOPNOTSUPP. */
int landlock_abi_version(void);
