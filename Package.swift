// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Nautilus",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "monnemo-server", targets: ["monnemo-server"]),
        .executable(name: "ilbc", targets: ["ILBCCommand"]),
        .library(name: "AudioCodec", targets: ["AudioCodec"]),
        .executable(name: "softphone", targets: ["softphone"]),
        .executable(name: "nemo", targets: ["nemo"]),
        .executable(name: "nemo-service", targets: ["nemo-service"]),
        .library(name: "Sensors", targets: ["Sensors"]),
        .executable(name: "monnemo-agent", targets: ["monnemo-agent"]),
        .executable(name: "xcast6", targets: ["xcast6"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // Time for the sans-I/O cores: one `Instant` type and the system clock (ManualClock in TestSupport).
        .target(name: "Timekeeping"),
        // The record model shared by the agent and the map server, and its JSON.
        .target(name: "Telemetry", dependencies: ["Timekeeping"]),
        // The map server: HTTP API, its store (SQLite by default, PostgreSQL for several instances),
        // live hub, OsmAnd listener.
        .target(
            name: "MapServer",
            dependencies: [
                "SystemSupport", "Telemetry", "Timekeeping",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "monnemo-server",
            dependencies: [
                "MapServer", "Telemetry", "Timekeeping",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The codec protocol shared by iLBC, Opus and G.711.
        .target(name: "AudioCodec"),
        // iLBC (RFC 3951) in Swift. Float DSP that must run fast even in `swift test` (debug), hence -O;
        // SwiftPM refuses unsafe flags in a dependency, so ILBC is not published as a library product
        // (docs/ARCHITECTURE.md, departures).
        .target(name: "ILBC", dependencies: ["AudioCodec"], swiftSettings: [.unsafeFlags(["-O"])]),
        // WAV files (16-bit PCM) read and written: shared by the `ilbc` command and the softphone.
        .target(name: "WAV"),
        .executableTarget(
            name: "ILBCCommand",
            dependencies: ["ILBC", "WAV", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // SIP messages, transactions, dialogs, digest, user agent core: sans-I/O.
        .target(name: "SIP", dependencies: ["Timekeeping", .product(name: "Crypto", package: "swift-crypto")]),
        // SDP and RFC 3264 offer/answer: sans-I/O.
        .target(name: "SDP"),
        // RTP/RTCP packets, sessions, jitter buffer, RFC 4733 events: sans-I/O, reused by Xcast.
        .target(name: "RTP", dependencies: ["Timekeeping", .product(name: "NIOCore", package: "swift-nio")]),
        .systemLibrary(name: "COpus", path: "Sources/COpus", pkgConfig: "opus", providers: [.apt(["libopus-dev"])]),
        .systemLibrary(name: "CALSA", path: "Sources/CALSA", pkgConfig: "alsa", providers: [.apt(["libasound2-dev"])]),
        // Calls, media, codecs, audio files and devices, NIO transports.
        .target(
            name: "Phone",
            dependencies: [
                "SIP", "SDP", "RTP", "AudioCodec", "ILBC", "WAV", "COpus", "CALSA", "Timekeeping",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "softphone",
            dependencies: ["CMalloc", "Phone", "SIP", "SDP", "SystemSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Benchmarks (bench/bench-phone.sh): a malloc counter and the bench driver.
        .target(name: "CAllocCounter", path: "bench/alloc-counter"),
        .executableTarget(
            name: "phone-bench",
            dependencies: ["CAllocCounter", "SIP", "SDP", "RTP", "AudioCodec", "ILBC", "Phone", "Timekeeping"],
            path: "bench/phone"
        ),
        // Mobility Header messages, options, binding cache, BUL, MR and HA state machines: sans-I/O.
        .target(
            name: "Mobility",
            dependencies: ["SystemSupport", "Timekeeping", .product(name: "NIOCore", package: "swift-nio"), .product(name: "Crypto", package: "swift-crypto")]
        ),
        // A small C shim: Swift cannot call the variadic ioctl that opens a TUN device.
        .target(name: "CNemoLinux"),
        // The join exchange of a mobile router with the Home Agent service (token, proof, sealed answer).
        .target(name: "Joining", dependencies: ["SystemSupport", .product(name: "Crypto", package: "swift-crypto")]),
        // The Home Agent service: sign-up and operator pages, JSON API, join endpoint, its database,
        // and its hold on nemo ha (accounts file, reload, statistics).
        .target(
            name: "ProvisioningService",
            dependencies: [
                "Provisioning", "Joining", "Mobility", "MobilityLinux", "SystemSupport", "Timekeeping", "HTTPTransport", "Telemetry",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "nemo-service",
            dependencies: [
                "ProvisioningService", "Provisioning", "MobilityLinux",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The Home Agent service's rules without I/O: settings, address plan, sign-up checks, forms, passwords.
        .target(
            name: "Provisioning",
            dependencies: ["Mobility", "SystemSupport", "Telemetry", "Joining",
                           .product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto")]
        ),
        // TUN, per-uplink UDP sockets, rtnetlink, routes and rules.
        .target(
            name: "MobilityLinux",
            dependencies: [
                "Mobility", "CNemoLinux", "SystemSupport", "Timekeeping", "Telemetry", "Joining", "HTTPTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "nemo",
            dependencies: [
                "HTTPTransport", "MobilityLinux", "SystemSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The signaling load generator bench/bench-mobility.sh runs (`mobility-bench signaling`), kept out of `nemo`.
        .executableTarget(
            name: "mobility-bench",
            dependencies: [
                "Mobility", "MobilityLinux", "Timekeeping", "Telemetry",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "bench/mobility"
        ),
        // Sensors (GPS through gpsd, NMEA/GPX replay, sysfs climate, V4L2 camera): code beside its data.
        .systemLibrary(name: "CGPS", path: "Sources/CGPS", pkgConfig: "libgps", providers: [.apt(["libgps-dev"])]),
        .systemLibrary(name: "CV4L2", path: "Sources/CV4L2", pkgConfig: "libv4l2", providers: [.apt(["libv4l-dev"])]),
        .systemLibrary(name: "CTurboJPEG", path: "Sources/CTurboJPEG", pkgConfig: "libturbojpeg",
                       providers: [.apt(["libturbojpeg0-dev"])]),
        .target(
            name: "Sensors",
            dependencies: ["CGPS", "CV4L2", "CTurboJPEG", "SystemSupport", "Timekeeping"],
            path: "Sensors",
            exclude: ["profiles", "fixtures", "traces"]
        ),
        // A small HTTP/1.1 client over POSIX sockets (plain http://, no libcurl): the agent's uploads
        // and nemo's join of a Home Agent service.
        .target(name: "HTTPTransport"),
        // The onboard agent: sensors → SQLite outbox → uploader.
        // Small shared pieces: what the programs without Foundation need of it (detached threads for
        // blocking loops, trimming, a file error's reason, %.Nf), and the one hex codec.
        .target(name: "SystemSupport"),
        // glibc's mallopt for the onboard programs (one malloc arena: docs/performance.md, "Onboard footprint").
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .target(
            name: "OnboardAgent",
            dependencies: [
                "HTTPTransport", "Sensors", "Telemetry", "Timekeeping", "CSQLite",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "monnemo-agent",
            dependencies: [
                "CMalloc", "HTTPTransport", "OnboardAgent", "Sensors", "Telemetry", "Timekeeping",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Test support shared by every test target: the shared/ folder, strict-mode dependency checks.
        .target(name: "TestSupport", dependencies: ["Timekeeping"], path: "Tests/TestSupport"),
        .testTarget(name: "TimekeepingTests", dependencies: ["Timekeeping", "TestSupport"]),
        .testTarget(name: "TelemetryTests", dependencies: ["Telemetry", "Timekeeping"]),
        .testTarget(name: "HTTPTransportTests", dependencies: ["HTTPTransport"]),
        .testTarget(name: "OnboardAgentTests", dependencies: ["HTTPTransport", "OnboardAgent", "Telemetry", "Timekeeping", "TestSupport", "MobilityLinux", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "SensorsTests", dependencies: ["Sensors", "CV4L2", "Timekeeping", "TestSupport"], path: "Tests/SensorsTests"),
        .testTarget(name: "MobilityTests", dependencies: ["Mobility", "Timekeeping", "TestSupport", .product(name: "NIOCore", package: "swift-nio")]),
        // Depends on `nemo` so the live tests find the binary built next to them.
        .testTarget(name: "MobilityLinuxTests", dependencies: ["MobilityLinux", "Mobility", "Joining", "SystemSupport", "Timekeeping", "Telemetry", "nemo", "TestSupport", .product(name: "NIOCore", package: "swift-nio"), .product(name: "Logging", package: "swift-log")], exclude: ["Fixtures"]),
        .testTarget(name: "JoiningTests", dependencies: ["Joining", "SystemSupport"]),
        .testTarget(name: "SystemSupportTests", dependencies: ["SystemSupport"]),
        .testTarget(name: "ProvisioningTests", dependencies: [
            "Provisioning", "ProvisioningService", "Mobility", "MobilityLinux", "Telemetry", "Joining", "TestSupport",
            .product(name: "HTTPTypes", package: "swift-http-types"), .product(name: "Logging", package: "swift-log"),
            .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HummingbirdTesting", package: "hummingbird"),
        ]),
        .testTarget(name: "SIPTests", dependencies: ["SIP", "Timekeeping", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "SDPTests", dependencies: ["SDP", "TestSupport"]),
        .testTarget(name: "RTPTests", dependencies: ["RTP", "Timekeeping", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(
            name: "PhoneTests",
            dependencies: [
                "Phone", "SIP", "SDP", "RTP", "AudioCodec", "WAV", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ],
            exclude: ["Peers"]
        ),
        // Depends on `ilbc` so the command-line tests find the binary built next to them.
        .testTarget(name: "WAVTests", dependencies: ["WAV"]),
        .testTarget(name: "ILBCTests", dependencies: ["ILBC", "AudioCodec", "ILBCCommand", "TestSupport"], exclude: ["pesq_check.py"]),
        .testTarget(
            name: "MapServerTests",
            dependencies: [
                "MapServer",
                "Telemetry",
                "Timekeeping",
                "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Xcast6 (RFC 5058) headers, branching, membership: sans-I/O. RTP/JPEG (RFC 2435) on ByteBuffer.
        .target(name: "Xcast", dependencies: ["Timekeeping", .product(name: "NIOCore", package: "swift-nio")]),
        .target(name: "RTPJPEG", dependencies: ["RTP", .product(name: "NIOCore", package: "swift-nio")]),
        .target(name: "CXcastLinux"),
        .executableTarget(
            name: "xcast6",
            dependencies: [
                "Xcast", "RTPJPEG", "RTP", "Sensors", "CXcastLinux", "SystemSupport", "Timekeeping",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "XcastTests", dependencies: ["Xcast", "RTPJPEG", "RTP", "Sensors", "xcast6", "Timekeeping", .product(name: "NIOCore", package: "swift-nio")]),
    ]
)
