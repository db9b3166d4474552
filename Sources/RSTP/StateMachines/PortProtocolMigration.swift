// 17.24 Port Protocol Migration state machine.
enum PortProtocolMigrationState: Sendable { case checkingRSTP, selectingSTP, sensing }

extension Bridge {
    mutating func portProtocolMigrationBegin(_ i: Int) { enterCheckingRSTP(i) }

    private mutating func enterCheckingRSTP(_ i: Int) {
        ports[i].portProtocolMigrationState = .checkingRSTP
        ports[i].mcheck = false
        ports[i].sendRSTP = rstpVersion
        ports[i].mdelayWhile = MigrateTime
    }

    private mutating func enterSelectingSTP(_ i: Int) {
        ports[i].portProtocolMigrationState = .selectingSTP
        ports[i].sendRSTP = false
        ports[i].mdelayWhile = MigrateTime
    }

    private mutating func enterSensing(_ i: Int) {
        ports[i].portProtocolMigrationState = .sensing
        ports[i].rcvdRSTP = false
        ports[i].rcvdSTP = false
    }

    mutating func portProtocolMigration(_ i: Int) -> Bool {
        let p = ports[i]
        switch p.portProtocolMigrationState {
        case .checkingRSTP:
            if p.mdelayWhile != MigrateTime && !p.portEnabled {
                enterCheckingRSTP(i)
                return true
            }
            if p.mdelayWhile == 0 {
                enterSensing(i)
                return true
            }
        case .selectingSTP:
            if p.mdelayWhile == 0 || !p.portEnabled || p.mcheck {
                enterSensing(i)
                return true
            }
        case .sensing:
            if !p.portEnabled || p.mcheck || (rstpVersion && !p.sendRSTP && p.rcvdRSTP) {
                enterCheckingRSTP(i)
                return true
            }
            if p.sendRSTP && p.rcvdSTP {
                enterSelectingSTP(i)
                return true
            }
        }
        return false
    }
}
