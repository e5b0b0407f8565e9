import CFleetShims
import DevicePairing
import DirectoryCache
import FleetJSON
import FleetLoop
import MQTTBridge
import SensorIngest

/// Directory sources on timers, and the sync runs they produce.
extension Daemon {
    func scheduleSyncs() {
        syncTimers.forEach(reactor.cancel)
        syncTimers = []
        for source in config.sources {
            runSync(source.name)
            syncTimers.append(reactor.every(source.interval) { [unowned self] in self.runSync(source.name) })
        }
    }

    @discardableResult
    func runSync(_ name: String, force: Bool = false) -> SyncRunResult? {
        guard let source = config.sources.first(where: { $0.name == name }), let path = source.path else { return nil }
        let result = directory.syncCSV(name: name, path: path, force: force)
        let previous = lastSync[name]
        lastSync[name] = result
        // Log a run's outcome when it changes, not every interval.
        if previous?.status != result.status || previous?.reason != result.reason {
            switch result.status {
            case .succeeded: logger.info("directory source \(name) synced", metadata: ["counts": "\(result.run.counts)"])
            case .held: logger.warning("directory source \(name) held: \(result.reason ?? "")")
            default: logger.error("directory source \(name) failed: \(result.reason ?? "")")
            }
        }
        return result
    }

}
