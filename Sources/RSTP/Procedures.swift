import Packets

// 17.21 state machine procedures, by their names in the standard.
extension Bridge {
    /// 17.21.1
    func betterorsameInfo(_ i: Int, _ newInfoIs: InfoIs) -> Bool {
        let p = ports[i]
        if newInfoIs == .received && p.infoIs == .received {
            return p.msgPriority.isBetterOrSame(as: p.portPriority)
        }
        if newInfoIs == .mine && p.infoIs == .mine {
            return p.designatedPriority.isBetterOrSame(as: p.portPriority)
        }
        return false
    }

    /// 17.21.2
    mutating func clearReselectTree() {
        for i in ports.indices { ports[i].reselect = false }
    }

    /// 17.21.3-6: the port state is handed to the environment.
    mutating func disableForwarding(_ i: Int) { actions.append(.setPortState(number(i), .discarding)) }
    mutating func disableLearning(_ i: Int) {}
    mutating func enableForwarding(_ i: Int) { actions.append(.setPortState(number(i), .forwarding)) }
    mutating func enableLearning(_ i: Int) { actions.append(.setPortState(number(i), .learning)) }

    /// 17.21.7
    mutating func newTcWhile(_ i: Int) {
        guard ports[i].tcWhile == 0 else { return }
        if !ports.contains(where: { $0.tcWhile != 0 }) { topologyChangeCount += 1 }
        if ports[i].sendRSTP {
            ports[i].tcWhile = ports[i].HelloTime + 1
            ports[i].newInfo = true
        } else {
            ports[i].tcWhile = rootTimes.maxAge + rootTimes.forwardDelay
        }
    }

    /// 17.21.8 rcvInfo: decodes the received BPDU into msgPriority and msgTimes and classifies it.
    /// A TCN carries no priority: it sets rcvdTcn (as setTcFlags would) and is OtherInfo.
    mutating func rcvInfo(_ i: Int) -> RcvdInfo {
        guard let bpdu = ports[i].rcvdBpdu else { return .otherInfo }
        let role: BPDUPortRole
        let params: BPDUParameters
        switch bpdu {
        case .topologyChangeNotification:
            ports[i].rcvdTcn = true
            return .otherInfo
        case .configuration(let p):
            role = .designated // A Configuration BPDU implicitly conveys a Designated Port Role.
            params = p
        case .rapidSpanningTree(let p):
            // 802.1D-2004 9.2.9: an RST BPDU with the Unknown port role is taken as a Configuration BPDU.
            role = p.flags.portRole == .unknown ? .designated : p.flags.portRole
            params = p
        }
        let msg = PriorityVector(rootBridgeID: params.rootID, rootPathCost: params.rootPathCost,
                                 designatedBridgeID: params.bridgeID, designatedPortID: params.portID,
                                 bridgePortID: ports[i].portId)
        let times = Times(messageAge: params.messageAge.seconds, maxAge: params.maxAge.seconds,
                          forwardDelay: params.forwardDelay.seconds, helloTime: params.helloTime.seconds)
        ports[i].msgPriority = msg
        ports[i].msgTimes = times
        let port = ports[i].portPriority
        switch role {
        case .designated:
            if msg.isSuperior(to: port) { return .superiorDesignatedInfo }
            if msg == port && times != ports[i].portTimes { return .superiorDesignatedInfo }
            // 802.1Q-2018 13.29.14 b): repeated only if the port's information was received (not its own).
            if msg == port && ports[i].infoIs == .received { return .repeatedDesignatedInfo }
            return .inferiorDesignatedInfo
        case .root, .alternateOrBackup:
            return port.isBetterOrSame(as: msg) ? .inferiorRootAlternateInfo : .otherInfo
        case .unknown:
            return .otherInfo // Not reached: Unknown is read as Designated above.
        }
    }

    private func flags(_ i: Int) -> BPDUFlags? {
        switch ports[i].rcvdBpdu {
        case .configuration(let p)?, .rapidSpanningTree(let p)?: return p.flags
        default: return nil
        }
    }

