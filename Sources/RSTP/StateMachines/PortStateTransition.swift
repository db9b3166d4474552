// 17.30 Port State Transition state machine.
enum PortStateTransitionState: Sendable { case discarding, learning, forwarding }

extension Bridge {
    mutating func portStateTransitionBegin(_ i: Int) { enterDiscarding(i) }

    private mutating func enterDiscarding(_ i: Int) {
        ports[i].portStateTransitionState = .discarding
        disableLearning(i)
        ports[i].learning = false
        disableForwarding(i)
        ports[i].forwarding = false
    }

    mutating func portStateTransition(_ i: Int) -> Bool {
        let p = ports[i]
        switch p.portStateTransitionState {
        case .discarding:
            if p.learn {
                ports[i].portStateTransitionState = .learning
                enableLearning(i)
                ports[i].learning = true
                return true
            }
        case .learning:
            if !p.learn {
                enterDiscarding(i)
                return true
            }
            if p.forward {
                ports[i].portStateTransitionState = .forwarding
                enableForwarding(i)
                ports[i].forwarding = true
                return true
            }
        case .forwarding:
            if !p.forward {
                enterDiscarding(i)
                return true
            }
        }
        return false
    }
}
