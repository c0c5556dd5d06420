/* Validation of qrexec service arguments and VM names.
 * Trust level: VM side, the argument comes from the caller (never assume qrexec sanitised it);
 * dom0 side, VM names end up inside qrexec command strings. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/rpc-arg.h"

int rpc_arg_get(int argc, char **argv, const char **ret)
{
        const char *env = getenv("QREXEC_SERVICE_ARGUMENT");
        const char *arg = NULL;

        if (argc > 2)
                return -EINVAL;
        if (argc == 2)
                arg = argv[1];
        if (arg && env && strcmp(arg, env) != 0)
                return -EINVAL;
        if (!arg)
                arg = env;
        *ret = arg;
        return 0;
}

int rpc_arg_parse_seq(const char *arg, size_t len, uint64_t *ret)
{
        uint64_t v = 0;

        if (!arg || len == 0 || len > RPC_SEQ_DIGITS_MAX)
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                if (arg[i] < '0' || arg[i] > '9')
                        return -EINVAL;
                v = v * 10 + (uint64_t)(arg[i] - '0'); /* 19 digits cannot overflow */
        }
        *ret = v;
        return 0;
}

bool vm_name_is_valid(const char *name)
{
        size_t len;

        if (!name)
                return false;
        len = strlen(name);
        if (len == 0 || len > VM_NAME_MAX)
                return false;
        if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z')))
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = name[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '.' || c == '-'))
                        return false;
        }
        if (strcmp(name, "dom0") == 0 || strcmp(name, "none") == 0 ||
            strcmp(name, "default") == 0)
                return false;
        if (len >= 3 && strcmp(name + len - 3, "-dm") == 0)
                return false;
        return true;
}
