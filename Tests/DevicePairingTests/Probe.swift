import Foundation
import FleetTestSupport

/// What a broker client may do, asked with mosquitto's own command-line clients (MQTT v5, QoS 1),
/// whose debug output shows the broker's reason codes: 0 success, 16 no subscribers (still
/// success), 135 not authorized; a refused CONNECT shows its CONNACK code.
struct Probe {
    let port: Int32
    let dir: String

    enum Outcome: Equatable {
        case allowed
        case denied
        case refusedConnect(Int)
    }

    private func outcome(_ out: String, ack: String) -> Outcome {
        if let r = out.range(of: "received CONNACK (") {
            let code = Int(out[r.upperBound...].prefix { $0.isNumber }) ?? -1
            if code != 0 { return .refusedConnect(code) }
        }
        guard let r = out.range(of: ack) else { return .refusedConnect(-1) }
        let code = Int(out[r.upperBound...].prefix { $0.isNumber }) ?? -1
        return code == 0 || code == 16 || code == 1 ? .allowed : .denied
    }

    func publish(_ user: String, _ password: String, clientID: String, topic: String, retain: Bool = false,
                 payload: String = "x") throws -> Outcome {
        var args = ["-p", "\(port)", "-V", "5", "-q", "1", "-d", "-u", user, "-P", password, "-i", clientID, "-t", topic,
                    "-m", payload]
        if retain { args.append("-r") }
        let r = try ChildProcess.run("/usr/bin/mosquitto_pub", args, in: dir)
        return outcome(r.output, ack: "PUBACK (Mid: 1, RC:")
    }

    func subscribe(_ user: String, _ password: String, clientID: String, filter: String) throws -> Outcome {
        let r = try ChildProcess.run("/usr/bin/mosquitto_sub", [
            "-p", "\(port)", "-V", "5", "-q", "1", "-d", "-u", user, "-P", password, "-i", clientID, "-t", filter, "-W", "1",
            "-E",
        ], in: dir)
        return outcome(r.output, ack: "Subscribed (mid: 1): ")
    }

    /// The first retained message on `topic`, or nil.
    func retained(_ user: String, _ password: String, clientID: String, topic: String) throws -> String? {
        let r = try ChildProcess.run("/usr/bin/mosquitto_sub", [
            "-p", "\(port)", "-V", "5", "-q", "1", "-u", user, "-P", password, "-i", clientID, "-t", topic, "-C", "1",
            "-W", "2", "--retained-only",
        ], in: dir)
        let text = r.output.trimmingCharacters(in: "\n")
        return r.status == 0 && !text.isEmpty ? text : nil
    }
}
