// 17.26 Port Transmit state machine. Transitions out of IDLE are qualified by selected && !updtInfo,
// and here also by portEnabled: nothing is sent on a port that is down.
enum PortTransmitState: Sendable { case transmitInit, idle }

extension Bridge {
    mutating func portTransmitBegin(_ i: Int) {
        // TRANSMIT_INIT, then IDLE by UCT.
        ports[i].portTransmitState = .transmitInit
        ports[i].newInfo = true
        ports[i].txCount = 0
        enterIdle(i)
    }

    private mutating func enterIdle(_ i: Int) {
        ports[i].portTransmitState = .idle
        ports[i].helloWhen = ports[i].HelloTime
    }

    /// True when it sent a BPDU or restarted the hello timer.
    mutating func portTransmit(_ i: Int) -> Bool {
        let p = ports[i]
        guard p.portTransmitState == .idle, p.selected, !p.updtInfo, p.portEnabled else { return false }
        if p.helloWhen == 0 {
            // TRANSMIT_PERIODIC, then IDLE.
            ports[i].newInfo = p.newInfo || (p.role == .designated || (p.role == .root && p.tcWhile != 0))
            enterIdle(i)
            return true
        }
        guard p.newInfo, p.txCount < TxHoldCount, p.helloWhen != 0 else { return false }
        if p.sendRSTP {
            // TRANSMIT_RSTP
            ports[i].newInfo = false
            txRstp(i)
            ports[i].txCount += 1
            ports[i].tcAck = false
            enterIdle(i)
            return true
        }
        if p.role == .designated {
            // TRANSMIT_CONFIG
            ports[i].newInfo = false
            txConfig(i)
            ports[i].txCount += 1
            ports[i].tcAck = false
            enterIdle(i)
            return true
        }
        if p.role == .root {
            // TRANSMIT_TCN
            ports[i].newInfo = false
            txTcn(i)
            ports[i].txCount += 1
            enterIdle(i)
            return true
        }
        return false
    }
}
