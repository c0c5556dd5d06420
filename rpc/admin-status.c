/* placeholder: being written */
#include "rpc/admin.h"
int admin_status(int argc, char **argv) { return 2; }
