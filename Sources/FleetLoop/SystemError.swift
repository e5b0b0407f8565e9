import CFleetShims

/// A failed system call: the errno and the call that failed. One error type for every syscall the
/// loop makes, so callers log the same shape whatever went wrong.
public struct SystemError: Error, CustomStringConvertible, Sendable, Equatable {
    public var errno: CInt
    public var operation: String

    public init(errno: CInt, operation: String) {
        self.errno = errno
        self.operation = operation
    }

    public var description: String {
        "\(operation): \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// The errno policy for every syscall in the loop, in one place:
/// - EINTR is retried (a signal arrived; nothing failed);
/// - EAGAIN/EWOULDBLOCK returns nil (non-blocking fd has nothing now);
/// - EBADF/EFAULT mean we passed a closed fd or a bad pointer: a bug, so stop loudly;
/// - anything else is thrown with the operation's name.
@inline(__always)
func syscall<T: FixedWidthInteger>(_ operation: @autoclosure () -> String, _ body: () -> T) throws(SystemError) -> T? {
    while true {
        let result = body()
        if result >= 0 { return result }
        let err = cfs_errno()
        switch err {
        case EINTR:
            continue
        case EAGAIN, EWOULDBLOCK:
            return nil
        case EBADF, EFAULT:
            preconditionFailure("\(operation()): \(String(cString: strerror(err))) — programming error")
        default:
            throw SystemError(errno: err, operation: operation())
        }
    }
}

/// Closes an fd, ignoring EINTR (Linux has released the fd by then; retrying could close a reused one).
func closeFD(_ fd: CInt) {
    if fd >= 0 { _ = close(fd) }
}
