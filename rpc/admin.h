/* qclaw-admin subcommands. Each returns the process exit status:
 * 0 clean, 1 problem found (broken chain, bad file), 2 usage error. */
#pragma once

int admin_check_profile(int argc, char **argv); /* admin-check.c */
int admin_check_config(int argc, char **argv);  /* admin-check.c */
int admin_verify(int argc, char **argv);        /* admin-verify.c */
int admin_logs(int argc, char **argv);          /* admin-logs.c   (dom0) */
int admin_status(int argc, char **argv);        /* admin-status.c (dom0) */
int admin_policy_check(int argc, char **argv);  /* admin-policy-check.c */
