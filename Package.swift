// swift-tools-version:6.1
import PackageDescription

// Two programs share one package: `samq` (the board runtime) and `samq-convert`
// (the workstation converter). The runtime never links the converter, so a
// board needs neither Python nor the pickle reader.
// Only the compute target drops overflow checks: parsers keep every trap as a
// second line of defence behind their explicit validation.
let releaseSpeed: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

let package = Package(
    name: "SAMQ",
    // macOS 15: Synchronization.Atomic (the thread pool's polling; Hummingbird 2 needs 14).
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "samq", targets: ["samq"]),
        .executable(name: "samq-convert", targets: ["samq-convert"]),
        .library(name: "SAMQRuntime", targets: ["SAMQRuntime"]),
        .library(name: "SAMQFormat", targets: ["SAMQFormat"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `samq serve` only; the runtime and converter do not link it. No traits:
        // its default "FullFoundation" links the full Foundation and ICU into
        // `samq`, about 6.5 MB more resident memory for every command.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0", traits: []),
    ],
    targets: [
        // System libraries, found through pkg-config.
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
                       providers: [.apt(["libzstd-dev"]), .brew(["zstd"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"]), .brew(["libpng"])]),
        // PNG writing deflates with zlib directly (libpng links it anyway).
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]),
        // TurboJPEG reports errors by return code; libjpeg's default handler calls exit().
        .systemLibrary(name: "CTurboJPEG", path: "Sources/CTurboJPEG", pkgConfig: "libturbojpeg",
                       providers: [.apt(["libturbojpeg0-dev"]), .brew(["jpeg-turbo"])]),

        // C99 SIMD micro-kernels and CPU dispatch. No allocation, no threads.
        .target(name: "CKernels", path: "Sources/CKernels",
                cSettings: [.unsafeFlags(["-O3", "-fno-strict-aliasing"])]),

        // The .samq container: layout, writer, mmap reader, validation, checksums,
        // and the SAM architecture schema (config -> expected tensors).
        .target(name: "SAMQFormat", dependencies: ["CZstd"], path: "Sources/SAMQFormat"),
        // Image decode/encode (PNG, JPEG), PIL-compatible resize, overlays.
        .target(name: "SAMQImage", dependencies: ["CPNG", "CZlib", "CTurboJPEG", "SAMQFormat", "CKernels"], path: "Sources/SAMQImage"),
        // Tensors, layers, encoders, prompt encoder, mask decoder, predictor.
        .target(name: "SAMQRuntime", dependencies: ["SAMQFormat", "SAMQImage", "CKernels"],
                path: "Sources/SAMQRuntime", swiftSettings: releaseSpeed),
        // Terminal helpers shared by both command-line tools.
        .target(name: "SAMQCLISupport", path: "Sources/SAMQCLISupport"),
        // `samq serve`: HTTP API, embedding cache, encoder queue, decoder pool, the embedded web page.
        .target(name: "SAMQServer",
                dependencies: ["SAMQRuntime", "SAMQImage", "SAMQFormat", "SAMQCLISupport", .product(name: "Hummingbird", package: "hummingbird")],
                path: "Sources/SAMQServer", exclude: ["Page"]),
        .executableTarget(name: "samq",
                          dependencies: ["SAMQRuntime", "SAMQServer", "SAMQCLISupport",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser"),
                                         .product(name: "Hummingbird", package: "hummingbird")],
                          path: "Sources/samq"),

        // Converter: checkpoint readers (.pth, .safetensors), quantizer, packer.
        .target(name: "SAMQConverter", dependencies: ["SAMQFormat"], path: "Converter/Sources/SAMQConverter"),
        .executableTarget(name: "samq-convert",
                          dependencies: ["SAMQConverter", "SAMQCLISupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "Converter/Sources/samq-convert"),

        .testTarget(name: "SAMQFormatTests", dependencies: ["SAMQFormat"], path: "Tests/SAMQFormatTests"),
        .testTarget(name: "SAMQConverterTests", dependencies: ["SAMQConverter", "SAMQFormat"],
                    path: "Tests/SAMQConverterTests"),
        .testTarget(name: "SAMQImageTests", dependencies: ["SAMQImage", "SAMQFormat"], path: "Tests/SAMQImageTests"),
        .testTarget(name: "CKernelsTests", dependencies: ["CKernels"], path: "Tests/CKernelsTests"),
        .testTarget(name: "CLITests", dependencies: ["samq", "samq-convert"], path: "Tests/CLITests"),
        .testTarget(name: "SAMQServerTests",
                    dependencies: ["SAMQServer", "SAMQConverter", .product(name: "HummingbirdTesting", package: "hummingbird")],
                    path: "Tests/SAMQServerTests"),
        .testTarget(name: "SAMQRuntimeTests", dependencies: ["SAMQRuntime", "SAMQConverter", "SAMQFormat"],
                    path: "Tests/SAMQRuntimeTests"),
    ],
    swiftLanguageModes: [.v5]
)
