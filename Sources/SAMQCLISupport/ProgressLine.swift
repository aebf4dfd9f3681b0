#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A single self-overwriting status line on stderr, shown only on a terminal
/// (never when piped or with --quiet), so logs and scripts stay clean.
public final class ProgressLine {
    private let enabled: Bool
    private var lastWidth = 0
    private var lastDraw = Date.distantPast

    public init(enabled: Bool) { self.enabled = enabled && StandardError.isTerminal }

    public func update(_ text: String) {
        guard enabled, Date().timeIntervalSince(lastDraw) > 0.05 else { return }
        lastDraw = Date()
        let line = String(text.prefix(100))
        let padding = String(repeating: " ", count: max(0, lastWidth - line.count))
        StandardError.write("\r" + line + padding)
        lastWidth = line.count
    }

    public func finish() {
        guard enabled, lastWidth > 0 else { return }
        StandardError.write("\r" + String(repeating: " ", count: lastWidth) + "\r")
    }
}
