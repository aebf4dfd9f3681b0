/// The fixed 64-byte header at the start of every `.samq` file.
///
/// Layout (little endian):
/// `0` magic (8) · `8` version u32 · `12` required-feature flags u32 ·
/// `16` metadata offset u64 · `24` metadata length u64 · `32` table offset u64 ·
/// `40` table length u64 · `48` tensor count u64 · `56` index checksum u64
/// (XXH64 of header bytes 0..<56, the metadata and the table).
public struct SAMQHeader: Equatable, Sendable {
    public static let size = 64
    /// PNG-style: a high byte and CR LF catch 7-bit and line-ending mangling.
    public static let magic: [UInt8] = [0x89, 0x53, 0x41, 0x4D, 0x51, 0x0D, 0x0A, 0x1A]
    public static let currentVersion: UInt32 = 1
    public static let knownFlags: UInt32 = 0

    public var version: UInt32 = currentVersion
    public var flags: UInt32 = 0
    public var metadataOffset: Int
    public var metadataLength: Int
    public var tableOffset: Int
    public var tableLength: Int
    public var tensorCount: Int
    public var indexChecksum: UInt64 = 0

    public init(metadataOffset: Int, metadataLength: Int, tableOffset: Int, tableLength: Int, tensorCount: Int) {
        self.metadataOffset = metadataOffset; self.metadataLength = metadataLength
        self.tableOffset = tableOffset; self.tableLength = tableLength; self.tensorCount = tensorCount
    }

    /// The first 56 bytes (everything but the checksum).
    public func encodedPrefix() -> [UInt8] {
        var out = ByteWriter()
        out.append(SAMQHeader.magic)
        out.append(version); out.append(flags)
        out.append(UInt64(metadataOffset)); out.append(UInt64(metadataLength))
        out.append(UInt64(tableOffset)); out.append(UInt64(tableLength))
        out.append(UInt64(tensorCount))
        return out.bytes
    }

    public func encoded() -> [UInt8] {
        var out = ByteWriter()
        out.append(encodedPrefix())
        out.append(indexChecksum)
        return out.bytes
    }

    /// Parses and range-checks the header against the file size.
    public static func decode(_ bytes: UnsafeRawBufferPointer, fileSize: Int) throws -> SAMQHeader {
        guard bytes.count >= size, fileSize >= size else { throw SAMQFormatError.tooSmall(size: fileSize) }
        var reader = ByteReader(bytes)
        guard try reader.bytes(8) == magic else { throw SAMQFormatError.badMagic }
        let version = try reader.u32()
        guard version <= currentVersion else {
            throw SAMQFormatError.newerFormat(found: version, supported: currentVersion)
        }
        guard version >= 1 else { throw SAMQFormatError.headerField("format version 0 is invalid") }
        let flags = try reader.u32()
        guard flags & ~knownFlags == 0 else { throw SAMQFormatError.unknownRequiredFlags(flags & ~knownFlags) }
        let fields = try (0..<5).map { _ in try reader.u64() }
        func checked(_ value: UInt64, _ what: String, limit: Int) throws -> Int {
            guard value <= UInt64(limit) else {
                throw SAMQFormatError.headerField("\(what) \(value) exceeds \(limit)")
            }
            return Int(value)
        }
        var header = SAMQHeader(
            metadataOffset: try checked(fields[0], "metadata offset", limit: fileSize),
            metadataLength: try checked(fields[1], "metadata length", limit: SAMQLimits.maxMetadataBytes),
            tableOffset: try checked(fields[2], "table offset", limit: fileSize),
            tableLength: try checked(fields[3], "table length", limit: SAMQLimits.maxTableBytes),
            tensorCount: try checked(fields[4], "tensor count", limit: SAMQLimits.maxTensorCount))
        header.version = version
        header.flags = flags
        header.indexChecksum = try reader.u64()
        guard header.metadataOffset >= size, header.metadataOffset + header.metadataLength <= fileSize else {
            throw SAMQFormatError.headerField("metadata range lies outside the file (\(fileSize) bytes): truncated?")
        }
        guard header.tableOffset >= header.metadataOffset + header.metadataLength,
              header.tableOffset + header.tableLength <= fileSize else {
            throw SAMQFormatError.headerField("table range lies outside the file (\(fileSize) bytes): truncated?")
        }
        return header
    }
}
