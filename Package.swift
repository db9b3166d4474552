// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "redlab",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "redlab", targets: ["redlab"]),
        .executable(name: "redlabd", targets: ["redlabd"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // C libraries, through pkg-config. Only Kernel and Capture import these.
        .systemLibrary(name: "CNetlink", pkgConfig: "libnl-route-3.0",
                       providers: [.apt(["libnl-3-dev", "libnl-route-3-dev"])]),
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),
        .systemLibrary(name: "CNftables", pkgConfig: "libnftables", providers: [.apt(["libnftables-dev"])]),

        // Pure value code: no C pointers, no clock, no sockets.
        .target(name: "Packets"),
        .target(name: "VRRP", dependencies: ["Packets"]),
        .target(name: "RSTP", dependencies: ["Packets"]),
        .target(name: "Topology", dependencies: ["Packets", "VRRP", .product(name: "Yams", package: "Yams")]),
        .target(name: "Analysis", dependencies: ["Packets"]),
        .target(name: "Report", dependencies: ["Analysis"]),

        // The only code that holds C pointers.
        .target(name: "Kernel", dependencies: ["CNetlink", "CNftables", "Packets", .product(name: "Logging", package: "swift-log")]),
        .target(name: "Capture", dependencies: ["CPcap", "Kernel", "Analysis"]),

        // Orchestration and the CLI. Data moves one way: LabBase <- Daemons <- Lab <- Experiments <- redlab.
        // What a lab keeps under /run/redlab (record, journal, event log, status files) and its kernel names.
        .target(name: "LabBase", dependencies: ["Topology", "Analysis", "Kernel", "NodeDaemon"]),
        // What a node's own daemon processes need (rstpd, vrrpd), without Foundation or Yams: the small `redlabd`.
        .target(name: "NodeDaemon", dependencies: ["Kernel", "Packets", "RSTP", "VRRP"]),
        // vrrpd, rstpd, storm control, the storm guard and the notifier, with their status types.
        .target(name: "Daemons", dependencies: ["LabBase", "NodeDaemon", "Analysis", "Topology", "Kernel", "Packets", "VRRP", "RSTP"]),
        // Building and removing labs, status, verification, convergence, faults, starting the daemons.
        .target(name: "Lab", dependencies: [
            "LabBase", "Daemons", "NodeDaemon", "Analysis", "Topology", "Kernel", "Packets",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Probes, trials, scenarios, the experiment matrix, calibration, storms, captures.
        .target(name: "Experiments", dependencies: [
            "Lab", "LabBase", "Topology", "Kernel", "Capture", "Packets", "Analysis",
        ]),
        .executableTarget(name: "redlab", dependencies: [
            "Lab", "LabBase", "Daemons", "Experiments", "Report", "Analysis", "Topology", "Kernel", "Packets",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // Statically linked (Swift runtime inside): a node's daemon maps one small image, not the toolchain's libraries.
        // Not position-independent: its pointers are fixed at link time, so no daemon relocates (and so copies)
        // the image's pointer tables when it starts.
        .executableTarget(name: "redlabd", dependencies: ["NodeDaemon", "Kernel"],
                          linkerSettings: [.unsafeFlags(["-static-stdlib", "-Xclang-linker", "-no-pie"])]),

        // What the test targets share: the seeded generator, waitUntil, the VRRP tests' lab.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "PacketsTests", dependencies: ["Packets", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "VRRPTests", dependencies: ["VRRP", "Packets", "TestSupport"]),
        .testTarget(name: "RSTPTests", dependencies: ["RSTP", "Packets", "TestSupport"]),
        .testTarget(name: "TopologyTests", dependencies: ["Topology", "Packets", "TestSupport", .product(name: "Yams", package: "Yams")]),
        .testTarget(name: "AnalysisTests", dependencies: ["Analysis", "Packets"]),
        .testTarget(name: "KernelTests", dependencies: ["Kernel"]),
        .testTarget(name: "CaptureTests", dependencies: ["Capture", "Analysis", "Kernel", "Packets"]),
        .testTarget(name: "LabTests", dependencies: [
            "Lab", "LabBase", "Daemons", "NodeDaemon", "Experiments", "Topology", "Kernel", "Analysis", "Packets", "VRRP", "RSTP",
            "TestSupport",
        ]),
        .testTarget(name: "ReportTests", dependencies: ["Report", "Analysis"], resources: [.copy("Fixtures")]),
    ],
    swiftLanguageModes: [.v6]
)
