/// The layout torch.save (>= 1.6) gives its zip: `<archive>/data.pkl`,
/// `<archive>/byteorder`, `<archive>/data/<key>`, where `<archive>` is a
/// top-level folder name of torch's choosing.
struct TorchArchive {
    let zip: ZipArchive
    /// `<archive>/`, including the slash.
    let prefix: String
    let tensors: [TorchTensorRecord]

    /// Parses the archive in `bytes`; reads only the directory, `byteorder` and `data.pkl`.
    init(bytes: UnsafeRawBufferPointer, path: String, limits: PickleLimits = .standard) throws {
        let zip = try ZipArchive(bytes: bytes, path: path)
        let pickles = zip.entries.filter { entry in
            let parts = entry.name.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count == 2 && !parts[0].isEmpty && parts[1] == "data.pkl"
        }
        guard pickles.count == 1 else {
            if pickles.isEmpty { throw CheckpointError.missingZipEntry(path: path, entry: "<archive>/data.pkl") }
            throw CheckpointError.malformedZip(path: path, fault: "several data.pkl entries (\(pickles.map(\.name).joined(separator: ", ")))")
        }
        let prefix = String(pickles[0].name.dropLast("data.pkl".count))

        // Absent in early zip checkpoints, which were all little-endian.
        if let order = zip.entry(named: prefix + "byteorder") {
            let data = try zip.verifiedData(of: order, in: bytes)
            let text = (strictUTF8(data) ?? "<binary>").trimmingWhitespace
            guard text == "little" else { throw CheckpointError.unsupportedByteOrder(path: path, byteOrder: text) }
        }

        let pickle = try zip.verifiedData(of: pickles[0], in: bytes)
        let (root, heap) = try Unpickler.load(pickle, path: path, limits: limits)
        let named = try TorchStateDict.namedTensors(root: root, heap: heap, path: path)
        self.tensors = try named.map { item in
            try TorchTensorRecord(name: item.name, tensor: item.tensor, heap: heap, archive: zip, prefix: prefix, path: path)
        }
        self.zip = zip
        self.prefix = prefix
    }
}

extension ZipArchive {
    /// Stored data whose CRC-32 matches the central directory's.
    func verifiedData(of entry: ZipEntry, in bytes: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer {
        let data = try storedData(of: entry, in: bytes)
        guard CRC32.checksum(data) == entry.crc32 else { throw CheckpointError.checksumMismatch(path: path, entry: entry.name) }
        return data
    }
}

extension String {
    var trimmingWhitespace: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
