import Hummingbird

/// Requires `Authorization: Bearer <token>` on the API when a token is set.
///
/// The page itself and `/api/health` stay open: the page holds no data and asks
/// the user for the token, and a health probe should not need a secret.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path.hasPrefix("/api/"), path != "/api/health" else { return try await next(request, context) }
        guard let header = request.headers[.authorization] else {
            throw APIError.unauthorized("this server needs a token: send 'Authorization: Bearer <token>'")
        }
        let prefix = "Bearer "
        guard header.count > prefix.count, header.lowercased().hasPrefix(prefix.lowercased()),
              Self.constantTimeEqual(Array(header.utf8.dropFirst(prefix.utf8.count)), Array(token.utf8)) else {
            throw APIError.unauthorized("wrong bearer token")
        }
        return try await next(request, context)
    }

    /// Compares without an early exit, so response timing does not reveal how much of the token matched.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }
}
