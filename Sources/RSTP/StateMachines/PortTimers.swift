// 17.22 Port Timers state machine: on each tick, every running per-port timer counts down one second.
extension Bridge {
    mutating func portTimersTick(_ i: Int) {
        func dec(_ t: inout Int) { if t > 0 { t -= 1 } }
        dec(&ports[i].helloWhen)
        dec(&ports[i].tcWhile)
        dec(&ports[i].fdWhile)
        dec(&ports[i].rcvdInfoWhile)
        dec(&ports[i].rrWhile)
        dec(&ports[i].rbWhile)
        dec(&ports[i].mdelayWhile)
        dec(&ports[i].edgeDelayWhile)
        dec(&ports[i].txCount)
    }
}
