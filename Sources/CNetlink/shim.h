#ifndef REDLAB_CNETLINK_SHIM_H
#define REDLAB_CNETLINK_SHIM_H
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/vlan.h>
#include <netlink/route/link/bonding.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/netem.h>
#include <linux/pkt_sched.h>
#include <linux/if_link.h>
#include <linux/veth.h>
#include <linux/if_bridge.h>
#include <linux/rtnetlink.h>
#include <linux/neighbour.h>
#include <linux/if_packet.h>
#include <linux/filter.h>
#include <net/if.h>
#include <sys/signalfd.h>
#include <syslog.h>

/* Namespace calls. glibc declares these only under _GNU_SOURCE, which the Swift Glibc module is
   built without; declare them here. */
extern int setns(int fd, int nstype);
extern int unshare(int flags);
/* ppoll(2): poll with a nanosecond timeout (also _GNU_SOURCE only). */
#include <poll.h>
#include <time.h>
extern int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout, const __sigset_t *sigmask);
static inline int redlab_ppoll(void *fds, unsigned long nfds, const struct timespec *timeout) {
    return ppoll((struct pollfd *)fds, (nfds_t)nfds, timeout, 0);
}
#define REDLAB_CLONE_NEWNET 0x40000000

/* syslog(3) is variadic, which Swift cannot call: a fixed-argument wrapper. */
static inline void redlab_syslog(int priority, const char *message) { syslog(priority, "%s", message); }
#endif
