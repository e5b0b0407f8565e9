import Foundation
import Logging

@testable import SensorIngest


/// Collects log lines so tests can check what was logged, and how often.
final class CapturedLogs: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [(level: Logger.Level, message: String)] = []

    var entries: [(level: Logger.Level, message: String)] { lock.withLock { storage } }

    func append(_ level: Logger.Level, _ message: String) { lock.withLock { storage.append((level, message)) } }

    func count(containing text: String) -> Int { entries.filter { $0.message.contains(text) }.count }

    var logger: Logger {
        Logger(label: "test") { _ in Handler(logs: self) }
    }

    struct Handler: LogHandler {
        let logs: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            logs.append(event.level, event.message.description)
        }
    }
}
