#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fresh directory under /tmp, removed with its files when the value goes away.
final class ScratchDir {
    let path: String

    init() throws {
        var template = Array("/tmp/directory-cache-test-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw ScratchError(message: "mkdtemp failed: errno \(errno)")
        }
        path = String(cString: made)
    }

    /// Writes `text` to `name` inside the directory, replacing it.
    func write(_ name: String, _ text: String) throws {
        try write(name, bytes: Array(text.utf8))
    }

    func write(_ name: String, bytes: [UInt8]) throws {
        guard let file = fopen(path + "/" + name, "wb") else { throw ScratchError(message: "cannot create \(name)") }
        defer { fclose(file) }
        guard fwrite(bytes, 1, bytes.count, file) == bytes.count else { throw ScratchError(message: "short write \(name)") }
    }

    deinit {
        // Tests only create plain files at the top level.
        if let dir = opendir(path) {
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name != "." && name != ".." { unlink(path + "/" + name) }
            }
            closedir(dir)
        }
        rmdir(path)
    }
}

struct ScratchError: Error {
    var message: String
}
