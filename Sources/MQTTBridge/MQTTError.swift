import CFleetShims

/// A libmosquitto call that failed: its mosq_err_t code, the call, and errno when the code is
/// MOSQ_ERR_ERRNO (connection refused, no such socket file, …).
public struct MQTTError: Error, CustomStringConvertible, Sendable {
    public var code: Int32
    public var operation: String
    public var errno: CInt?

    init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
        self.errno = code == Int32(MOSQ_ERR_ERRNO.rawValue) ? cfs_errno() : nil
    }

    public var description: String {
        if let errno { return "\(operation): \(String(cString: strerror(errno))) (errno \(errno))" }
        return "\(operation): \(String(cString: mosquitto_strerror(code))) (mosquitto \(code))"
    }
}
