/* escape-probe: what the category files share (options, reporting, the categories).
 * Trust level: test program, runs as the untrusted agent. */
#pragma once

#include <stdbool.h>

struct opts {
        int proxy_port, canary_port;
        int other_ports[8];
        int n_other_ports;
        const char *abstract;
        const char *paths[16];
        int n_paths;
        int host_pid;
        const char *secret_file;
        const char *profile_file;
        const char *control_socket;
        int pids_try;
        long mem_mb;
};
extern struct opts O;

/* One line per attempt: "ATTEMPT name: blocked|ESCAPED (why)". */
void attempt(const char *name, bool escaped, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Something that must work: "CHECK name: ok|FAILED (what)". */
void check(const char *name, bool ok, const char *what);
const char *errname(int e);
/* A failure that the kernel itself reports for bad arguments means the call got through any
 * filter: for the kernel-surface attempts that counts as escaped. */
bool filtered_errno(int e);
void syscall_attempt(const char *name, long r, int e);
int parse_int(const char *s);

/* probe-net.c: 0 when a connect to the Unix socket at path (abstract: @path) works, else an
 * errno. */
int unix_connect(const char *path, bool abstract, int type);

/* The categories: probe-net.c */
void cat_egress(void);
void cat_metadata(void);
void cat_loopback(void);
void cat_proxy(void);
void cat_dns(void);
void cat_unix(void);
/* probe-proc.c */
void cat_fds(void);
void cat_secrets(void);
void cat_procs(void);
/* probe-kernel.c */
void cat_kernel(void);
void cat_resources(void);
/* Separate invocations: the filter kills the process, which the test observes. */
int abi_i386(void);
int abi_x32(void);
/* probe-fs.c */
void cat_selfdisable(void);
