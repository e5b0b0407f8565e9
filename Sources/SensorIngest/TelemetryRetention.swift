import FleetLoop
import Logging

/// Deletes raw readings and rollups past their retention in small slices on a timer: a slice
/// is one short transaction, and a backlog (first start after an upgrade, a clock jump) is
/// worked off one slice per second instead of in one long stall. Loop-bound.
public final class TelemetryRetention {
    public struct Settings: Equatable, Sendable {
        /// Raw readings are kept this long (seconds).
        public var raw = 30 * 86_400.0
        /// Rollups are kept this long (seconds).
        public var rollups = 400 * 86_400.0
        /// Rows deleted per slice (a packed row holds an uplink's readings): ~2 ms each.
        public var slice = 500
        /// Pause between slices while a backlog remains.
        public var busyInterval: Duration = .seconds(1)
        /// Pause once everything old is gone.
        public var idleInterval: Duration = .seconds(300)

        public init() {}
    }

    public private(set) var removed = 0
    private let store: TelemetryStore
    private let reactor: Reactor
    private let logger: Logger
    public var settings: Settings
    private var timer: TimerID?

    public init(store: TelemetryStore, reactor: Reactor, settings: Settings, logger: Logger) {
        self.store = store
        self.reactor = reactor
        self.settings = settings
        self.logger = logger
    }

    /// Starts the timer; the first slice runs after `busyInterval`.
    public func start() {
        schedule(settings.busyInterval)
    }

    public func stop() {
        if let timer { reactor.cancel(timer) }
        timer = nil
    }

    /// One slice now; true when it was full (more may be waiting).
    @discardableResult
    public func runSlice() -> Bool {
        let now = reactor.clock.unixTime
        do {
            let readings = try store.pruneReadings(before: now - settings.raw, limit: settings.slice)
            let rollups = try store.pruneRollups(before: now - settings.rollups, limit: settings.slice)
            removed += readings + rollups
            return readings >= settings.slice || rollups >= settings.slice
        } catch {
            logger.warning("retention slice failed; retrying later", metadata: ["error": "\(error)"])
            return false
        }
    }

    private func schedule(_ delay: Duration) {
        timer = reactor.schedule(after: delay) { [weak self] in
            guard let self else { return }
            let more = self.runSlice()
            self.schedule(more ? self.settings.busyInterval : self.settings.idleInterval)
        }
    }
}

@available(*, unavailable) extension TelemetryRetention: Sendable {}
