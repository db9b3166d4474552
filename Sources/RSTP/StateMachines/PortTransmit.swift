// 17.26 Port Transmit state machine (802.1Q-2018 13.34). Transitions out of IDLE are qualified by
// selected && !updtInfo. As in 802.1Q, BEGIN || !portEnabled enters TRANSMIT_INIT: nothing is sent on a
// port that is down, and it comes back up with txCount 0 and newInfo set, so flaps do not use up the
// transmit hold count.
enum PortTransmitState: Sendable { case transmitInit, idle }

extension Bridge {
    mutating func portTransmitBegin(_ i: Int) {
        // TRANSMIT_INIT, then IDLE by UCT.
        ports[i].portTransmitState = .transmitInit
        ports[i].newInfo = true
        ports[i].txCount = 0
        ports[i].holding = false
        enterIdle(i)
    }

    private mutating func enterIdle(_ i: Int) {
        ports[i].portTransmitState = .idle
        ports[i].helloWhen = ports[i].HelloTime
    }

    /// True when it sent a BPDU or restarted the hello timer.
    mutating func portTransmit(_ i: Int) -> Bool {
        let p = ports[i]
        if !p.portEnabled {
            guard p.txCount != 0 || !p.newInfo || p.holding else { return false }
            portTransmitBegin(i)
            return true
        }
        guard p.portTransmitState == .idle, p.selected, !p.updtInfo, !p.config.bpduFilter else { return false }
        if p.helloWhen == 0 {
            // TRANSMIT_PERIODIC, then IDLE.
            ports[i].newInfo = p.newInfo || (p.role == .designated || (p.role == .root && p.tcWhile != 0))
            enterIdle(i)
            return true
        }
        guard p.newInfo, p.helloWhen != 0 else { return false }
        let wouldSend = p.sendRSTP || p.role == .designated || p.role == .root
        guard p.txCount < TxHoldCount else {
            // Held back by the transmit hold count: counted once per BPDU held.
            if wouldSend && !p.holding {
                ports[i].holding = true
                ports[i].held += 1
            }
            return false
        }
        ports[i].holding = false
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
