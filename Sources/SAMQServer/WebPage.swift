import Hummingbird
import NIOCore

/// The single page, served from memory (see WebPageHTML.swift).
enum WebPage {
    static func response() -> Response {
        var headers: HTTPFields = [.contentType: "text/html; charset=utf-8"]
        headers[.cacheControl] = "no-cache"
        // Everything the page needs is inline; nothing loads from elsewhere.
        headers[.contentSecurityPolicy] = "default-src 'self'; img-src 'self' blob: data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: webPageHTML)))
    }
}
