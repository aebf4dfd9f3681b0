import Hummingbird
import NIOCore

/// Turns every error a handler (or the router) throws into the JSON error format:
/// unknown routes, bodies over the size limit, and anything unexpected, which
/// becomes a 500 with its description rather than a dropped connection.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return try error.response(from: request, context: context)
        } catch is NIOTooManyBytesError {
            return try APIError.tooLarge("the request body is over the server's --max-upload limit")
                .response(from: request, context: context)
        } catch let error as HTTPError {
            let code = error.status == .notFound ? "not_found" : (error.status == .methodNotAllowed ? "method_not_allowed" : "http_error")
            let message = error.body ?? (error.status == .notFound
                ? "no route for \(request.method) \(request.uri.path)" : error.status.reasonPhrase)
            return try APIError(error.status, code: code, message).response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            return try APIError(error.status, code: "http_error", "\(error)").response(from: request, context: context)
        } catch {
            context.logger.error("internal error on \(request.method) \(request.uri.path): \(error)")
            return try APIError.internalError("\(error)").response(from: request, context: context)
        }
    }
}