    /// An RST BPDU with a known port role; one with the Unknown role is handled as a Configuration BPDU
    /// (802.1D-2004 9.2.9).
    private func rcvdRST(_ i: Int) -> Bool {
        if case .rapidSpanningTree(let p)? = ports[i].rcvdBpdu { return p.flags.portRole != .unknown }
        return false
    }

    /// 17.21.9
    mutating func recordAgreement(_ i: Int) {
        if rstpVersion && ports[i].operPointToPointMAC && flags(i)?.agreement == true {
            ports[i].agreed = true
            ports[i].proposing = false
        } else {
            ports[i].agreed = false
        }
    }

    /// 17.21.10, as 802.1Q-2005 corrected it: inferior designated information from a port that says it
    /// is learning or forwarding means the link is not two-way; this port stops forwarding.
    mutating func recordDispute(_ i: Int) {
        guard rcvdRST(i), let f = flags(i), f.learning else { return }
        ports[i].disputed = true
        ports[i].agreed = false
    }

    /// 17.21.11
    mutating func recordProposal(_ i: Int) {
        guard let f = flags(i) else { return }
        let designated = rcvdRST(i) ? f.portRole == .designated : true
        if designated && f.proposal { ports[i].proposed = true }
    }

    /// 17.21.12
    mutating func recordPriority(_ i: Int) { ports[i].portPriority = ports[i].msgPriority }

    /// 17.21.13; Hello Time is kept at least 1 s as 802.1Q asks, so a zero never ages info at once.
    mutating func recordTimes(_ i: Int) {
        ports[i].portTimes = ports[i].msgTimes
        ports[i].portTimes.helloTime = max(1, ports[i].msgTimes.helloTime)
    }

    /// 17.21.14
    mutating func setSyncTree() { for i in ports.indices { ports[i].sync = true } }

    /// 17.21.15
    mutating func setReRootTree() { for i in ports.indices { ports[i].reRoot = true } }

    /// 17.21.16
    mutating func setSelectedTree() {
        guard !ports.contains(where: \.reselect) else { return }
        for i in ports.indices { ports[i].selected = true }
    }

    /// 17.21.17
    mutating func setTcFlags(_ i: Int) {
        switch ports[i].rcvdBpdu {
        case .configuration(let p)?, .rapidSpanningTree(let p)?:
            if p.flags.topologyChange { ports[i].rcvdTc = true }
            if p.flags.topologyChangeAcknowledgment { ports[i].rcvdTcAck = true }
        case .topologyChangeNotification?:
            ports[i].rcvdTcn = true
        case nil:
            break
        }
    }

    /// 17.21.18; as 802.1Q-2018 13.29.31, only if restrictedTcn is FALSE for the calling port.
    mutating func setTcPropTree(_ caller: Int) {
        guard !ports[caller].config.restrictedTcn else { return }
        for i in ports.indices where i != caller { ports[i].tcProp = true }
    }

    /// The BPDU parameters from designatedPriority and designatedTimes (17.21.19, 17.21.20).
    private func messageParameters(_ i: Int, flags: BPDUFlags) -> BPDUParameters {
        let d = ports[i].designatedPriority
        let t = ports[i].designatedTimes
        return BPDUParameters(
            flags: flags, rootID: d.rootBridgeID, rootPathCost: d.rootPathCost,
            bridgeID: d.designatedBridgeID, portID: d.designatedPortID,
            messageAge: BPDUTime(seconds: t.messageAge), maxAge: BPDUTime(seconds: t.maxAge),
            helloTime: BPDUTime(seconds: t.helloTime), forwardDelay: BPDUTime(seconds: t.forwardDelay))
    }

    private mutating func transmit(_ i: Int, _ bpdu: BPDU) {
        ports[i].sent.count(bpdu)
        actions.append(.transmit(number(i), bpdu))
    }

    /// 17.21.19
    mutating func txConfig(_ i: Int) {
        let f = BPDUFlags(topologyChange: ports[i].tcWhile != 0,
                          topologyChangeAcknowledgment: ports[i].tcAck)
        transmit(i, .configuration(messageParameters(i, flags: f)))
    }

