/// An outgoing HTTP request for `HTTPClient`.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// The whole transfer, connect included.
    public var timeout: Duration
    /// A response body larger than this fails the transfer instead of filling memory.
    public var maxResponseBytes: Int

    public init(method: String = "GET", url: String, headers: [(String, String)] = [], body: [UInt8] = [],
                timeout: Duration = .seconds(30), maxResponseBytes: Int = 16 << 20) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.maxResponseBytes = maxResponseBytes
    }
}

/// A complete HTTP response.
public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header lines of the final response, in order, names as sent.
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first header called `name`, compared case-insensitively.
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.0.lowercased() == lower }?.1
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// A transfer that did not produce an HTTP response: connection refused, timeout, TLS failure,
/// oversized body. Carries libcurl's code and its own explanation.
public struct CurlError: Error, CustomStringConvertible, Sendable {
    public var code: Int32
    public var operation: String
    public var url: String
    public var message: String

    public var description: String { "\(operation) \(url): \(message) (curl \(code))" }
}
