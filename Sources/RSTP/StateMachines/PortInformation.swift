// 17.27 Port Information state machine.
enum PortInformationState: Sendable {
    case disabled, aged, update, current, receive
    case superiorDesignated, repeatedDesignated, inferiorDesignated, notDesignated, other
}

extension Bridge {
    mutating func portInformationBegin(_ i: Int) { enterDisabled(i) }

    private mutating func enterDisabled(_ i: Int) {
        ports[i].portInformationState = .disabled
        ports[i].rcvdMsg = false
        ports[i].proposing = false
        ports[i].proposed = false
        ports[i].agree = false
        ports[i].agreed = false
        ports[i].rcvdInfoWhile = 0
        ports[i].infoIs = .disabled
        ports[i].reselect = true
        ports[i].selected = false
        setLoopInconsistent(i, false)
    }

    private mutating func enterAged(_ i: Int) {
        ports[i].portInformationState = .aged
        ports[i].infoIs = .aged
        ports[i].reselect = true
        ports[i].selected = false
    }

    private mutating func enterUpdate(_ i: Int) {
        ports[i].portInformationState = .update
        ports[i].proposing = false
        ports[i].proposed = false
        ports[i].agreed = ports[i].agreed && betterorsameInfo(i, .mine)
        ports[i].synced = ports[i].synced && ports[i].agreed
        ports[i].portPriority = ports[i].designatedPriority
        ports[i].portTimes = ports[i].designatedTimes
        ports[i].updtInfo = false
        ports[i].infoIs = .mine
        ports[i].newInfo = true
        enterCurrent(i)
    }

    private mutating func enterCurrent(_ i: Int) {
        ports[i].portInformationState = .current
    }

    private mutating func enterReceive(_ i: Int) {
        ports[i].portInformationState = .receive
        ports[i].rcvdInfo = rcvInfo(i)
        switch ports[i].rcvdInfo {
        case .superiorDesignatedInfo:
            ports[i].portInformationState = .superiorDesignated
            ports[i].agreed = false
            ports[i].proposing = false
            recordProposal(i)
            setTcFlags(i)
            ports[i].agree = ports[i].agree && betterorsameInfo(i, .received)
            recordPriority(i)
            recordTimes(i)
            updtRcvdInfoWhile(i)
            ports[i].infoIs = .received
            ports[i].reselect = true
            ports[i].selected = false
        case .repeatedDesignatedInfo:
            ports[i].portInformationState = .repeatedDesignated
            recordProposal(i)
            setTcFlags(i)
            updtRcvdInfoWhile(i)
        case .inferiorDesignatedInfo:
            ports[i].portInformationState = .inferiorDesignated
            recordDispute(i)
        case .inferiorRootAlternateInfo:
            ports[i].portInformationState = .notDesignated
            recordAgreement(i)
            setTcFlags(i)
        case .otherInfo:
            ports[i].portInformationState = .other
        }
        ports[i].rcvdMsg = false
        ports[i].rcvdBpdu = nil
        enterCurrent(i)
    }

    mutating func portInformation(_ i: Int) -> Bool {
        let p = ports[i]
        if !p.portEnabled && p.infoIs != .disabled {
            enterDisabled(i)
            return true
        }
        switch p.portInformationState {
        case .disabled:
            if p.rcvdMsg {
                enterDisabled(i)
                return true
            }
            if p.portEnabled {
                enterAged(i)
                return true
            }
        case .aged:
            if p.selected && p.updtInfo {
                enterUpdate(i)
                return true
            }
        case .current, .update, .receive, .superiorDesignated, .repeatedDesignated, .inferiorDesignated,
             .notDesignated, .other:
            if p.selected && p.updtInfo {
                enterUpdate(i)
                return true
            }
            if p.infoIs == .received && p.rcvdInfoWhile == 0 && !p.updtInfo && !p.rcvdMsg {
                // Loop guard: a root, alternate or backup port whose BPDUs stopped may face a bridge whose
                // control plane died with its ports forwarding; it stays discarding instead of taking over.
                if p.config.loopGuard && [.root, .alternate, .backup].contains(p.role) { setLoopInconsistent(i, true) }
                enterAged(i)
                return true
            }
            if p.rcvdMsg && !p.updtInfo {
                enterReceive(i)
                return true
            }
        }
        return false
    }
}
