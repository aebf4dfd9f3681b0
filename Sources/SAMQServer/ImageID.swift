import SAMQFormat
import SAMQImage

/// An uploaded image's identity: a hash of its decoded pixels and size, so the
/// same picture uploaded twice (or as PNG and again as the same PNG) shares one
/// cached embedding.
///
/// Two XXHash64 lanes with different seeds give 128 bits: collisions between
/// honest uploads are out of reach. It is not a cryptographic hash; anyone who
/// can upload could in principle craft a collision, which is why the API sits
/// behind the bearer token when it is reachable from a network.
public struct ImageID: Hashable, Sendable, CustomStringConvertible {
    public let value: String

    public init(image: RGBImage) {
        var header = [UInt8]()
        for v in [UInt64(image.width), UInt64(image.height)] {
            for shift in stride(from: 0, to: 64, by: 8) { header.append(UInt8(truncatingIfNeeded: v >> UInt64(shift))) }
        }
        let pixels = image.pixels
        let a = pixels.withUnsafeBytes { XXHash64.hash($0, seed: XXHash64.hash(header, seed: 0x5341_4D51)) }
        let b = pixels.withUnsafeBytes { XXHash64.hash($0, seed: XXHash64.hash(header, seed: 0x7365_7276_6531)) }
        value = Self.hex(a) + Self.hex(b)
    }

    /// Accepts only what `init(image:)` produces (32 lowercase hex digits), so a
    /// request path never carries anything else into the server.
    public init?(_ string: String) {
        guard string.utf8.count == 32, string.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else {
            return nil
        }
        value = string
    }

    public var description: String { value }

    private static func hex(_ v: UInt64) -> String {
        let digits = String(v, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
