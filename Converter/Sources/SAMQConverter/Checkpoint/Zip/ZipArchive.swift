/// One file inside a zip archive, located but not yet read.
struct ZipEntry: Equatable {
    let name: String
    /// Byte range of the entry's (stored) data in the archive file.
    let data: Range<Int>
    let crc32: UInt32
    /// 0 = stored; anything else (8 = deflate) cannot be mapped in place.
    let method: UInt16
    let isEncrypted: Bool
    /// Offset of the entry's central directory record (lets the fuzz harness
    /// patch CRCs so mutated pickles get past the checksum).
    let directoryOffset: Int
}

/// A read-only view of a zip archive's directory.
///
/// Only what torch checkpoints need: a single disk, ZIP64 sizes and offsets,
/// stored entries. Every offset and size is checked against the file size
/// with overflow-checked arithmetic before it is used.
struct ZipArchive {
    let path: String
    let entries: [ZipEntry]
    private let index: [String: Int]

    private static let centralSignature: UInt32 = 0x0201_4B50
    private static let localSignature: UInt32 = 0x0403_4B50

    init(bytes: UnsafeRawBufferPointer, path: String) throws {
        func fault(_ text: String) -> CheckpointError { .malformedZip(path: path, fault: text) }
        self.path = path
        let location = try ZipDirectoryLocation.locate(in: bytes, path: path)

        var cursor = ByteCursor(bytes, offset: location.offset) { fault("central directory cut short at \($0)") }
        let directoryEnd = location.offset + location.size  // checked by locate()
        var entries: [ZipEntry] = []
        entries.reserveCapacity(location.entryCount)
        var index: [String: Int] = [:]
        for number in 0..<location.entryCount {
            guard cursor.offset + 46 <= directoryEnd else { throw fault("central directory entry \(number) runs past the directory") }
            let entry = try Self.readEntry(&cursor, bytes: bytes, directoryStart: location.offset, number: number, path: path)
            guard index[entry.name] == nil else { throw fault("entry name '\(entry.name)' appears twice") }
            index[entry.name] = entries.count
            entries.append(entry)
        }
        guard cursor.offset <= directoryEnd else { throw fault("central directory entries run past its declared size") }
        self.entries = entries
        self.index = index
    }

    func entry(named name: String) -> ZipEntry? {
        index[name].map { entries[$0] }
    }

