/// Where the central directory is, as told by the end-of-central-directory
/// record (and its ZIP64 extension, which torch writes for every archive).
struct ZipDirectoryLocation: Equatable {
    let entryCount: Int
    let offset: Int
    let size: Int
    /// Where the end records start; the central directory must end at or before it.
    let endRecordsStart: Int
}

extension ZipDirectoryLocation {
    private static let endSignature: UInt32 = 0x0605_4B50
    private static let zip64LocatorSignature: UInt32 = 0x0706_4B50
    private static let zip64EndSignature: UInt32 = 0x0606_4B50
    private static let endRecordSize = 22
    private static let zip64LocatorSize = 20
    private static let zip64EndRecordSize = 56

    /// Finds and validates the end records of the archive in `bytes`.
    static func locate(in bytes: UnsafeRawBufferPointer, path: String) throws -> ZipDirectoryLocation {
        func fault(_ text: String) -> CheckpointError { .malformedZip(path: path, fault: text) }
        let count = bytes.count
        guard count >= endRecordSize else {
            throw fault("file is \(count) bytes, too short for an end of central directory record (truncated?)")
        }

        // The record is 22 bytes plus a comment of at most 65535 bytes, so the
        // search never looks further back than that from the end of the file.
        let lowest = max(0, count - endRecordSize - 0xFFFF)
        var found: Int?
        var candidate = count - endRecordSize
        while candidate >= lowest {
            if bytes.loadUnaligned(fromByteOffset: candidate, as: UInt32.self) == endSignature.littleEndian {
                let comment = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: candidate + 20, as: UInt16.self)))
                // The comment must end exactly at the end of the file; anything
                // else is a signature-like byte run inside data, or a truncation.
                if candidate + endRecordSize + comment == count { found = candidate; break }
            }
            candidate -= 1
        }
        guard let endOffset = found else {
            throw fault("end of central directory record not found in the last \(count - lowest) bytes (file truncated or not a zip)")
        }

        var end = ByteCursor(bytes, offset: endOffset + 4) { fault("end of central directory record cut short at \($0)") }
        let disk = try end.u16("disk number")
        let directoryDisk = try end.u16("central directory disk")
        let entriesOnDisk = try end.u16("entries on this disk")
        let totalEntries = try end.u16("total entries")
        let directorySize = try end.u32("central directory size")
        let directoryOffset = try end.u32("central directory offset")

        var location = ZipDirectoryLocation(entryCount: Int(totalEntries), offset: Int(directoryOffset),
                                            size: Int(directorySize), endRecordsStart: endOffset)
        var disksOK = disk == 0 && directoryDisk == 0 && entriesOnDisk == totalEntries
        let saturated = disk == 0xFFFF || directoryDisk == 0xFFFF || entriesOnDisk == 0xFFFF || totalEntries == 0xFFFF
            || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF

        let locatorOffset = endOffset - zip64LocatorSize
        if locatorOffset >= 0,
           bytes.loadUnaligned(fromByteOffset: locatorOffset, as: UInt32.self) == zip64LocatorSignature.littleEndian {
            location = try zip64Location(in: bytes, locatorOffset: locatorOffset, path: path)
            disksOK = true  // checked inside zip64Location
        } else if saturated {
            throw fault("end of central directory holds ZIP64 placeholder values but there is no ZIP64 locator")
        }
        guard disksOK else { throw fault("multi-disk (spanned) archives are not supported") }

        guard let directoryEnd = Checked.add(location.offset, location.size), directoryEnd <= location.endRecordsStart else {
            throw fault("central directory (offset \(location.offset), \(location.size) bytes) runs past its end record at \(location.endRecordsStart) (truncated?)")
        }
        // Each central directory entry is at least 46 bytes: this bounds the
        // entry count by real bytes before anything is allocated for it.
        guard location.entryCount <= location.size / 46 else {
            throw fault("claims \(location.entryCount) entries but the central directory holds only \(location.size) bytes")
        }
        return location
    }

    private static func zip64Location(in bytes: UnsafeRawBufferPointer, locatorOffset: Int,
                                      path: String) throws -> ZipDirectoryLocation {
        func fault(_ text: String) -> CheckpointError { .malformedZip(path: path, fault: text) }
        var locator = ByteCursor(bytes, offset: locatorOffset + 4) { fault("ZIP64 locator cut short at \($0)") }
        let recordDisk = try locator.u32("ZIP64 record disk")
        let recordOffset64 = try locator.u64("ZIP64 record offset")
        let diskCount = try locator.u32("disk count")
        guard recordDisk == 0, diskCount <= 1 else { throw fault("multi-disk (spanned) archives are not supported") }
        guard let recordOffset = Checked.int(recordOffset64),
              let recordEnd = Checked.add(recordOffset, zip64EndRecordSize), recordEnd <= locatorOffset else {
            throw fault("ZIP64 end record offset \(recordOffset64) is outside the file")
        }
        var record = ByteCursor(bytes, offset: recordOffset) { fault("ZIP64 end record cut short at \($0)") }
        guard try record.u32("ZIP64 end signature") == zip64EndSignature else {
            throw fault("no ZIP64 end of central directory record at offset \(recordOffset)")
        }
        try record.skip(8 + 2 + 2, "ZIP64 record size and versions")
        let disk = try record.u32("disk number")
        let directoryDisk = try record.u32("central directory disk")
        let entriesOnDisk = try record.u64("entries on this disk")
        let totalEntries = try record.u64("total entries")
        let directorySize = try record.u64("central directory size")
        let directoryOffset = try record.u64("central directory offset")
        guard disk == 0, directoryDisk == 0, entriesOnDisk == totalEntries else {
            throw fault("multi-disk (spanned) archives are not supported")
        }
        guard let entries = Checked.int(totalEntries), let size = Checked.int(directorySize),
              let offset = Checked.int(directoryOffset) else {
            throw fault("ZIP64 central directory values out of range")
        }
        return ZipDirectoryLocation(entryCount: entries, offset: offset, size: size, endRecordsStart: recordOffset)
    }
}
