/* Config snapshots: the proxy config and the profile set loaded together, refcounted so a
 * SIGHUP reload swaps them atomically while in-flight requests keep the one they started with.
 * Trust level: reads root-owned config files (the loaders validate them). */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "proxy/proxy.h"

struct proxy_snapshot *snapshot_ref(struct proxy_snapshot *s)
{
        if (s)
                s->ref++;
        return s;
}

struct proxy_snapshot *snapshot_unref(struct proxy_snapshot *s)
{
        if (!s || --s->ref > 0)
                return NULL;
        if (s->hdr_cache)
                for (size_t i = 0; i < s->config->n_providers * 2; i++)
                        curl_slist_free_all(s->hdr_cache[i]);
        free(s->hdr_cache);
        proxy_config_free(s->config);
        profile_set_free(s->profiles);
        free(s);
        return NULL;
}

int snapshot_load(const char *config_path, struct proxy_snapshot **ret, char err[POLICY_ERR_MAX])
{
        struct proxy_config *cfg = NULL;
        struct profile_set *set = NULL;
        int r = proxy_config_load(config_path, NULL, NULL, &cfg, err);
        if (r < 0)
                return r;
        r = profile_set_load_dir(cfg->profiles_dir, &set, err);
        if (r < 0) {
                proxy_config_free(cfg);
                return r;
        }
        /* Every client must name a profile that exists. */
        for (size_t i = 0; i < cfg->n_clients; i++)
                if (!profile_set_find(set, cfg->clients[i].profile)) {
                        snprintf(err, POLICY_ERR_MAX, "%s: client \"%s\" names profile \"%s\", "
                                 "which is not in %s", cfg->path, cfg->clients[i].name,
                                 cfg->clients[i].profile, cfg->profiles_dir);
                        proxy_config_free(cfg);
                        profile_set_free(set);
                        return -ENOENT;
                }
        struct proxy_snapshot *s = calloc(1, sizeof(*s));
        if (!s) {
                proxy_config_free(cfg);
                profile_set_free(set);
                return -ENOMEM;
        }
        s->ref = 1;
        s->config = cfg;
        s->profiles = set;
        *ret = s;
        return 0;
}
