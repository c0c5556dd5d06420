/* placeholder: being written */
#include "rpc/admin.h"
int admin_logs(int argc, char **argv) { return 2; }
