import Foundation
import Topology
import XCTest

/// The JSON Schemas of topology, scenario and matrix files: made from the loaders' own key tables, shipped
/// under schemas/ unchanged, accepting every shipped and generated file, and rejecting bad files the
/// loaders reject. The schema checks run Python's jsonschema (python3-jsonschema, python3-yaml), which
/// scripts/setup installs; without it these tests fail and say so.
final class SchemaTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func shippedSchema(_ kind: FileSchema.Kind) -> URL {
        Self.repository.appendingPathComponent("schemas").appendingPathComponent(kind.fileName)
    }

    // MARK: One source of truth

    func testTheShippedSchemasAreWhatTheTablesMake() throws {
        for kind in FileSchema.Kind.allCases {
            let shipped = try String(contentsOf: shippedSchema(kind), encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            let made = FileSchema.json(for: kind).split(separator: "\n", omittingEmptySubsequences: false)
            let differing = shipped.indices.first { $0 >= made.count || shipped[$0] != made[$0] }
            if let line = differing ?? (shipped.count < made.count ? shipped.count : nil) {
                XCTFail("schemas/\(kind.fileName) differs from the tables at line \(line + 1) (shipped: '\(shipped.indices.contains(line) ? shipped[line] : "")', "
                        + "made: '\(made.indices.contains(line) ? made[line] : "")'): run redlab schema \(kind.rawValue) > schemas/\(kind.fileName)")
            }
            XCTAssertEqual(FileSchema.json(for: kind), FileSchema.json(for: kind), "the output is not stable")
        }
    }

    /// `redlab schema KIND` prints the shipped file, byte for byte.
    func testTheSchemaCommandPrintsTheShippedSchemas() throws {
        // The test bundle runs from the build's products folder, beside the redlab executable.
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let redlab = [products, products.deletingLastPathComponent()].map { $0.appendingPathComponent("redlab").path }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let redlab else { return XCTFail("no redlab executable beside \(CommandLine.arguments[0]): build it with swift build") }
        for kind in FileSchema.Kind.allCases {
            let result = try run(redlab, ["schema", kind.rawValue])
            XCTAssertEqual(result.status, 0, result.output)
            XCTAssertEqual(result.output, try String(contentsOf: shippedSchema(kind), encoding: .utf8), "redlab schema \(kind.rawValue)")
        }
    }

    /// Every mapping a loader reads is a definition of the schema with exactly the loader's keys, and no
    /// other key: the loaders' known keys come from the same tables, so the walk covers every `keyed` read.
    func testEveryMappingOfTheTablesIsInTheSchemaWithExactlyItsKeys() throws {
        for kind in FileSchema.Kind.allCases {
            let schema = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(FileSchema.json(for: kind).utf8)) as? [String: Any])
            XCTAssertEqual(schema["$schema"] as? String, "https://json-schema.org/draft/2020-12/schema")
            let definitions = schema["$defs"] as? [String: Any] ?? [:]
            var specs: [String: MappingSpec] = [:]
            collect(kind.root, into: &specs)
            XCTAssertEqual(Set(definitions.keys), Set(specs.keys).subtracting([kind.root.name]), kind.rawValue)
            for (name, spec) in specs {
                let object = try XCTUnwrap(name == kind.root.name ? schema : definitions[name] as? [String: Any], name)
                let properties = try XCTUnwrap(object["properties"] as? [String: Any], name)
                XCTAssertEqual(Set(properties.keys), Set(spec.knownKeys), "\(kind.rawValue): \(name)")
                XCTAssertEqual(object["additionalProperties"] as? Bool, false, name)
                XCTAssertEqual(Set(object["required"] as? [String] ?? []), Set(spec.keys.filter(\.required).map(\.name)), name)
                for key in spec.keys {
                    XCTAssertFalse(key.description.isEmpty, "\(name).\(key.name) has no description")
                }
            }
        }
    }

    /// Every mapping reachable from `spec`; two different tables may not share a name (one `$defs` entry).
    func collect(_ spec: MappingSpec, into specs: inout [String: MappingSpec]) {
        if let earlier = specs[spec.name] {
            XCTAssertEqual(earlier.knownKeys, spec.knownKeys, "two tables named \(spec.name)")
            return
        }
        specs[spec.name] = spec
        func walk(_ shape: ValueShape) {
            switch shape {
            case .mapping(let nested): collect(nested, into: &specs)
            case .list(let item, _), .listOrOne(let item), .named(let item): walk(item)
            case .anyOf(let shapes): shapes.forEach(walk)
            case .text, .integer, .number, .boolean, .duration, .percentage, .rate: break
            }
        }
        spec.keys.forEach { walk($0.shape) }
    }

    /// The loader's unknown-key error lists the table's keys (the error users see, and the schema's properties).
    func testTheLoadersKnownKeysAreTheTables() {
        XCTAssertThrowsError(try TopologyLoader.parse(yaml: "nodes: {h: {kind: host, gatway: 10.0.0.1}}", file: "t.yaml")) { error in
            XCTAssertTrue("\(error)".contains("did you mean 'gateway'"), "\(error)")
            XCTAssertTrue("\(error)".contains("known: \(FileSchema.node.knownKeys.sorted().joined(separator: ", "))"), "\(error)")
        }
        XCTAssertThrowsError(try ExperimentLoader.parse(yaml: "desings: [cross]", file: "m.yaml")) { error in
            XCTAssertTrue("\(error)".contains("known: \(FileSchema.matrix.knownKeys.sorted().joined(separator: ", "))"), "\(error)")
        }
    }

    // MARK: Shipped and generated files

    func shippedFiles(_ folder: String) throws -> [URL] {
        let url = Self.repository.appendingPathComponent(folder)
        return try FileManager.default.contentsOfDirectory(atPath: url.path).filter { $0.hasSuffix(".yaml") }.sorted()
            .map { url.appendingPathComponent($0) }
    }

    func testEveryShippedFileNamesItsSchemaAndLoads() throws {
        let files: [(FileSchema.Kind, String)] = [(.topology, "topologies"), (.scenario, "scenarios"), (.matrix, "matrices")]
        for (kind, folder) in files {
            let urls = try shippedFiles(folder)
            XCTAssertFalse(urls.isEmpty, folder)
            for url in urls {
                let text = try String(contentsOf: url, encoding: .utf8)
                XCTAssertEqual(text.split(separator: "\n").first.map(String.init), kind.modeline, "\(folder)/\(url.lastPathComponent)")
                switch kind {
                case .topology: XCTAssertNoThrow(try TopologyLoader.load(path: url.path), url.path)
                case .scenario: XCTAssertNoThrow(try ScenarioLoader.load(path: url.path), url.path)
                case .matrix: XCTAssertNoThrow(try ExperimentLoader.load(path: url.path), url.path)
                }
            }
        }
        // The shipped matrix is the built-in quick one.
        XCTAssertEqual(try ExperimentLoader.load(path: Self.repository.appendingPathComponent("matrices/quick.yaml").path), .quick)
    }

    /// Generated topologies in every design and option the generator takes.
    func generatedTopologies() -> [(name: String, yaml: String)] {
        var result: [(name: String, yaml: String)] = []
        for design in TopologyGenerator.Design.allCases {
            for stp in SpanningTreeMode.allCases {
                for variant in 0..<4 {
                    var options = GeneratorOptions()
                    options.stp = stp
                    switch variant {
                    case 1: options.bondMonitor = .arp; options.vlans = []
                    case 2: options.noBond = true; options.vrrpVersion = 2; options.servers = 3; options.access = 3
                    case 3:
                        options.vrrpVersion = 0; options.advertIntervalMilliseconds = 100
                        options.interCoreImpairment = Impairment(delayMilliseconds: 5, jitterMilliseconds: 1, lossPercent: 0.5, rateBitsPerSecond: 100_000_000)
                    default: break
                    }
                    let header = "\(String(FileSchema.Kind.topology.modeline.dropFirst(2)))\nGenerated by a test"
                    result.append(("\(design.rawValue)-\(stp.rawValue)-\(variant).yaml",
                                   TopologyWriter.yaml(TopologyGenerator.generate(design, options), header: header)))
                }
            }
        }
        return result
    }

    func testEveryShippedAndGeneratedFileMatchesItsSchema() throws {
        let folder = try temporaryFolder()
        var topologies = try shippedFiles("topologies")
        for generated in generatedTopologies() {
            XCTAssertNoThrow(try TopologyLoader.parse(yaml: generated.yaml, file: generated.name), generated.name)
            let url = folder.appendingPathComponent(generated.name)
            try generated.yaml.write(to: url, atomically: true, encoding: .utf8)
            topologies.append(url)
        }
        // The valid files the bad ones below are made from.
        for (kind, yaml) in [(FileSchema.Kind.topology, Self.validTopology), (.scenario, Self.validScenario), (.matrix, Self.validMatrix)] {
            let url = folder.appendingPathComponent("valid-\(kind.rawValue).yaml")
            try yaml.write(to: url, atomically: true, encoding: .utf8)
            XCTAssertNoThrow(try load(kind, url), kind.rawValue)
            if kind == .topology { topologies.append(url) }
        }
        let files: [(FileSchema.Kind, [URL])] = [
            (.topology, topologies),
            (.scenario, try shippedFiles("scenarios") + [folder.appendingPathComponent("valid-scenario.yaml")]),
            (.matrix, try shippedFiles("matrices") + [folder.appendingPathComponent("valid-matrix.yaml")]),
        ]
        for (kind, urls) in files {
            let verdicts = try validate(kind, urls)
            for url in urls {
                XCTAssertEqual(verdicts[url.path].map { $0.hasPrefix("valid") }, true,
                               "\(url.lastPathComponent): \(verdicts[url.path] ?? "no verdict")")
            }
        }
    }

    // MARK: Bad files

    static let validTopology = """
        name: small
        nodes:
          sw1:
            kind: switch
            stp: rstp
            ports: {p1: {access: 10}, p2: {trunk: [10, 20], native: 30}}
          r1:
            kind: router
            svis: [{vlan: 10, address: 10.0.10.1/24}]
            vrrp: [{interface: vlan10, vrid: 10, virtual_address: 10.0.10.254}]
          h1:
            kind: host
            addresses: {eth0: 10.0.10.11/24}
            gateway: 10.0.10.254
        links:
          - [h1:eth0, sw1:p1]
          - {ends: [r1:s1, sw1:p2], state: up}
          - {ends: [r1:s2, sw1:p3], impair: {delay: 100ms, jitter: 10ms, loss: 1%, duplicate: 0.1, reorder: 5%, rate: 10mbit}}
        """

    static let validScenario = """
        lab: {generate: cross, stp: rstp}
        probe: {from: srv1, to: 10.0.20.100}
        capture: [client:eth0]
        timeline:
          - {at: 1s, link-down: srv1:eth0}
          - {at: 2s, degrade: core1:isl, impair: {loss: 1%}}
        pass: [recovered, outage < 200ms]
        """

    static let validMatrix = """
        name: m
        designs: [ladder, cross]
        stp: [kernel, rstp]
        faults: [server-nic-cut]
        trials: 3
        """

    /// Bad files: each the loader rejects, and so must the schema, at the place that is wrong.
    /// (kind, what is wrong, where the schema finds it as a JSON path, the file)
    static let badFiles: [(FileSchema.Kind, String, String, String)] = [
        (.topology, "unknown top-level key", "(top)", "nodes: {h: {kind: host}}\nlinkz: []"),
        (.topology, "missing nodes", "(top)", "name: x"),
        (.topology, "unknown node key", "nodes/h", "nodes: {h: {kind: host, gatway: 10.0.0.1}}"),
        (.topology, "bad node kind", "nodes/h/kind", "nodes: {h: {kind: server}}"),
        (.topology, "missing node kind", "nodes/h", "nodes: {h: {addresses: {eth0: 10.0.0.1/24}}}"),
        (.topology, "nodes is a list", "nodes", "nodes: [h1, h2]"),
        (.topology, "priority is not a number", "nodes/s/stp/priority", "nodes: {s: {kind: switch, stp: {mode: rstp, priority: high}}}"),
        (.topology, "bad stp mode", "nodes/s/stp", "nodes: {s: {kind: switch, stp: rsttp}}"),
        (.topology, "unknown port key", "nodes/s/ports/p1", "nodes: {s: {kind: switch, ports: {p1: {acces: 10}}}}"),
        (.topology, "access and trunk together", "nodes/s/ports/p1", "nodes: {s: {kind: switch, ports: {p1: {access: 10, trunk: [20]}}}}"),
        (.topology, "native without a trunk", "nodes/s/ports/p1", "nodes: {s: {kind: switch, ports: {p1: {native: 20}}}}"),
        (.topology, "edge is not a boolean", "nodes/s/ports/p1/edge", "nodes: {s: {kind: switch, ports: {p1: {edge: maybe}}}}"),
        (.topology, "bond without mode", "nodes/h/bonds/bond0", "nodes: {h: {kind: host, bonds: {bond0: {members: [eth0, eth1]}}}}"),
        (.topology, "bad bond mode", "nodes/h/bonds/bond0/mode", "nodes: {h: {kind: host, bonds: {bond0: {mode: active-backupp, members: [eth0]}}}}"),
        (.topology, "bad lacp rate", "nodes/h/bonds/bond0/lacp_rate", "nodes: {h: {kind: host, bonds: {bond0: {mode: 802.3ad, members: [eth0], lacp_rate: medium}}}}"),
        (.topology, "storm control without broadcast", "nodes/s/ports/p1/storm_control", "nodes: {s: {kind: switch, ports: {p1: {storm_control: {action: limit}}}}}"),
        (.topology, "bad storm control action", "nodes/s/ports/p1/storm_control/action", "nodes: {s: {kind: switch, ports: {p1: {storm_control: {broadcast: 500, action: drop}}}}}"),
        (.topology, "bad cable state", "links/0/state", "nodes: {a: {kind: host}, b: {kind: host}}\nlinks: [{ends: [a:e0, b:e0], state: sideways}]"),
        (.topology, "a cable with three ends", "links/0", "nodes: {a: {kind: host}, b: {kind: host}}\nlinks: [[a:e0, b:e0, a:e1]]"),
        (.topology, "a cable end without a port", "links/0/0", "nodes: {a: {kind: host}, b: {kind: host}}\nlinks: [[a, b:e0]]"),
        (.topology, "SVI without address", "nodes/r/svis/0", "nodes: {r: {kind: router, svis: [{vlan: 10}]}}"),
        (.topology, "route without via", "nodes/h/routes/0", "nodes: {h: {kind: host, routes: [{to: default}]}}"),
        (.topology, "gateway not an address", "nodes/h/gateway", "nodes: {h: {kind: host, gateway: router1}}"),
        (.topology, "address without prefix", "nodes/h/addresses/eth0", "nodes: {h: {kind: host, addresses: {eth0: 10.0.0.1}}}"),
        (.topology, "VRID out of range", "nodes/r/vrrp/0/vrid", "nodes: {r: {kind: router, vrrp: [{interface: br0, vrid: 300, virtual_address: 10.0.0.1}]}}"),
        (.topology, "VRRP group without virtual address", "nodes/r/vrrp/0", "nodes: {r: {kind: router, vrrp: [{interface: br0, vrid: 1}]}}"),
        (.topology, "VRRP group without interface", "nodes/r/vrrp/0", "nodes: {r: {kind: router, vrrp: [{vrid: 1, virtual_address: 10.0.0.1}]}}"),
        (.topology, "unknown VRRP daemon key", "nodes/r/vrrp", "nodes: {r: {kind: router, vrrp: {groups: [], notfy: x}}}"),
        (.topology, "bad VRRP checksum", "nodes/r/vrrp/0/checksum", "nodes: {r: {kind: router, vrrp: [{interface: br0, vrid: 1, virtual_address: 10.0.0.1, checksum: crc}]}}"),
        (.topology, "trap receiver without port", "monitoring/snmp_traps/0/receiver", "monitoring: {snmp_traps: [{receiver: 192.0.2.10}]}\nnodes: {h: {kind: host}}"),
        (.topology, "storm guard threshold not a number", "storm_guard/broadcast", "storm_guard: {broadcast: lots}\nnodes: {h: {kind: host}}"),
        (.topology, "host without underlay", "hosts/m1", "hosts: {m1: {interface: eth0}}\nnodes: {h: {kind: host, host: m1}}"),
        (.topology, "loss not a percentage", "links/0/impair/loss", "nodes: {a: {kind: host}, b: {kind: host}}\nlinks: [{ends: [a:e0, b:e0], impair: {loss: lots}}]"),
        (.topology, "unknown impairment key", "links/0/impair", "nodes: {a: {kind: host}, b: {kind: host}}\nlinks: [{ends: [a:e0, b:e0], impair: {latency: 5ms}}]"),
        (.topology, "an impairment of nothing", "links/0/impair", "nodes: {a: {kind: host}, b: {kind: host}}\nlinks: [{ends: [a:e0, b:e0], impair: {}}]"),
        (.topology, "a rate without unit words", "links/0/impair/rate", "nodes: {a: {kind: host}, b: {kind: host}}\nlinks: [{ends: [a:e0, b:e0], impair: {rate: fast}}]"),
        (.topology, "loss over 100%", "links/0/impair/loss", "nodes: {a: {kind: host}, b: {kind: host}}\nlinks: [{ends: [a:e0, b:e0], impair: {loss: 150}}]"),
        (.scenario, "unknown key", "(top)", validScenario + "\ntrails: 3"),
        (.scenario, "missing lab", "(top)", "probe: {from: a, to: 10.0.0.1}\ncapture: [b:eth0]\ntimeline: [{at: 1s, crash: a}]"),
        (.scenario, "bad generated design", "lab/generate", validScenario.replacingOccurrences(of: "generate: cross", with: "generate: star")),
        (.scenario, "unknown lab key", "lab", validScenario.replacingOccurrences(of: "stp: rstp", with: "spanning_tree: rstp")),
        (.scenario, "a step with two actions", "timeline/0", validScenario.replacingOccurrences(of: "link-down: srv1:eth0", with: "link-down: srv1:eth0, crash: core1")),
        (.scenario, "a step without a time", "timeline/0", validScenario.replacingOccurrences(of: "at: 1s, ", with: "")),
        (.scenario, "a step without an action", "timeline/0", validScenario.replacingOccurrences(of: ", link-down: srv1:eth0", with: "")),
        (.scenario, "bad blackhole direction", "timeline/0/direction", validScenario.replacingOccurrences(of: "link-down: srv1:eth0", with: "blackhole: acc1:s1, direction: sideways")),
        (.scenario, "bad duration", "duration", validScenario + "\nduration: 4 minutes"),
        (.scenario, "trials out of range", "trials", validScenario + "\ntrials: 0"),
        (.scenario, "bad criterion", "pass/1", validScenario.replacingOccurrences(of: "outage < 200ms", with: "outage < soon")),
        (.scenario, "probe without to", "probe", validScenario.replacingOccurrences(of: ", to: 10.0.20.100", with: "")),
        (.scenario, "probe rate out of range", "probe/rate", validScenario.replacingOccurrences(of: "to: 10.0.20.100", with: "to: 10.0.20.100, rate: 5")),
        (.scenario, "probe kind not udp", "probe/kind", validScenario.replacingOccurrences(of: "to: 10.0.20.100", with: "to: 10.0.20.100, kind: icmp")),
        (.scenario, "no probe without a storm", "(top)", validScenario.replacingOccurrences(of: "probe: {from: srv1, to: 10.0.20.100}\n", with: "")),
        (.scenario, "storm without loop", "storm", "lab: ../topologies/storm.yaml\nstorm: {seconds: 2s}"),
        (.matrix, "unknown key", "(top)", validMatrix + "\ndesings: [cross]"),
        (.matrix, "bad fault", "faults/0", validMatrix.replacingOccurrences(of: "server-nic-cut", with: "server-nic-cutt")),
        (.matrix, "bad spanning tree", "stp/1", validMatrix.replacingOccurrences(of: "[kernel, rstp]", with: "[kernel, mstp]")),
        (.matrix, "trials out of range", "trials", validMatrix.replacingOccurrences(of: "trials: 3", with: "trials: 0")),
        (.matrix, "bad stp_timers", "stp_timers", validMatrix + "\nstp_timers: slow"),
        (.matrix, "VLAN 1", "vlans/0", validMatrix + "\nvlans: [1, 20]"),
        (.matrix, "probe rate not a number", "probe_rate", validMatrix + "\nprobe_rate: fast"),
        (.matrix, "unknown configuration key", "configurations/0", validMatrix + "\nconfigurations: [{design: cross, stp: rstp, monitor: mii}]"),
        (.matrix, "storm not a boolean", "storm", validMatrix + "\nstorm: sometimes"),
        (.matrix, "loss not a percentage", "loss/1", validMatrix + "\nloss: [0%, some]"),
        (.matrix, "ipv6 not a boolean", "ipv6/1", validMatrix + "\nipv6: [false, maybe]"),
    ]

    func testBadFilesTheLoaderRejectsTheSchemaRejectsToo() throws {
        XCTAssertGreaterThanOrEqual(Self.badFiles.count, 20)
        let folder = try temporaryFolder()
        var urls: [FileSchema.Kind: [URL]] = [:]
        var names: [String: String] = [:]
        var places: [String: String] = [:]
        for (index, (kind, what, place, yaml)) in Self.badFiles.enumerated() {
            let url = folder.appendingPathComponent("bad-\(index).yaml")
            try yaml.write(to: url, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try load(kind, url), "the loader takes a \(kind.rawValue) file with \(what)")
            urls[kind, default: []].append(url)
            names[url.path] = "\(kind.rawValue) file with \(what)"
            places[url.path] = place
        }
        for (kind, files) in urls {
            let verdicts = try validate(kind, files)
            for url in files {
                let verdict = verdicts[url.path] ?? "no verdict"
                XCTAssertTrue(verdict.hasPrefix("invalid") && verdict.hasSuffix(" at \(places[url.path] ?? "?")"),
                              "the schema takes a \(names[url.path] ?? url.path), or finds it elsewhere: \(verdict)")
            }
        }
    }

    /// Files the loaders accept, made by the loader fuzzer's mutations of valid files: the schema must accept
    /// them too (it is no stricter than the loaders). PyYAML reads YAML 1.1 and refuses a few texts libyaml
    /// takes (a tab where a token starts); those are counted apart, and must stay a few.
    func testFilesTheLoadersAcceptTheSchemaAccepts() throws {
        let fuzzer = LoaderFuzzTests(name: "fuzz", testClosure: { _ in })
        let folder = try temporaryFolder()
        let bases: [(FileSchema.Kind, String)] = [(.topology, Self.validTopology), (.scenario, ScenarioTests.valid), (.matrix, Self.validMatrix)]
        for (kind, base) in bases {
            var accepted: [String] = []
            _ = try fuzzer.fuzz(kind.rawValue, base: base, seed: 0x5c4e, iterations: 600) { text, file in
                try load(kind, text: text, file: file)
                accepted.append(text)
            }
            let urls = try accepted.enumerated().map { index, text in
                let url = folder.appendingPathComponent("accepted-\(kind.rawValue)-\(index).yaml")
                try text.write(to: url, atomically: true, encoding: .utf8)
                return url
            }
            let verdicts = try validate(kind, urls)
            var unreadable = 0
            for url in urls {
                let verdict = verdicts[url.path] ?? "no verdict"
                if verdict.hasPrefix("invalid \(url.path): cannot read") { unreadable += 1; continue }
                XCTAssertTrue(verdict.hasPrefix("valid"), "the loader takes it, the schema does not: \(verdict)\n\((try? String(contentsOf: url, encoding: .utf8)) ?? "")")
            }
            XCTAssertGreaterThan(urls.count, 10, kind.rawValue)
            XCTAssertLessThanOrEqual(unreadable, urls.count / 10, "\(kind.rawValue): PyYAML cannot read \(unreadable) of \(urls.count)")
        }
    }

    // MARK: Helpers

    func load(_ kind: FileSchema.Kind, text: String, file: String) throws {
        switch kind {
        case .topology: _ = try TopologyLoader.parse(yaml: text, file: file)
        case .scenario: _ = try ScenarioLoader.parse(yaml: text, file: file)
        case .matrix: _ = try ExperimentLoader.parse(yaml: text, file: file)
        }
    }

    func load(_ kind: FileSchema.Kind, _ url: URL) throws {
        switch kind {
        case .topology: _ = try TopologyLoader.load(path: url.path)
        case .scenario: _ = try ScenarioLoader.load(path: url.path)
        case .matrix: _ = try ExperimentLoader.load(path: url.path)
        }
    }

    func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("redlab-schema-\(getpid())-\(name.filter(\.isLetter))")
        try? FileManager.default.removeItem(at: url)  // a folder left by an earlier run of the same process id
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }  // best effort: a temporary folder
        return url
    }

    /// scripts/validate-schema's verdict per file ("valid PATH" or "invalid PATH: why"), by path.
    func validate(_ kind: FileSchema.Kind, _ files: [URL]) throws -> [String: String] {
        let script = Self.repository.appendingPathComponent("scripts/validate-schema").path
        let result = try run("/usr/bin/env", ["python3", script, shippedSchema(kind).path] + files.map(\.path))
        guard result.status == 0 || result.status == 1 else {
            XCTFail("scripts/validate-schema could not run (exit \(result.status)): \(result.output) "
                    + "- python3 with python3-yaml and python3-jsonschema is needed; scripts/setup installs them")
            return [:]
        }
        var verdicts: [String: String] = [:]
        for line in result.output.split(separator: "\n").map(String.init) {
            for url in files where line == "valid \(url.path)" || line.hasPrefix("invalid \(url.path):") { verdicts[url.path] = line }
        }
        return verdicts
    }

    /// Runs a program to its end; its standard error joins its output (one pipe, read to its end, cannot stall it).
    func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
