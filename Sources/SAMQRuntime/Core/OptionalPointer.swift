/// Runs `body` with a pointer to `array`'s elements, or with nil when there
/// is no array: how an optional bias, residual or operand reaches a C kernel.
func withOptionalPointer<R>(_ array: [Float]?, _ body: (UnsafePointer<Float>?) throws -> R) rethrows -> R {
    guard let array else { return try body(nil) }
    return try array.withUnsafeBufferPointer { try body($0.baseAddress) }
}
