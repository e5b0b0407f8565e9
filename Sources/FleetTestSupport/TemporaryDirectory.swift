import CFleetShims
import Glibc

/// A fresh directory under /tmp for one test's files, removed with everything in it when the value
/// goes away.
public final class TemporaryDirectory {
    public let path: String

    public init(_ prefix: String = "fc-test") {
        path = makeTempDir(prefix)
    }

    deinit { removeTree(path) }

    public func file(_ name: String) -> String { "\(path)/\(name)" }

    public func exists(_ name: String) -> Bool { access(file(name), F_OK) == 0 }

    /// Creates or replaces `name` with `text`.
    public func write(_ name: String, _ text: String) throws {
        try writeFile(file(name), text)
    }

    public func write(_ name: String, bytes: [UInt8]) throws {
        try writeFile(file(name), bytes: bytes)
    }

    /// Overwrites `bytes` at `offset` of an existing file, to damage it on purpose.
    public func overwrite(_ name: String, at offset: Int, with bytes: [UInt8]) throws {
        let fd = open(file(name), O_WRONLY)
        guard fd >= 0 else { throw HarnessError("open \(name): errno \(cfs_errno())") }
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
        guard written == bytes.count else { throw HarnessError("pwrite \(name): errno \(cfs_errno())") }
    }
}
