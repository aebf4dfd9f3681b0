/// What `samq serve` is told on its command line, as the server library sees it.
public struct ServerOptions: Sendable {
    /// Address to bind; 127.0.0.1 keeps the server on this machine.
    public var host = "127.0.0.1"
    public var port = 8080
    /// When set, every `/api/` route except `/api/health` needs `Authorization: Bearer <token>`.
    public var token: String?
    /// Largest request body accepted (an uploaded image, a JSON request), in bytes.
    public var maxUploadBytes = 25 * 1_000_000
    /// Largest image accepted, in pixels (width × height), checked from the header before decoding.
    public var maxPixels = 4096 * 4096
    /// Bytes the embedding cache may hold: embeddings plus the decoded images they belong to.
    public var cacheBudgetBytes = 512 * 1_000_000
    /// Predictions kept for mask downloads and refinement (`maskInput.prediction`).
    public var keptPredictions = 64
    /// Seconds a connection may stay idle (including mid-upload) before it is closed.
    public var idleTimeoutSeconds = 60

    public init() {}

    /// Whether `host` only accepts connections from this machine.
    public var isLoopback: Bool {
        host == "127.0.0.1" || host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
