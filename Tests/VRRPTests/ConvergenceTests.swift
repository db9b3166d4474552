import Packets
import TestSupport
import XCTest
@testable import VRRP

/// Random disruption on many small LANs: whatever happened, once every router is running and
/// adverts flow again, the LAN settles on exactly one master with the highest priority.
final class ConvergenceTests: XCTestCase {
    func testRandomDisruptionsConvergeOnTheHighestPriority() throws {
        var random = SeededGenerator(seed: 0x00c0_ffee)
        for round in 0..<150 {
            let lan = SimulatedLAN()
            lan.latency = .microseconds(Int64.random(in: 0...2000, using: &random))
            let names = (0..<Int.random(in: 2...5, using: &random)).map { "R\($0)" }
            for (index, name) in names.enumerated() {
                let priority = UInt8.random(in: 1...255, using: &random)
                let interval = UInt16([50, 100, 100, 200].randomElement(using: &random) ?? 100)
                try lan.add(name, makeConfig(UInt8(index + 1), priority: priority, interval: interval,
                                             tracked: [TrackedInterface(name: "up", weight: Int.random(in: 1...100, using: &random))]))
                lan.start(name)
                lan.run(for: .milliseconds(Int64.random(in: 0...3000, using: &random)))
            }
            var running = Set(names)
            for _ in 0..<Int.random(in: 0...12, using: &random) {
                guard let name = names.randomElement(using: &random) else { continue }
                switch Int.random(in: 0..<6, using: &random) {
                case 0: lan.isolated.insert(name)
                case 1: lan.isolated.remove(name)
                case 2: lan.deliver(.shutdown, to: name); running.remove(name)
                case 3: lan.deliver(.startup, to: name); running.insert(name)
                case 4: lan.deliver(.interfaceDown("up"), to: name)
                default: lan.deliver(.interfaceUp("up"), to: name)
                }
                lan.run(for: .milliseconds(Int64.random(in: 0...8000, using: &random)))
            }
            // Heal: everyone running and connected; priorities as they now are.
            lan.isolated = []
            for name in names where !running.contains(name) { lan.deliver(.startup, to: name) }
            lan.run(for: .seconds(40))

            let masters = names.filter { lan.state($0) == .master }
            let best = names.map { lan.router($0).priority }.max()
            XCTAssertEqual(masters.count, 1, "round \(round): masters \(masters)\n\(lan.transitions.suffix(12))")
            if let master = masters.first {
                XCTAssertEqual(lan.router(master).priority, best, "round \(round)")
            }
            XCTAssertTrue(names.allSatisfy { [.master, .backup].contains(lan.state($0)) }, "round \(round)")
        }
    }
}
