/// A message received from or sent to the broker, with the MQTT v5 request/response properties.
public struct MQTTMessage: Sendable {
    public var topic: String
    public var payload: [UInt8]
    public var qos: Int32
    public var retain: Bool
    /// v5 Response Topic: where the sender wants the answer.
    public var responseTopic: String?
    /// v5 Correlation Data: echoed untouched in the answer.
    public var correlationData: [UInt8]?

    public init(topic: String, payload: [UInt8], qos: Int32 = 0, retain: Bool = false,
                responseTopic: String? = nil, correlationData: [UInt8]? = nil) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.responseTopic = responseTopic
        self.correlationData = correlationData
    }

    public var text: String { String(decoding: payload, as: UTF8.self) }
}

/// Where and how the client connects.
public struct MQTTConfig: Sendable {
    /// A host name/IP, or the path of a Unix socket when `port` is 0.
    public var host: String = "127.0.0.1"
    public var port: Int32 = 1883
    public var clientID: String
    public var username: String?
    public var password: String?
    public var keepAliveSeconds: Int32 = 30
    /// v5 session expiry: the broker keeps our subscriptions and queues QoS 1 messages for this long
    /// while we are away. 0 means a clean session.
    public var sessionExpirySeconds: UInt32 = 7 * 24 * 3600
    /// Retained status topic: "online" is published on every connect, "offline" is the Last Will
    /// and is published on a clean stop.
    public var statusTopic: String?
    /// Messages published while disconnected wait in memory up to this count; older ones are kept,
    /// newer ones dropped and counted.
    public var maxQueuedWhileOffline = 10_000
    /// QoS 1 messages sent but not yet acknowledged, beyond which publish() refuses.
    public var maxInflight = 20_000
    /// The window for bulk traffic (telemetry export): `publishBulk` refuses beyond it, and
    /// `onBulkWindowOpen` runs when half of it has drained. Bulk traffic waits in its
    /// owner's bounded queue, not in libmosquitto's outgoing queue, which holds every message until
    /// acknowledged and has no limit of its own, so a slow broker cannot grow it without bound.
    public var bulkWindow = 256
    /// Requests that a person waits for (a door, a kiosk) arrive on this session: its input is
    /// served between two callbacks of a busy loop pass, and other sessions' reads make way for it
    /// (see `Reactor.register(fd:interest:urgent:)`).
    public var urgent = false
    public var protocolVersion: Version = .v5

    public enum Version: Sendable { case v311, v5 }

    public init(clientID: String) { self.clientID = clientID }
}

/// Counters for /metrics and status.
public struct MQTTStats: Sendable {
    public var received: UInt64 = 0
    public var published: UInt64 = 0
    public var dropped: UInt64 = 0
    public var connects: UInt64 = 0
    public var disconnects: UInt64 = 0
    public var connectFailures: UInt64 = 0
}
