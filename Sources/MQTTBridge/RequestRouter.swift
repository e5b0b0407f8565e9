import FleetJSON
import FleetLoop
import Logging

/// A request from a paired device: `<prefix>/dev/<device_id>/up/<op>` with a JSON body.
public struct DeviceRequest: Sendable {
    public var deviceID: String
    public var op: String
    public var body: JSON
    public var message: MQTTMessage
}

/// Answers device requests. The reply goes to the MQTT v5 Response Topic with the Correlation Data
/// echoed; MQTT 3.1.1 devices put `"reply_to"` and `"id"` in the body instead, and get `"id"` back.
/// A reply topic outside the device's own `down/` tree is refused: the controller's broker account can
/// publish anywhere, so a device must not be able to steer it at another device or at our status.
public final class RequestRouter {
    public typealias Handler = (DeviceRequest) -> JSON

    private let client: MQTTClient
    private let prefix: String
    private let logger: Logger
    private var handlers: [String: Handler] = [:]
    public static let maxPayloadBytes = 64 << 10
    public private(set) var answered: UInt64 = 0
    public private(set) var rejected: UInt64 = 0
    private var warned: Set<String> = []

    public init(client: MQTTClient, prefix: String, logger: Logger) {
        self.client = client
        self.prefix = prefix
        self.logger = logger
    }

    public func on(_ op: String, _ handler: @escaping Handler) { handlers[op] = handler }

    /// Subscribes to every device's requests.
    public func start() {
        client.subscribe("\(prefix)/dev/+/up/+", qos: 1) { [unowned self] m in self.route(m) }
    }

    func route(_ message: MQTTMessage) {
        let levels = Topic.levels(message.topic)
        let base = Topic.levels(prefix).count
        guard levels.count == base + 4 else { return }
        let deviceID = String(levels[base + 1]), op = String(levels[base + 3])
        let ownDown = "\(prefix)/dev/\(deviceID)/down/"

        var body: JSON = .null
        var failure: JSON?
        if message.payload.count > Self.maxPayloadBytes {
            failure = ["error": "payload_too_large", "message": JSON("request exceeds \(Self.maxPayloadBytes) bytes")]
        } else if !message.payload.isEmpty {
            do { body = try JSON.parse(message.payload) } catch {
                failure = ["error": "bad_request", "message": JSON("invalid JSON at byte \(error.offset): \(error.reason)")]
            }
        }
        let replyTopic = message.responseTopic ?? body["reply_to"]?.string ?? "\(ownDown)\(op)"
        guard replyTopic.hasPrefix(ownDown), Topic.isValidName(replyTopic) else {
            rejected += 1
            warnOnce(deviceID, "device \(deviceID) asked for a reply on \(replyTopic), outside its own \(ownDown)#; ignored")
            return
        }
        var reply: JSON
        if let failure {
            rejected += 1
            warnOnce(deviceID, "device \(deviceID) sent a malformed \(op) request: \(failure["message"]?.string ?? "")")
            reply = failure
        } else if let handler = handlers[op] {
            reply = handler(DeviceRequest(deviceID: deviceID, op: op, body: body, message: message))
            answered += 1
        } else {
            rejected += 1
            reply = ["error": "unknown_op", "message": JSON("no operation \(op); known: \(handlers.keys.sorted().joined(separator: ", "))")]
        }
        if message.responseTopic == nil, let id = body["id"], case .object(var object) = reply {
            object["id"] = id
            reply = .object(object)
        }
        client.publish(MQTTMessage(topic: replyTopic, payload: reply.bytes, qos: 1,
                                   correlationData: message.correlationData))
    }

    private func warnOnce(_ key: String, _ text: String) {
        if warned.insert(key).inserted { logger.warning("\(text)") }
    }
}

@available(*, unavailable) extension RequestRouter: Sendable {}
