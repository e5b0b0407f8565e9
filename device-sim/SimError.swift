/// Why a simulation could not run or finished short: the operation, the option or field at fault
/// (when there is one), and a reason a person can act on.
struct SimError: Error, CustomStringConvertible {
    var operation: String
    var key: String?
    var reason: String

    init(_ operation: String, key: String? = nil, _ reason: String) {
        self.operation = operation
        self.key = key
        self.reason = reason
    }

    var description: String {
        if let key { return "\(operation): \(key): \(reason)" }
        return "\(operation): \(reason)"
    }
}
