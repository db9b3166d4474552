// 17.29 Port Role Transitions state machine: 17.29.1 disabled, 17.29.2 root, 17.29.3 designated,
// 17.29.4 alternate and backup. Every transition except UCT is qualified by selected && !updtInfo.
// States that end in UCT run their actions and then enter the role's main state at once.
enum PortRoleTransitionsState: Sendable {
    case initPort, disablePort, disabledPort
    case rootPort, rootProposed, rootAgreed, reroot, rootForward, rootLearn, rerooted, rootDiscard
    case designatedPort, designatedPropose, designatedSynced, designatedRetired, designatedDiscard
    case designatedLearn, designatedForward
    case blockPort, alternatePort, alternateProposed, alternateAgreed, backupPort
}

extension Bridge {
    mutating func portRoleTransitionsBegin(_ i: Int) {
        // INIT_PORT, then DISABLE_PORT by UCT.
        ports[i].portRoleTransitionsState = .initPort
        setRole(i, .disabled)
        ports[i].learn = false
        ports[i].forward = false
        ports[i].synced = false
        ports[i].sync = true
        ports[i].reRoot = true
        ports[i].rrWhile = ports[i].FwdDelay
        ports[i].fdWhile = ports[i].MaxAge
        ports[i].rbWhile = 0
        enterDisablePort(i)
    }

    mutating func portRoleTransitions(_ i: Int) -> Bool {
        let p = ports[i]
        guard p.selected && !p.updtInfo else { return false }

        // Transitions into each role, from any state.
        if p.role != p.selectedRole {
            switch p.selectedRole {
            case .disabled: enterDisablePort(i)
            case .root: enterRootPort(i)
            case .designated: enterDesignatedPort(i)
            case .alternate, .backup: enterBlockPort(i)
            }
            return true
        }

        switch p.portRoleTransitionsState {
        case .initPort:
            return false
        case .disablePort:
            if !p.learning && !p.forwarding {
                enterDisabledPort(i)
                return true
            }
        case .disabledPort:
            if p.fdWhile != p.MaxAge || p.sync || p.reRoot || !p.synced {
                enterDisabledPort(i)
                return true
            }
        case .rootPort, .rootProposed, .rootAgreed, .reroot, .rootForward, .rootLearn, .rerooted, .rootDiscard:
            return rootPortTransitions(i)
        case .designatedPort, .designatedPropose, .designatedSynced, .designatedRetired, .designatedDiscard,
             .designatedLearn, .designatedForward:
            return designatedPortTransitions(i)
        case .blockPort:
            if !p.learning && !p.forwarding {
                enterAlternatePort(i)
                return true
            }
        case .alternatePort, .alternateProposed, .alternateAgreed, .backupPort:
            return alternatePortTransitions(i)
        }
        return false
    }

    // MARK: 17.29.1 Disabled Port role

    private mutating func enterDisablePort(_ i: Int) {
        ports[i].portRoleTransitionsState = .disablePort
        setRole(i, ports[i].selectedRole)
        ports[i].learn = false
        ports[i].forward = false
    }

    private mutating func enterDisabledPort(_ i: Int) {
        ports[i].portRoleTransitionsState = .disabledPort
        ports[i].fdWhile = ports[i].MaxAge
        ports[i].synced = true
        ports[i].rrWhile = 0
        ports[i].sync = false
        ports[i].reRoot = false
    }

    // MARK: 17.29.2 Root Port role

    private mutating func enterRootPort(_ i: Int) {
        ports[i].portRoleTransitionsState = .rootPort
        setRole(i, .root)
        ports[i].rrWhile = ports[i].FwdDelay
    }

    private mutating func rootPortTransitions(_ i: Int) -> Bool {
        let p = ports[i]
        if p.proposed && !p.agree {
            // ROOT_PROPOSED
            ports[i].portRoleTransitionsState = .rootProposed
            setSyncTree()
            ports[i].proposed = false
            enterRootPort(i)
            return true
        }
        if (allSynced && !p.agree) || (p.proposed && p.agree) {
            // ROOT_AGREED
            ports[i].portRoleTransitionsState = .rootAgreed
            ports[i].proposed = false
            ports[i].sync = false
            ports[i].agree = true
            ports[i].newInfo = true
            enterRootPort(i)
            return true
        }
        if !p.forward && p.rbWhile == 0 && !p.reRoot {
            // REROOT (802.1Q-2018 13.37 adds rbWhile == 0: not while a recent backup or dispute may still
            // forward towards this port)
            ports[i].portRoleTransitionsState = .reroot
            setReRootTree()
            enterRootPort(i)
            return true
        }
        if p.rrWhile != p.FwdDelay {
            enterRootPort(i)
            return true
        }
        if p.disputed {
            // ROOT_DISCARD (802.1Q-2018 13.37): the designated bridge says it is learning or forwarding with
            // inferior information, so it does not hear this port: the link is not two-way. Stop using it
            // for rbWhile, as if it were a recent backup.
            ports[i].portRoleTransitionsState = .rootDiscard
            ports[i].rbWhile = 3 * p.HelloTime
            ports[i].learn = false
            ports[i].forward = false
            ports[i].disputed = false
            ports[i].fdWhile = p.FwdDelay
            enterRootPort(i)
            return true
        }
        if p.reRoot && p.forward {
            // REROOTED
            ports[i].portRoleTransitionsState = .rerooted
            ports[i].reRoot = false
            enterRootPort(i)
            return true
        }
        let mayAdvance = p.fdWhile == 0 || (reRooted(i) && p.rbWhile == 0 && rstpVersion)
        if mayAdvance && !p.learn {
            // ROOT_LEARN
            ports[i].portRoleTransitionsState = .rootLearn
            ports[i].fdWhile = p.forwardDelay
            ports[i].learn = true
            enterRootPort(i)
            return true
        }
        if mayAdvance && p.learn && !p.forward {
            // ROOT_FORWARD
            ports[i].portRoleTransitionsState = .rootForward
            ports[i].fdWhile = 0
            ports[i].forward = true
            enterRootPort(i)
            return true
        }
        return false
    }

