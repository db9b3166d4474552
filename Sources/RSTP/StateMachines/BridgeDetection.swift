// 17.25 Bridge Detection state machine: operEdge.
enum BridgeDetectionState: Sendable { case edge, notEdge }

extension Bridge {
    mutating func bridgeDetectionBegin(_ i: Int) {
        if ports[i].AdminEdge { enterEdge(i) } else { enterNotEdge(i) }
    }

    private mutating func enterEdge(_ i: Int) {
        ports[i].bridgeDetectionState = .edge
        ports[i].operEdge = true
    }

    private mutating func enterNotEdge(_ i: Int) {
        ports[i].bridgeDetectionState = .notEdge
        ports[i].operEdge = false
    }

    mutating func bridgeDetection(_ i: Int) -> Bool {
        let p = ports[i]
        switch p.bridgeDetectionState {
        case .edge:
            // 802.1Q-2018 13.33: clearing AutoEdge also ends an edge that was only detected.
            if ((!p.portEnabled || !p.AutoEdge) && !p.AdminEdge) || !p.operEdge {
                enterNotEdge(i)
                return true
            }
        case .notEdge:
            if (!p.portEnabled && p.AdminEdge)
                || (p.edgeDelayWhile == 0 && p.AutoEdge && p.sendRSTP && p.proposing) {
                enterEdge(i)
                return true
            }
        }
        return false
    }
}
