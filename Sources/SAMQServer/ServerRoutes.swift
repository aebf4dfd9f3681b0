#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore
import SAMQCLISupport
import SAMQImage
import SAMQRuntime

/// The HTTP API (docs/API.md) and the page. Every route answers from memory:
/// ids in paths are parsed into typed ids or looked up in in-memory tables,
/// never used as file names.
public enum ServerRoutes {
    /// A router serving `service`, with JSON errors and, when `options.token`
    /// is set, bearer-token checks on the API.
    public static func router(_ service: SegmentationService) -> Router<BasicRequestContext> {
        let router = Router()
        // Middlewares apply to the routes added after them (and to "not found").
        router.add(middleware: JSONErrorMiddleware())
        if let token = service.options.token { router.add(middleware: BearerTokenMiddleware(token: token)) }

        router.get("/") { _, _ in WebPage.response() }
        router.get("/index.html") { _, _ in WebPage.response() }
        router.get("/api/health") { _, _ in JSONBody.response(HealthStatus(status: "ok")) }
        router.get("/api/model") { _, _ in JSONBody.response(service.modelInfo) }

        router.post("/api/images") { request, context in
            let body = try await collect(request, limit: service.options.maxUploadBytes, what: "image")
            guard body.readableBytes > 0 else {
                throw APIError.badImage("the request body is empty; send the PNG or JPEG file as the body")
            }
            let (entry, isNew) = try await service.upload(body.bytes)
            if wantsWait(request) { _ = await entry.settled() }
            return JSONBody.response(service.status(of: entry), status: isNew ? .created : .ok)
        }
        router.get("/api/images/{id}") { request, context in
            let entry = try service.entry(try context.parameters.require("id"))
            if wantsWait(request) { _ = await entry.settled() }
            return JSONBody.response(service.status(of: entry))
        }
        router.post("/api/images/{id}/predict") { request, context in
            let entry = try service.entry(try context.parameters.require("id"))
            let body = try await collect(request, limit: service.options.maxUploadBytes, what: "JSON request")
            let predictRequest = try JSONBody.decode(PredictRequest.self, from: body)
            let (response, _) = try await service.predict(entry, request: predictRequest)
            return JSONBody.response(response)
        }
        router.post("/api/images/{id}/everything") { request, context in
            let entry = try service.entry(try context.parameters.require("id"))
            let body = try await collect(request, limit: 64 * 1024, what: "JSON request")
            let options = body.readableBytes == 0 ? EverythingRequest() : try JSONBody.decode(EverythingRequest.self, from: body)
            let (document, ms) = try await service.everything(entry, request: options)
            var response = try documentResponse(document)
            response.headers[HTTPField.Name("X-SAMQ-Everything-Ms")!] = fixed(ms, 1)
            return response
        }
        router.get("/api/images/{id}/everything") { _, context in
            let entry = try service.entry(try context.parameters.require("id"))
            guard case .done(let document, _) = entry.everything else {
                throw APIError.notFound("segment-everything has not finished for image \(entry.id); POST to this path to run it")
            }
            return try documentResponse(document)
        }
        router.get("/api/predictions/{pid}/masks/{index}") { request, context in
            let stored = try service.prediction(try context.parameters.require("pid"))
            let rawIndex = try context.parameters.require("index")
            guard let index = Int(rawIndex), stored.masks.indices.contains(index) else {
                throw APIError.notFound("prediction \(stored.id) has masks 0…\(stored.masks.count - 1), not '\(rawIndex)'")
            }
            let mask = stored.masks[index]
            switch request.uri.queryParameters.get("format") ?? "png" {
            case "png":
                let png = try await offload { try MaskPNG.encode(mask.decode(), width: mask.width, height: mask.height) }
                var headers: HTTPFields = [.contentType: "image/png"]
                headers[.contentDisposition] = "attachment; filename=\"mask_\(stored.id)_\(index).png\""
                return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: png)))
            case "rle", "json":
                var response = JSONBody.response(RLEBody(size: [mask.height, mask.width], counts: mask.cocoString))
                response.headers[.contentDisposition] = "attachment; filename=\"mask_\(stored.id)_\(index).json\""
                return response
            case let other:
                throw APIError.badRequest("format must be png or rle, not '\(other)'")
            }
        }
        return router
    }

    /// The application `samq serve` runs: the router on `options.host:port`,
    /// with idle connections (a stalled upload included) closed after a timeout.
    public static func application(_ service: SegmentationService, onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in })
        -> some ApplicationProtocol {
        let options = service.options
        var http1 = HTTP1Channel.Configuration()
        http1.idleTimeout = .seconds(Int64(options.idleTimeoutSeconds))
        var logger = Logger(label: "samq.serve")
        logger.logLevel = .warning
        return Application(router: router(service), server: .http1(configuration: http1),
                           configuration: .init(address: .hostname(options.host, port: options.port), serverName: "samq"),
                           onServerRunning: onServerRunning, logger: logger)
    }

    /// The whole body, refused with 413 past `limit` (early, from Content-Length, when the client sends one).
    static func collect(_ request: Request, limit: Int, what: String) async throws -> ByteBuffer {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw APIError.tooLarge("the \(what) is \(length) bytes, over the limit of \(limit) bytes (--max-upload)")
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw APIError.tooLarge("the \(what) is over the limit of \(limit) bytes (--max-upload)")
        } catch {
            // The client closed or broke the connection mid-body: its problem, not the server's.
            throw APIError.badRequest("the \(what) ended before its end (\(error))", code: "incomplete_body")
        }
    }

    static func wantsWait(_ request: Request) -> Bool {
        let value = request.uri.queryParameters.get("wait")
        return value == "1" || value == "true"
    }

    static func documentResponse(_ document: SA1BDocument) throws -> Response {
        Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: try document.encoded())))
    }
}

/// `[UInt8]` from a collected body.
extension ByteBuffer {
    var bytes: [UInt8] { Array(readableBytesView) }
}
