import CFleetShims
import DevicePairing
import DirectoryCache
import FleetJSON
import FleetLoop
import MQTTBridge
import SensorIngest

/// Sensor gateways' topics → SensorIngest.
extension Daemon {
    func installIngestSubscriptions(_ c: Configuration) {
        for sub in c.subscriptions where !ingestSubscribed.contains(sub.topic) {
            guard let format = EnvelopeFormat(rawValue: sub.format) else { continue }
            ingestSubscribed.insert(sub.topic)
            let filter = sub.topic
            mqtt.subscribe(filter, qos: 1) { [unowned self] m in
                self.ingest.handle(topic: m.topic, payload: m.payload, format: format)
            }
        }
    }

}
