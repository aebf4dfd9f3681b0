#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HTTPTypes
import Hummingbird

/// An error answered as JSON: `{"error": {"status": 400, "code": "bad_prompt", "message": "…"}}`.
///
/// Every failure the server reports goes through this type, so a client always
/// gets a machine-readable code and a sentence it can show a user.
public struct APIError: Error, HTTPResponseError, CustomStringConvertible, Sendable {
    public var status: HTTPResponse.Status
    /// A stable, snake_case identifier of the kind of failure.
    public var code: String
    public var message: String
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = JSONBody.response(ErrorBody(error: .init(status: status.code, code: code, message: message)),
                                         status: status)
        response.headers.append(contentsOf: headers)
        return response
    }

    struct ErrorBody: Encodable {
        struct Detail: Encodable { var status: Int; var code: String; var message: String }
        var error: Detail
    }

    // MARK: The failures the API names

    static func badRequest(_ message: String, code: String = "bad_request") -> APIError {
        APIError(.badRequest, code: code, message)
    }
    static func malformedJSON(_ message: String) -> APIError { APIError(.badRequest, code: "malformed_json", message) }
    static func badPrompt(_ message: String) -> APIError { APIError(.badRequest, code: "bad_prompt", message) }
    static func badImage(_ message: String) -> APIError { APIError(.badRequest, code: "bad_image", message) }
    static func tooLarge(_ message: String) -> APIError { APIError(.contentTooLarge, code: "too_large", message) }
    static func unknownImage(_ id: String) -> APIError {
        APIError(.notFound, code: "unknown_image",
                 "no image with id '\(id)' (never uploaded, or evicted from the embedding cache: upload it again)")
    }
    static func unknownPrediction(_ id: String) -> APIError {
        APIError(.notFound, code: "unknown_prediction",
                 "no prediction with id '\(id)' (only the most recent predictions are kept)")
    }
    static func notFound(_ message: String) -> APIError { APIError(.notFound, code: "not_found", message) }
    static func unauthorized(_ message: String) -> APIError {
        var error = APIError(.unauthorized, code: "unauthorized", message)
        error.headers[.wwwAuthenticate] = "Bearer"
        return error
    }
    static func internalError(_ message: String) -> APIError {
        APIError(.internalServerError, code: "internal", message)
    }
}