    /// 17.21.20
    mutating func txRstp(_ i: Int) {
        let p = ports[i]
        let role: BPDUPortRole
        switch p.role {
        case .root: role = .root
        case .designated: role = .designated
        case .alternate, .backup: role = .alternateOrBackup
        case .disabled: role = .unknown
        }
        let f = BPDUFlags(topologyChange: p.tcWhile != 0, proposal: p.proposing && p.role == .designated,
                          portRole: role, learning: p.learning, forwarding: p.forwarding, agreement: p.agree)
        transmit(i, .rapidSpanningTree(messageParameters(i, flags: f)))
    }

    /// 17.21.21
    mutating func txTcn(_ i: Int) { transmit(i, .topologyChangeNotification) }

    /// 17.21.22
    mutating func updtBPDUVersion(_ i: Int) {
        switch ports[i].rcvdBpdu {
        case .rapidSpanningTree?: ports[i].rcvdRSTP = true
        case .configuration?, .topologyChangeNotification?: ports[i].rcvdSTP = true
        case nil: break
        }
    }

    /// 17.21.23
    mutating func updtRcvdInfoWhile(_ i: Int) {
        let t = ports[i].portTimes
        ports[i].rcvdInfoWhile = t.messageAge + 1 <= t.maxAge ? 3 * t.helloTime : 0
    }

    /// 17.21.24
    mutating func updtRoleDisabledTree() {
        for i in ports.indices { ports[i].selectedRole = .disabled }
    }

    /// The root path priority vector through a port (17.6): its port priority vector with the port's
    /// path cost added and its own identifier as the bridge port component.
    func rootPathPriority(_ i: Int) -> PriorityVector {
        var v = ports[i].portPriority
        let (sum, overflow) = v.rootPathCost.addingReportingOverflow(ports[i].portPathCost)
        v.rootPathCost = overflow ? UInt32.max : sum
        v.bridgePortID = ports[i].portId
        return v
    }

    /// 17.21.25
    mutating func updtRolesTree() {
        var best = BridgePriority
        var rootIndex: Int?
        for i in ports.indices where ports[i].infoIs == .received && !ports[i].config.rootGuard {
            // Information that this bridge sent itself is never a path to the root.
            if ports[i].portPriority.designatedBridgeID.address == bridgeIdentifier.address { continue }
            let candidate = rootPathPriority(i)
            if candidate.isBetter(than: best) {
                best = candidate
                rootIndex = i
            }
        }
        rootPriority = best
        if let r = rootIndex {
            rootPortId = ports[r].portId
            rootTimes = ports[r].portTimes
            rootTimes.messageAge += 1
        } else {
            rootPortId = .none
            rootTimes = BridgeTimes
        }
        for i in ports.indices {
            ports[i].designatedPriority = PriorityVector(
                rootBridgeID: best.rootBridgeID, rootPathCost: best.rootPathCost,
                designatedBridgeID: bridgeIdentifier, designatedPortID: ports[i].portId,
                bridgePortID: ports[i].portId)
            ports[i].designatedTimes = rootTimes
            ports[i].designatedTimes.helloTime = BridgeTimes.helloTime
        }
        for i in ports.indices {
            switch ports[i].infoIs {
            case .disabled:
                ports[i].selectedRole = .disabled
            case .aged where ports[i].loopInconsistent:
                // Loop guard holds the port as an alternate (discarding) until a BPDU arrives.
                ports[i].selectedRole = .alternate
                ports[i].updtInfo = false
            case .aged:
                ports[i].selectedRole = .designated
                ports[i].updtInfo = true
            case .mine:
                ports[i].selectedRole = .designated
                if ports[i].portPriority != ports[i].designatedPriority
                    || ports[i].portTimes != ports[i].designatedTimes {
                    ports[i].updtInfo = true
                }
            case .received:
                if i == rootIndex {
                    ports[i].selectedRole = .root
                    ports[i].updtInfo = false
                } else if !ports[i].designatedPriority.isBetter(than: ports[i].portPriority) {
                    let fromThisBridge = ports[i].portPriority.designatedBridgeID.address == bridgeIdentifier.address
                    ports[i].selectedRole = fromThisBridge ? .backup : .alternate
                    ports[i].updtInfo = false
                } else {
                    ports[i].selectedRole = .designated
                    ports[i].updtInfo = true
                }
            }
        }
    }
}
