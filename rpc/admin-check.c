/* placeholder: being written by the policy work */
#include "rpc/admin.h"
int admin_check_profile(int argc, char **argv) { return 2; }
int admin_check_config(int argc, char **argv) { return 2; }
