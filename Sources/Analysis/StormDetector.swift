/// One port's broadcast-storm alarm.
public struct PortStormAlarm: Sendable, Hashable, Codable {
    public var port: String
    /// Start of the first window of the run that led to the alarm (ns since the epoch).
    public var onset: Int64
    /// Timestamp of the frame that raised the alarm.
    public var alarmTime: Int64
    /// The alarm came from a run of growing windows.
    public var growing: Bool
    /// The alarm came from a byte-identical frame repeating within one window.
    public var repeatedFrame: Bool
    /// The highest broadcast+multicast rate in any window from the onset on.
    public var peakRatePerSecond: Double
    /// Frames, from the onset window on, that were byte-identical copies of a frame already seen on the
    /// port in the same window.
    public var repeatedFrameCount: Int

    public init(port: String, onset: Int64, alarmTime: Int64, growing: Bool, repeatedFrame: Bool,
                peakRatePerSecond: Double, repeatedFrameCount: Int) {
        self.port = port
        self.onset = onset
        self.alarmTime = alarmTime
        self.growing = growing
        self.repeatedFrame = repeatedFrame
        self.peakRatePerSecond = peakRatePerSecond
        self.repeatedFrameCount = repeatedFrameCount
    }
}

/// A broadcast storm: what the alarmed ports saw, taken together.
public struct StormReport: Sendable, Hashable, Codable {
    /// The earliest onset over the alarmed ports.
    public var onset: Int64
    /// The first alarm.
    public var alarmTime: Int64
    /// The highest window rate on any alarmed port from its onset on.
    public var peakRatePerSecond: Double
    /// The alarmed ports, by name.
    public var ports: [String]
    /// Repeated frames summed over the alarmed ports.
    public var repeatedFrameCount: Int
    /// Each port's alarm, by alarm time.
    public var portAlarms: [PortStormAlarm]

    public init(onset: Int64, alarmTime: Int64, peakRatePerSecond: Double, ports: [String], repeatedFrameCount: Int,
                portAlarms: [PortStormAlarm]) {
        self.onset = onset
        self.alarmTime = alarmTime
        self.peakRatePerSecond = peakRatePerSecond
        self.ports = ports
        self.repeatedFrameCount = repeatedFrameCount
        self.portAlarms = portAlarms
    }
}

/// Finds broadcast storms in a stream of captured frames, one frame at a time, with memory bounded by the
/// number of ports and `maximumTrackedFramesPerWindow`.
///
/// Per port, broadcast and multicast frames (destination group bit set) are counted in fixed windows
/// aligned to multiples of `windowNanoseconds` since the epoch. A port alarms, at the frame that makes it
/// true, when
///
/// - the window's broadcast+multicast rate (count ÷ window length) is above `thresholdFramesPerSecond`, and
/// - either **growth**: this window and the `growthWindows − 1` windows before it each hold more such frames
///   than the window before them (an empty window counts 0), or **repetition**: one byte-identical frame has
///   been seen `repeatCount` more times after its first copy in this window (a looping frame comes back
///   unchanged).
///
/// The onset is the start of the first window of the run that led to the alarm: the first window of the
/// streak of growing windows, or the first of the consecutive windows in which some frame repeated. When
/// both hold, the earlier. Each port alarms once; after that its peak rate and repeats keep accumulating.
///
/// Ports are independent, so frames need to come in time order within each port only: one capture file
/// after another works as well as a merged stream. A frame older than its port's current window is counted
/// in that window. Frames are identified by a 64-bit hash of all their bytes.
public struct StormDetector: Sendable {
    public struct Configuration: Sendable, Hashable, Codable {
        public var windowNanoseconds: Int64
        public var thresholdFramesPerSecond: Double
        public var growthWindows: Int
        public var repeatCount: Int
        /// Distinct frames remembered per port per window; frames beyond this are counted but not checked
        /// for repetition.
        public var maximumTrackedFramesPerWindow: Int

