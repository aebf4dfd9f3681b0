import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import XCTest
@testable import SAMQServer
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A client that starts an upload and stalls holds no encoder slot: the body is
/// read whole before anything is queued, so other uploads encode meanwhile.
final class SlowUploadTests: XCTestCase {
    func testStalledUploadDoesNotBlockOtherUploads() async throws {
        let service = try DemoModel.service()
        try await DemoModel.application(service).test(.live) { client in
            let port = try XCTUnwrap(client.port)
            // Announce a 100 kB image, send 1 kB of it, then stall.
            let stalled = try RawConnection(port: port)
            defer { stalled.close() }
            try stalled.send("POST /api/images HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n")
            try stalled.send(String(repeating: "x", count: 1000))

            let id = try await client.upload(try DemoModel.imageBytes(1))
            let result = try await client.predict(id, #"{"points": [[144, 59]], "labels": [1]}"#)
            XCTAssertEqual((result["masks"] as? [Any])?.count, 3)
            let model = try await client.json("/api/model")
            let cache = try XCTUnwrap(model["cache"] as? [String: Any])
            XCTAssertEqual(cache["encoderQueue"] as? Int, 0, "the stalled upload must not be queued")
            XCTAssertEqual(cache["images"] as? Int, 1)
        }
    }
}

/// A plain TCP connection to 127.0.0.1, to send a request that never finishes.
final class RawConnection {
    let fd: Int32

    init(port: Int) throws {
        #if canImport(Glibc)
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard status == 0 else { closeSocket(fd); throw POSIXError(.ECONNREFUSED) }
    }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw POSIXError(.EIO) }
            offset += n
        }
    }

    func close() { closeSocket(fd) }
}

private func closeSocket(_ fd: Int32) {
    #if canImport(Glibc)
    _ = Glibc.close(fd)
    #else
    _ = Darwin.close(fd)
    #endif
}