    // MARK: 17.29.3 Designated Port role

    private mutating func enterDesignatedPort(_ i: Int) {
        ports[i].portRoleTransitionsState = .designatedPort
        setRole(i, .designated)
    }

    private mutating func designatedPortTransitions(_ i: Int) -> Bool {
        let p = ports[i]
        if !p.forward && !p.agreed && !p.proposing && !p.operEdge {
            // DESIGNATED_PROPOSE
            ports[i].portRoleTransitionsState = .designatedPropose
            ports[i].proposing = true
            ports[i].edgeDelayWhile = EdgeDelay(i)
            ports[i].newInfo = true
            enterDesignatedPort(i)
            return true
        }
        if (!p.learning && !p.forwarding && !p.synced) || (p.agreed && !p.synced)
            || (p.operEdge && !p.synced) || (p.sync && p.synced) {
            // DESIGNATED_SYNCED
            ports[i].portRoleTransitionsState = .designatedSynced
            ports[i].rrWhile = 0
            ports[i].synced = true
            ports[i].sync = false
            enterDesignatedPort(i)
            return true
        }
        if p.rrWhile == 0 && p.reRoot {
            // DESIGNATED_RETIRED
            ports[i].portRoleTransitionsState = .designatedRetired
            ports[i].reRoot = false
            enterDesignatedPort(i)
            return true
        }
        if ((p.sync && !p.synced) || (p.reRoot && p.rrWhile != 0) || p.disputed) && !p.operEdge
            && (p.learn || p.forward) {
            // DESIGNATED_DISCARD
            ports[i].portRoleTransitionsState = .designatedDiscard
            ports[i].learn = false
            ports[i].forward = false
            ports[i].disputed = false
            ports[i].fdWhile = p.forwardDelay
            enterDesignatedPort(i)
            return true
        }
        let mayAdvance = (p.fdWhile == 0 || p.agreed || p.operEdge) && (p.rrWhile == 0 || !p.reRoot) && !p.sync
        if mayAdvance && !p.learn {
            // DESIGNATED_LEARN
            ports[i].portRoleTransitionsState = .designatedLearn
            ports[i].learn = true
            ports[i].fdWhile = p.forwardDelay
            enterDesignatedPort(i)
            return true
        }
        if mayAdvance && p.learn && !p.forward {
            // DESIGNATED_FORWARD
            ports[i].portRoleTransitionsState = .designatedForward
            ports[i].forward = true
            ports[i].fdWhile = 0
            ports[i].agreed = p.sendRSTP
            enterDesignatedPort(i)
            return true
        }
        return false
    }

    // MARK: 17.29.4 Alternate and Backup Port roles

    private mutating func enterBlockPort(_ i: Int) {
        ports[i].portRoleTransitionsState = .blockPort
        setRole(i, ports[i].selectedRole)
        ports[i].learn = false
        ports[i].forward = false
    }

    private mutating func enterAlternatePort(_ i: Int) {
        ports[i].portRoleTransitionsState = .alternatePort
        ports[i].fdWhile = ports[i].forwardDelay
        ports[i].synced = true
        ports[i].rrWhile = 0
        ports[i].sync = false
        ports[i].reRoot = false
    }

    private mutating func alternatePortTransitions(_ i: Int) -> Bool {
        let p = ports[i]
        if p.proposed && !p.agree {
            // ALTERNATE_PROPOSED
            ports[i].portRoleTransitionsState = .alternateProposed
            setSyncTree()
            ports[i].proposed = false
            enterAlternatePort(i)
            return true
        }
        if (allSynced && !p.agree) || (p.proposed && p.agree) {
            // ALTERNATE_AGREED
            ports[i].portRoleTransitionsState = .alternateAgreed
            ports[i].proposed = false
            ports[i].agree = true
            ports[i].newInfo = true
            enterAlternatePort(i)
            return true
        }
        if p.role == .backup && p.rbWhile != 2 * p.HelloTime {
            // BACKUP_PORT
            ports[i].portRoleTransitionsState = .backupPort
            ports[i].rbWhile = 2 * p.HelloTime
            enterAlternatePort(i)
            return true
        }
        if p.fdWhile != p.forwardDelay || p.sync || p.reRoot || !p.synced {
            enterAlternatePort(i)
            return true
        }
        return false
    }
}
