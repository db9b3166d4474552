/// The lab the VRRP lab tests share: two routers r1 and r2 on one switch, each with an address in two
/// subnets on its bridge (br0), a client (10.9.7.100) and a server (10.9.8.100) that reach each other only
/// through the virtual gateways 10.9.7.1 and 10.9.8.1.
public enum GatewayPairLab {
    /// The topology file, given what goes under each router's `vrrp:` key (indented by six spaces).
    public static func yaml(name: String, r1VRRP: String, r2VRRP: String) -> String {
        """
        name: \(name)
        nodes:
          sw: {kind: switch}
          r1:
            kind: router
            svis: [{addresses: [10.9.7.2/24, 10.9.8.2/24]}]
            vrrp:
        \(r1VRRP)
          r2:
            kind: router
            svis: [{addresses: [10.9.7.3/24, 10.9.8.3/24]}]
            vrrp:
        \(r2VRRP)
          client: {kind: host, addresses: {eth0: 10.9.7.100/24}, gateway: 10.9.7.1}
          server: {kind: host, addresses: {eth0: 10.9.8.100/24}, gateway: 10.9.8.1}
        links:
          - [r1:up, sw:p1]
          - [r2:up, sw:p2]
          - [client:eth0, sw:p3]
          - [server:eth0, sw:p4]
        """
    }
}
