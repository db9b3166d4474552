// 17.28 Port Role Selection state machine.
enum PortRoleSelectionState: Sendable { case initBridge, roleSelection }

extension Bridge {
    mutating func portRoleSelectionBegin() {
        portRoleSelectionState = .initBridge
        updtRoleDisabledTree()
        enterRoleSelection()
    }

    private mutating func enterRoleSelection() {
        portRoleSelectionState = .roleSelection
        clearReselectTree()
        updtRolesTree()
        setSelectedTree()
    }

    mutating func portRoleSelection() -> Bool {
        guard ports.contains(where: \.reselect) else { return false }
        enterRoleSelection()
        return true
    }
}
