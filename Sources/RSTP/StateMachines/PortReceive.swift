// 17.23 Port Receive state machine.
enum PortReceiveState: Sendable { case discard, receive }

extension Bridge {
    mutating func portReceiveBegin(_ i: Int) { enterDiscard(i) }

    private mutating func enterDiscard(_ i: Int) {
        ports[i].portReceiveState = .discard
        ports[i].rcvdBPDU = false
        ports[i].rcvdRSTP = false
        ports[i].rcvdSTP = false
        ports[i].rcvdMsg = false
        ports[i].edgeDelayWhile = MigrateTime
    }

    private mutating func enterReceive(_ i: Int) {
        ports[i].portReceiveState = .receive
        updtBPDUVersion(i)
        ports[i].operEdge = false
        ports[i].rcvdBPDU = false
        ports[i].rcvdMsg = true
        ports[i].edgeDelayWhile = MigrateTime
    }

    /// One transition if one is enabled; true when it made one.
    mutating func portReceive(_ i: Int) -> Bool {
        let p = ports[i]
        if (p.rcvdBPDU || p.edgeDelayWhile != MigrateTime) && !p.portEnabled {
            enterDiscard(i)
            return true
        }
        switch p.portReceiveState {
        case .discard, .receive:
            if p.rcvdBPDU && p.portEnabled && !p.rcvdMsg {
                enterReceive(i)
                return true
            }
        }
        return false
    }
}
