import ArgumentParser
import SAMQFormat

/// A `--point X,Y[,LABEL]` argument: original-image pixels, label 1 (default)
/// for foreground and 0 for background, as in `SamPredictor`.
struct PointArgument: ExpressibleByArgument {
    var x: Float
    var y: Float
    var label: Int

    init?(argument: String) {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false).map { Float($0.trimmingWhitespace()) }
        guard parts.count == 2 || parts.count == 3, let x = parts[0], let y = parts[1] else { return nil }
        let label = parts.count == 3 ? parts[2] : 1
        guard let label, label == 0 || label == 1 else { return nil }
        self.x = x; self.y = y; self.label = Int(label)
    }

    static var defaultValueDescription: String { "X,Y[,LABEL]" }
}

/// A `--box X0,Y0,X1,Y1` argument in original-image pixels.
struct BoxArgument: ExpressibleByArgument {
    var values: [Float]

    init?(argument: String) {
        let parts = argument.split(separator: ",").map { Float($0.trimmingWhitespace()) }
        guard parts.count == 4, parts.allSatisfy({ $0 != nil }) else { return nil }
        values = parts.compactMap { $0 }
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
