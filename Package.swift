// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "redlab",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "redlab", targets: ["redlab"]),
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
        .target(name: "Topology", dependencies: ["Packets", .product(name: "Yams", package: "Yams")]),
        .target(name: "Analysis", dependencies: ["Packets"]),
        .target(name: "Report", dependencies: ["Analysis"]),

        // The only code that holds C pointers.
        .target(name: "Kernel", dependencies: ["CNetlink", "CNftables", "Packets", .product(name: "Logging", package: "swift-log")]),
        .target(name: "Capture", dependencies: ["CPcap", "Kernel"]),

        // Orchestration and the CLI.
        .target(name: "Lab", dependencies: [
            "Topology", "Kernel", "Capture", "Packets", "VRRP", "RSTP", "Analysis",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "redlab", dependencies: [
            "Lab", "Report",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        .testTarget(name: "PacketsTests", dependencies: ["Packets"], resources: [.copy("Fixtures")]),
        .testTarget(name: "VRRPTests", dependencies: ["VRRP", "Packets"]),
        .testTarget(name: "RSTPTests", dependencies: ["RSTP", "Packets"]),
        .testTarget(name: "TopologyTests", dependencies: ["Topology", .product(name: "Yams", package: "Yams")]),
        .testTarget(name: "AnalysisTests", dependencies: ["Analysis", "Packets"]),
        .testTarget(name: "KernelTests", dependencies: ["Kernel"]),
        .testTarget(name: "LabTests", dependencies: ["Lab", "Topology", "Kernel", "Analysis", "Packets", "VRRP"]),
        .testTarget(name: "ReportTests", dependencies: ["Report", "Analysis"], resources: [.copy("Fixtures")]),
    ],
    swiftLanguageModes: [.v6]
)
