import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Hummingbird
import SAMQCLISupport
import SAMQFormat
import SAMQRuntime
import SAMQServer

/// `samq serve MODEL.samq [--host 127.0.0.1] [--port 8080] [--token T] [--max-upload 25MB] [--cache-budget SIZE]`
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve interactive segmentation over HTTP: a web page and a JSON API (docs/API.md).")

    @Argument(help: "The .samq model.")
    var model: String

    @Option(help: "Address to bind. The default serves this machine only; 0.0.0.0 serves the network (use --token).")
    var host = "127.0.0.1"

    @Option(help: "TCP port (0 picks a free one and prints it).")
    var port = 8080

    @Option(help: "Require 'Authorization: Bearer T' on the API (the page asks for it). Also read from SAMQ_SERVE_TOKEN.")
    var token: String?

    @Option(help: "Largest request body, e.g. 25MB.")
    var maxUpload = "25MB"

    @Option(help: "Memory for cached images and their embeddings (least recently used first out), e.g. 512MB.")
    var cacheBudget = "512MB"

    @Option(help: "Refuse images with more pixels than this (a request holds 3 float masks of the image's size).")
    var maxPixels = 4096 * 4096

    @Option(help: "Decoder requests served at once (default: one per thread).")
    var decoders: Int?

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535") }
        if let decoders, !(1...64).contains(decoders) { throw ValidationError("--decoders must be 1…64") }
        guard maxPixels > 0 else { throw ValidationError("--max-pixels must be positive") }
        _ = try MemoryBudget(parsing: maxUpload, option: "--max-upload")
        _ = try MemoryBudget(parsing: cacheBudget, option: "--cache-budget")
        if let token, token.isEmpty { throw ValidationError("--token must not be empty") }
    }

    func run() async throws {
        var options = ServerOptions()
        options.host = host
        options.port = port
        options.token = token ?? ProcessInfo.processInfo.environment["SAMQ_SERVE_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        options.maxUploadBytes = try MemoryBudget(parsing: maxUpload, option: "--max-upload").bytes
        options.cacheBudgetBytes = try MemoryBudget(parsing: cacheBudget, option: "--cache-budget").bytes
        options.maxPixels = maxPixels

        var quietGlobal = global
        quietGlobal.quiet = true   // the server reports encoder progress over HTTP, not on the terminal
        let encoder = try ModelLoading.predictor(path: model, global: quietGlobal)
        // Decoder-side predictors never encode: streamed residency loads no encoder block weights.
        let weights = try SAMQFileWeights(path: model)
        let count = decoders ?? ComputeThreads.count
        let decoderPredictors = try (0..<count).map { _ in try SamPredictor(weights: weights, residency: .streamed) }
        let service = try SegmentationService(modelName: PathText.lastComponent(model), encoder: encoder,
                                              decoders: decoderPredictors, options: options)

        if !options.isLoopback && options.token == nil {
            StandardError.write("""
                warning: serving on \(host) without --token: anyone who can reach this port can upload images \
                and use the model. Pass --token T (or set SAMQ_SERVE_TOKEN) to require a bearer token.

                """)
        }
        let quiet = global.quiet
        let settings = options
        let app = ServerRoutes.application(service) { channel in
            let boundPort = channel.localAddress?.port ?? settings.port
            let shownHost = settings.host.contains(":") ? "[\(settings.host)]" : settings.host
            if !quiet || settings.port == 0 {
                print("samq serve: http://\(shownHost):\(boundPort)/ (model \(service.modelInfoSummary)); Ctrl-C stops")
                fflush(stdout)
            }
        }
        // SIGINT/SIGTERM: stop accepting, finish the open requests, return.
        try await app.runService()
        if !quiet { print("samq serve: stopped") }
    }
}
