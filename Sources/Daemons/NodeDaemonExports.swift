// rstpd and what it writes (its status, the forwarding set's rules) live in NodeDaemon, the module the
// small `redlabd` executable is built from; code that imports Daemons sees them as before.
@_exported import NodeDaemon
