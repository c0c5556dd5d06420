/* placeholder: being written */
#include "rpc/admin.h"
int admin_policy_check(int argc, char **argv) { return 2; }
