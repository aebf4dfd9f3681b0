import CKernels

extension KernelISA {
    /// Runs the family's register-only int8 multiply-accumulate loop for
    /// `iterations` and returns the MACs performed (0 if unsupported). Timed by
    /// the caller, it gives one core's int8 peak, the ceiling GEMM speed is
    /// judged against on any board.
    public func peakMultiplyAccumulates(iterations: UInt64) -> UInt64 {
        samq_peak_i8(raw, iterations)
    }
}