        public init(windowNanoseconds: Int64 = 10_000_000, thresholdFramesPerSecond: Double = 2_000,
                    growthWindows: Int = 3, repeatCount: Int = 3, maximumTrackedFramesPerWindow: Int = 4_096) {
            self.windowNanoseconds = max(1, windowNanoseconds)
            self.thresholdFramesPerSecond = thresholdFramesPerSecond
            self.growthWindows = max(1, growthWindows)
            self.repeatCount = max(1, repeatCount)
            self.maximumTrackedFramesPerWindow = max(0, maximumTrackedFramesPerWindow)
        }
    }

    public let configuration: Configuration
    /// Alarms raised so far, in the order they were raised.
    public private(set) var alarms: [PortStormAlarm] = []

    private var ports: [PortState] = []
    private var portIndexByName: [String: Int] = [:]
    private var lastPortName: String?
    private var lastPortIndex = 0

    public init(configuration: Configuration = Configuration()) {
        // Through the clamping initializer again: the fields are settable and decodable.
        self.configuration = Configuration(
            windowNanoseconds: configuration.windowNanoseconds,
            thresholdFramesPerSecond: configuration.thresholdFramesPerSecond,
            growthWindows: configuration.growthWindows, repeatCount: configuration.repeatCount,
            maximumTrackedFramesPerWindow: configuration.maximumTrackedFramesPerWindow)
    }

    /// The storm so far, or nil while no port has alarmed.
    public var report: StormReport? {
        let inTimeOrder = alarms.sorted { ($0.alarmTime, $0.port) < ($1.alarmTime, $1.port) }
        guard let first = inTimeOrder.first else { return nil }
        return StormReport(
            onset: inTimeOrder.map(\.onset).min() ?? first.onset,
            alarmTime: first.alarmTime,
            peakRatePerSecond: inTimeOrder.map(\.peakRatePerSecond).max() ?? first.peakRatePerSecond,
            ports: inTimeOrder.map(\.port).sorted(),
            repeatedFrameCount: inTimeOrder.reduce(0) { $0 + $1.repeatedFrameCount },
            portAlarms: inTimeOrder)
    }

    public mutating func add(_ record: PcapRecord, port: String) {
        add(timestampNanoseconds: record.timestampNanoseconds, port: port, frame: record.data)
    }

    public mutating func add(timestampNanoseconds timestamp: Int64, port: String, frame: [UInt8]) {
        guard FrameFields.isBroadcastOrMulticast(frame) else { return }
        let index = portIndex(for: port)
        let window = Self.floorDivide(timestamp, by: configuration.windowNanoseconds)
        if let current = ports[index].window {
            if window > current { ports[index].moveTo(window: window) }
        } else {
            ports[index].window = window
        }
        var hasher = Hasher()
        frame.withUnsafeBytes { hasher.combine(bytes: $0) }
        let copies = ports[index].count(frameHash: hasher.finalize(),
                                        limit: configuration.maximumTrackedFramesPerWindow)
        if let alarmIndex = ports[index].alarmIndex {
            if copies > 1 { alarms[alarmIndex].repeatedFrameCount += 1 }
            let windowRate = rate(ofCount: ports[index].count)
            if windowRate > alarms[alarmIndex].peakRatePerSecond { alarms[alarmIndex].peakRatePerSecond = windowRate }
        } else {
            checkForAlarm(portAt: index, timestamp: timestamp)
        }
    }

    private func rate(ofCount count: Int) -> Double {
        Double(count) * 1e9 / Double(configuration.windowNanoseconds)
    }

    private mutating func portIndex(for name: String) -> Int {
        if name == lastPortName { return lastPortIndex }
        let index: Int
        if let known = portIndexByName[name] {
            index = known
        } else {
            index = ports.count
            ports.append(PortState(name: name))
            portIndexByName[name] = index
        }
        lastPortName = name
        lastPortIndex = index
        return index
    }