    /// The data of a stored, unencrypted entry; anything else is refused by name.
    func storedData(of entry: ZipEntry, in bytes: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer {
        try requireStored(entry)
        guard entry.data.upperBound <= bytes.count else {
            throw CheckpointError.malformedZip(path: path, fault: "entry '\(entry.name)' runs past the end of the file")
        }
        return UnsafeRawBufferPointer(rebasing: bytes[entry.data])
    }

    /// Refuses, by name, an entry that cannot be used in place (compressed or encrypted).
    func requireStored(_ entry: ZipEntry) throws {
        guard !entry.isEncrypted else {
            throw CheckpointError.unsupportedZipEntry(path: path, entry: entry.name, fault: "entry is encrypted")
        }
        guard entry.method == 0 else {
            let kind = entry.method == 8 ? "deflate" : "method \(entry.method)"
            throw CheckpointError.unsupportedZipEntry(
                path: path, entry: entry.name,
                fault: "entry is compressed (\(kind)); only stored (uncompressed) entries can be read, re-save with torch.save")
        }
    }

    /// Reads one central directory entry and validates its local header.
    private static func readEntry(_ cursor: inout ByteCursor, bytes: UnsafeRawBufferPointer, directoryStart: Int,
                                  number: Int, path: String) throws -> ZipEntry {
        func fault(_ text: String) -> CheckpointError { .malformedZip(path: path, fault: text) }
        let directoryOffset = cursor.offset
        guard try cursor.u32("entry signature") == centralSignature else {
            throw fault("central directory entry \(number) has a bad signature")
        }
        try cursor.skip(4, "versions")
        let flags = try cursor.u16("flags")
        let method = try cursor.u16("method")
        try cursor.skip(4, "time and date")
        let crc = try cursor.u32("crc")
        let compressed32 = try cursor.u32("compressed size")
        let uncompressed32 = try cursor.u32("uncompressed size")
        let nameLength = Int(try cursor.u16("name length"))
        let extraLength = Int(try cursor.u16("extra length"))
        let commentLength = Int(try cursor.u16("comment length"))
        let startDisk = try cursor.u16("start disk")
        try cursor.skip(2 + 4, "attributes")
        let localOffset32 = try cursor.u32("local header offset")
        let nameBytes = try cursor.slice(nameLength, "entry \(number) name")
        guard let name = strictUTF8(nameBytes) else { throw fault("central directory entry \(number) name is not UTF-8") }
        let extra = try cursor.slice(extraLength, "entry '\(name)' extra field")
        try cursor.skip(commentLength, "entry '\(name)' comment")

        // ZIP64: a saturated 32-bit field means the real value is in the 0x0001
        // extra field, in this fixed order, present only for saturated fields.
        var compressed = UInt64(compressed32)
        var uncompressed = UInt64(uncompressed32)
        var localOffset = UInt64(localOffset32)
        if let zip64 = try zip64Extra(extra, name: name, path: path) {
            var field = ByteCursor(zip64) { _ in fault("entry '\(name)' ZIP64 extra field is too short") }
            if uncompressed32 == 0xFFFF_FFFF { uncompressed = try field.u64("uncompressed size") }
            if compressed32 == 0xFFFF_FFFF { compressed = try field.u64("compressed size") }
            if localOffset32 == 0xFFFF_FFFF { localOffset = try field.u64("local header offset") }
        } else if compressed32 == 0xFFFF_FFFF || uncompressed32 == 0xFFFF_FFFF || localOffset32 == 0xFFFF_FFFF {
            throw fault("entry '\(name)' has ZIP64 placeholder sizes but no ZIP64 extra field")
        }
        guard startDisk == 0 || startDisk == 0xFFFF else { throw fault("entry '\(name)' starts on another disk") }
        guard let size = Checked.int(compressed), let headerOffset = Checked.int(localOffset) else {
            throw fault("entry '\(name)' size or offset out of range")
        }
        if method == 0, compressed != uncompressed {
            throw fault("stored entry '\(name)' has compressed size \(compressed) != uncompressed size \(uncompressed)")
        }

        // The local header repeats the name and has its own extra field (torch
        // pads it so data is 64-byte aligned), so data starts after *its* lengths.
        guard let headerEnd = Checked.add(headerOffset, 30), headerEnd <= directoryStart else {
            throw fault("entry '\(name)' local header at \(headerOffset) is outside the file data (truncated?)")
        }
        var local = ByteCursor(bytes, offset: headerOffset) { fault("entry '\(name)' local header cut short at \($0)") }
        guard try local.u32("local signature") == localSignature else {
            throw fault("entry '\(name)' has no local header at offset \(headerOffset)")
        }
        try local.skip(4, "version and flags")
        guard try local.u16("local method") == method else {
            throw fault("entry '\(name)' local header disagrees with the central directory on the method")
        }
        try local.skip(4 + 4 + 4 + 4, "local time, crc and sizes")
        let localNameLength = Int(try local.u16("local name length"))
        let localExtraLength = Int(try local.u16("local extra length"))
        let localName = try local.slice(localNameLength, "entry '\(name)' local name")
        guard localName.elementsEqual(nameBytes) else {
            throw fault("entry '\(name)' local header names a different file")
        }
        guard let dataStart = Checked.add(headerEnd, localNameLength + localExtraLength),
              let dataEnd = Checked.add(dataStart, size), dataEnd <= directoryStart else {
            throw fault("entry '\(name)' data (\(size) bytes) runs past the central directory (truncated?)")
        }
        return ZipEntry(name: name, data: dataStart..<dataEnd, crc32: crc, method: method,
                        isEncrypted: (flags & 1) != 0, directoryOffset: directoryOffset)
    }

    /// The payload of the ZIP64 (0x0001) extra field, if there is one.
    private static func zip64Extra(_ extra: UnsafeRawBufferPointer, name: String,
                                   path: String) throws -> UnsafeRawBufferPointer? {
        var cursor = ByteCursor(extra) { _ in .malformedZip(path: path, fault: "entry '\(name)' extra field is malformed") }
        while cursor.remaining >= 4 {
            let id = try cursor.u16("extra id")
            let size = Int(try cursor.u16("extra size"))
            let payload = try cursor.slice(size, "extra payload")
            if id == 0x0001 { return payload }
        }
        return nil
    }
}
