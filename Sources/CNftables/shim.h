#ifndef REDLAB_CNFTABLES_SHIM_H
#define REDLAB_CNFTABLES_SHIM_H
#include <nftables/libnftables.h>
#endif
