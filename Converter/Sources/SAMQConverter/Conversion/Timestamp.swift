import Foundation

enum Timestamp {
    static func nowISO8601() -> String { ISO8601DateFormatter().string(from: Date()) }
}
