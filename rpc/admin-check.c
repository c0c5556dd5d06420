/* qclaw-admin check-profile / check-config: validate profiles and proxy configs offline.
 * Trust level: runs as the admin on admin-written files; prints names and hashes, never secrets. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/config.h"
#include "policy/profile.h"
#include "rpc/admin.h"

static void usage_profile(FILE *f)
{
        fprintf(f, "usage: qclaw-admin check-profile [--workspace DIR] [--home DIR] FILE...\n");
}

static void usage_config(FILE *f)
{
        fprintf(f, "usage: qclaw-admin check-config [--profiles-dir DIR] FILE\n"
                   "  ${VAR} references are expanded from the environment; client profiles are\n"
                   "  checked against profiles_dir (or --profiles-dir) when that directory exists.\n");
}

int admin_check_profile(int argc, char **argv)
{
        static const struct option opts[] = {
                { "workspace", required_argument, NULL, 'w' },
                { "home", required_argument, NULL, 'H' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        char cwd[PATH_MAX];
        struct profile_vars vars = { .workspace = getcwd(cwd, sizeof(cwd)),
                                     .home = getenv("HOME") };
        optind = 1;
        int c;
        while ((c = getopt_long(argc, argv, "+h", opts, NULL)) >= 0) {
                switch (c) {
                case 'w': vars.workspace = optarg; break;
                case 'H': vars.home = optarg; break;
                case 'h': usage_profile(stdout); return 0;
                default: usage_profile(stderr); return 2;
                }
        }
        if (optind >= argc) {
                usage_profile(stderr);
                return 2;
        }
        if (!vars.home || !*vars.home)
                vars.home = "/root";
        int ret = 0;
        for (int i = optind; i < argc; i++) {
                char err[POLICY_ERR_MAX];
                struct profile *p = NULL;
                if (profile_load(argv[i], &vars, &p, err) < 0) {
                        fprintf(stderr, "%s\n", err);
                        ret = 1;
                        continue;
                }
                printf("%s: ok (profile %s, sha256 %s)\n", argv[i], p->name, p->hash);
                profile_free(p);
        }
        return ret;
}

int admin_check_config(int argc, char **argv)
{
        static const struct option opts[] = {
                { "profiles-dir", required_argument, NULL, 'p' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *profiles_dir = NULL;
        optind = 1;
        int c;
        while ((c = getopt_long(argc, argv, "+h", opts, NULL)) >= 0) {
                switch (c) {
                case 'p': profiles_dir = optarg; break;
                case 'h': usage_config(stdout); return 0;
                default: usage_config(stderr); return 2;
                }
        }
        if (optind != argc - 1) {
                usage_config(stderr);
                return 2;
        }
        const char *file = argv[optind];
        char err[POLICY_ERR_MAX];
        struct proxy_config *cfg = NULL;
        if (proxy_config_load(file, NULL, NULL, &cfg, err) < 0) {
                fprintf(stderr, "%s\n", err);
                return 1;
        }
        int ret = 0;
        const char *dir = profiles_dir ? profiles_dir : cfg->profiles_dir;
        struct stat st;
        if (profiles_dir || stat(dir, &st) == 0) {
                struct profile_set *set = NULL;
                if (profile_set_load_dir(dir, &set, err) < 0 ||
                    proxy_config_check_profiles(cfg, set, err) < 0) {
                        fprintf(stderr, "%s\n", err);
                        ret = 1;
                }
                profile_set_free(set);
        } else if (cfg->n_clients > 0) {
                fprintf(stderr, "%s: note: %s does not exist; client profiles not checked\n", file,
                        dir);
        }
        if (ret == 0)
                printf("%s: ok (%zu providers, %zu clients, %zu listeners)\n", file,
                       cfg->n_providers, cfg->n_clients, cfg->listen.n);
        proxy_config_free(cfg);
        return ret;
}
