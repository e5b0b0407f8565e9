import Logging

/// Collects what a component logs, so a test can check what was said and how often (a fault that
/// repeats with every message must be logged once).
public final class CapturedLogs: @unchecked Sendable {
    public struct Line {
        public let level: Logger.Level
        public let message: String
        public let metadata: Logger.Metadata
    }

    /// Written from the test's own thread only: each test makes its own instance.
    public private(set) var lines: [Line] = []

    public init() {}

    public func count(containing text: String) -> Int { lines.filter { $0.message.contains(text) }.count }

    public var logger: Logger { Logger(label: "test") { _ in Handler(logs: self) } }

    struct Handler: LogHandler {
        let logs: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var all = metadata
            if let extra = event.metadata { all.merge(extra) { $1 } }
            logs.lines.append(Line(level: event.level, message: event.message.description, metadata: all))
        }
    }
}
