import Glibc

/// A fresh directory under /tmp for one test's database files, removed with its (flat) contents.
final class TemporaryDirectory {
    let path: String

    init() {
        var template = Array("/tmp/fleetstore-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(created != nil, "mkdtemp failed: errno \(errno)")
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit {
        if let directory = opendir(path) {
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name != "." && name != ".." { unlink("\(path)/\(name)") }
            }
            closedir(directory)
        }
        rmdir(path)
    }

    func file(_ name: String) -> String { "\(path)/\(name)" }

    /// Overwrites `bytes` at `offset` of an existing file, to damage it on purpose.
    func overwrite(_ name: String, at offset: Int, with bytes: [UInt8]) {
        let descriptor = open(file(name), O_WRONLY)
        precondition(descriptor >= 0, "open failed: errno \(errno)")
        let written = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(offset)) }
        precondition(written == bytes.count, "pwrite failed: errno \(errno)")
        close(descriptor)
    }

    func write(_ name: String, _ text: String) {
        let descriptor = open(file(name), O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        precondition(descriptor >= 0, "open failed: errno \(errno)")
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
    }

    func exists(_ name: String) -> Bool { access(file(name), F_OK) == 0 }
}

/// Extended result codes are function-like macros in sqlite3.h, which Swift does not import.
enum ExtendedCode {
    static let constraintNotNull: Int32 = 19 | (5 << 8)
    static let constraintPrimaryKey: Int32 = 19 | (6 << 8)
    static let constraintForeignKey: Int32 = 19 | (3 << 8)
}
