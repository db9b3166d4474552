#ifndef REDLAB_CPCAP_SHIM_H
#define REDLAB_CPCAP_SHIM_H
#include <pcap/pcap.h>
#endif
