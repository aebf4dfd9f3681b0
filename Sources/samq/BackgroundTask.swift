import Dispatch

/// One throwing job run on another thread while the caller does something
/// else; `value()` waits for it. `segment` decodes its image this way while
/// the model loads.
final class BackgroundTask<Value>: @unchecked Sendable {
    private let finished = DispatchSemaphore(value: 0)
    /// Written once by the job before `finished` is signalled, read after the wait.
    private var result: Result<Value, any Error>?

    init(_ body: @escaping @Sendable () throws -> Value) {
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            result = Result { try body() }
            finished.signal()
        }
    }

    /// The job's value, or its error, once it has finished (any number of calls).
    func value() throws -> Value {
        finished.wait()
        defer { finished.signal() }
        return try result!.get()
    }
}
