// 17.31 Topology Change state machine.
enum TopologyChangeState: Sendable {
    case inactive, learning, detected, active, notifiedTcn, notifiedTc, propagating, acknowledged
}

extension Bridge {
    mutating func topologyChangeBegin(_ i: Int) { enterInactive(i) }

    private mutating func enterInactive(_ i: Int) {
        ports[i].topologyChangeState = .inactive
        ports[i].fdbFlush = true
        requestFlush(i)
        ports[i].tcWhile = 0
        ports[i].tcAck = false
    }

    private mutating func enterLearning(_ i: Int) {
        ports[i].topologyChangeState = .learning
        ports[i].rcvdTc = false
        ports[i].rcvdTcn = false
        ports[i].rcvdTcAck = false
        ports[i].tcProp = false
    }

    mutating func topologyChange(_ i: Int) -> Bool {
        let p = ports[i]
        let rootOrDesignated = p.role == .root || p.role == .designated
        switch p.topologyChangeState {
        case .inactive:
            if p.learn && !p.fdbFlush {
                enterLearning(i)
                return true
            }
        case .learning:
            if p.rcvdTc || p.rcvdTcn || p.rcvdTcAck || p.tcProp {
                enterLearning(i)
                return true
            }
            if rootOrDesignated && p.forward && !p.operEdge {
                // DETECTED, then ACTIVE.
                ports[i].topologyChangeState = .detected
                newTcWhile(i)
                setTcPropTree(i)
                ports[i].newInfo = true
                ports[i].topologyChangeState = .active
                return true
            }
            if !rootOrDesignated && !(p.learn || p.learning) {
                enterInactive(i)
                return true
            }
        case .active, .detected, .notifiedTcn, .notifiedTc, .propagating, .acknowledged:
            if !rootOrDesignated || p.operEdge {
                enterLearning(i)
                return true
            }
            if p.rcvdTcn {
                // NOTIFIED_TCN, then NOTIFIED_TC.
                ports[i].topologyChangeState = .notifiedTcn
                newTcWhile(i)
                notifiedTc(i)
                return true
            }
            if p.rcvdTc {
                notifiedTc(i)
                return true
            }
            if p.tcProp && !p.operEdge {
                // PROPAGATING, then ACTIVE.
                ports[i].topologyChangeState = .propagating
                newTcWhile(i)
                ports[i].fdbFlush = true
                requestFlush(i)
                ports[i].tcProp = false
                ports[i].topologyChangeState = .active
                return true
            }
            if p.rcvdTcAck {
                // ACKNOWLEDGED, then ACTIVE.
                ports[i].topologyChangeState = .acknowledged
                ports[i].tcWhile = 0
                ports[i].rcvdTcAck = false
                ports[i].topologyChangeState = .active
                return true
            }
        }
        return false
    }

    /// NOTIFIED_TC, then ACTIVE.
    private mutating func notifiedTc(_ i: Int) {
        ports[i].topologyChangeState = .notifiedTc
        ports[i].rcvdTcn = false
        ports[i].rcvdTc = false
        if ports[i].role == .designated { ports[i].tcAck = true }
        setTcPropTree(i)
        ports[i].topologyChangeState = .active
    }
}
