#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Human-readable sizes in decimal units (MB = 10^6 bytes), as disk tools print them.
public func formatBytes(_ count: Int) -> String {
    let units = ["B", "KB", "MB", "GB"]
    var value = Double(count), unit = 0
    while value >= 1000 && unit < units.count - 1 { value /= 1000; unit += 1 }
    return unit == 0 ? "\(count) B" : "\(fixed(value, 1)) \(units[unit])"
}