    private mutating func checkForAlarm(portAt index: Int, timestamp: Int64) {
        let state = ports[index]
        guard let window = state.window, rate(ofCount: state.count) > configuration.thresholdFramesPerSecond
        else { return }

        var growthRun: Run?
        if state.currentWindowGrows {
            let streak = state.growthRunBefore.map { $0.including(state) } ?? Run(starting: window, with: state)
            if streak.length >= configuration.growthWindows { growthRun = streak }
        }
        var repeatRun: Run?
        if state.mostCopiesOfOneFrame > configuration.repeatCount {
            repeatRun = state.repeatRunBefore.map { $0.including(state) } ?? Run(starting: window, with: state)
        }
        guard let run = [growthRun, repeatRun].compactMap({ $0 }).min(by: { $0.startWindow < $1.startWindow })
        else { return }

        ports[index].alarmIndex = alarms.count
        alarms.append(PortStormAlarm(
            port: state.name,
            onset: run.startWindow.multipliedReportingOverflow(by: configuration.windowNanoseconds).partialValue,
            alarmTime: timestamp, growing: growthRun != nil, repeatedFrame: repeatRun != nil,
            peakRatePerSecond: rate(ofCount: run.peakCount), repeatedFrameCount: run.repeatedFrames))
    }

    static func floorDivide(_ value: Int64, by divisor: Int64) -> Int64 {
        let (quotient, remainder) = value.quotientAndRemainder(dividingBy: divisor)
        return remainder < 0 ? quotient - 1 : quotient
    }
}

/// Consecutive windows of one port that share a property (growing, or holding a repeated frame).
private struct Run: Sendable {
    var startWindow: Int64
    var length: Int
    var peakCount: Int
    var repeatedFrames: Int

    init(starting window: Int64, with state: PortState) {
        startWindow = window
        length = 1
        peakCount = state.count
        repeatedFrames = state.repeatedFramesInWindow
    }

    /// This run (of closed windows) extended by the port's current window.
    func including(_ state: PortState) -> Run {
        var run = self
        run.length += 1
        run.peakCount = max(peakCount, state.count)
        run.repeatedFrames += state.repeatedFramesInWindow
        return run
    }
}

private struct PortState: Sendable {
    let name: String
    /// The current window's index (time ÷ window length); nil before the first frame.
    var window: Int64?
    /// Broadcast and multicast frames in the current window.
    var count = 0
    /// Such frames in the window just before the current one (0 when it was empty).
    var previousCount = 0
    /// Copies beyond the first of byte-identical frames in the current window.
    var repeatedFramesInWindow = 0
    var mostCopiesOfOneFrame = 0
    var copiesByFrameHash: [Int: Int] = [:]
    /// The streak of growing windows that ended with the window before the current one.
    var growthRunBefore: Run?
    /// The run of windows with a repeated frame that ended with the window before the current one.
    var repeatRunBefore: Run?
    var alarmIndex: Int?

    mutating func moveTo(window newWindow: Int64) {
        guard let current = window else {
            window = newWindow
            return
        }
        growthRunBefore = currentWindowGrows
            ? growthRunBefore.map { $0.including(self) } ?? Run(starting: current, with: self) : nil
        repeatRunBefore = repeatedFramesInWindow > 0
            ? repeatRunBefore.map { $0.including(self) } ?? Run(starting: current, with: self) : nil
        if newWindow.saturatingSubtracting(current) == 1 {
            previousCount = count
        } else {
            // An empty window in between neither grew nor repeated anything.
            previousCount = 0
            growthRunBefore = nil
            repeatRunBefore = nil
        }
        window = newWindow
        count = 0
        repeatedFramesInWindow = 0
        mostCopiesOfOneFrame = 0
        copiesByFrameHash.removeAll(keepingCapacity: true)
    }

    init(name: String) { self.name = name }

    /// The current window holds more broadcast and multicast frames than the one before it.
    var currentWindowGrows: Bool { count > previousCount }

    /// Counts one broadcast or multicast frame in the current window; returns how many copies of it the
    /// window has now (1 for a first sighting, or for a frame beyond the tracking limit).
    mutating func count(frameHash: Int, limit: Int) -> Int {
        count += 1
        var copies = 1
        if let seen = copiesByFrameHash[frameHash] {
            copies = seen + 1
            copiesByFrameHash[frameHash] = copies
        } else if copiesByFrameHash.count < limit {
            copiesByFrameHash[frameHash] = 1
        }
        if copies > 1 { repeatedFramesInWindow += 1 }
        mostCopiesOfOneFrame = max(mostCopiesOfOneFrame, copies)
        return copies
    }
}
