#ifndef REDLAB_CNFTABLES_SHIM_H
#define REDLAB_CNFTABLES_SHIM_H
#include <nftables/libnftables.h>
#include <linux/netlink.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#endif
