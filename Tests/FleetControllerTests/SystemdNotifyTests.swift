import CFleetShims
import FleetTestSupport
import Testing

/// A stand-in for systemd's notify socket: a datagram socket the daemon writes to.
private final class NotifySocket {
    let path: String
    let fd: CInt

    init(dir: String) {
        path = "\(dir)/notify.sock"
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    deinit { close(fd) }

    /// Messages received so far, without waiting.
    func drain() -> [String] {
        var out: [String] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { return out }
            out.append(String(decoding: buf[0..<n], as: UTF8.self))
        }
    }
}

@Suite(.serialized) struct SystemdNotifyTests {
    @Test func readyOnlyAfterTheBrokerIsSubscribedThenWatchdogAndStopping() throws {
        let broker = try BrokerHarness()
        broker.stop()
        let d = try DaemonHarness(people: "email,display_name,role,badge,active\na@x.io,A,admin,B1,true\n", broker: broker)
        let notify = NotifySocket(dir: d.dir)
        try d.start(environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "200000"], requireHealthy: false)

        // The loop runs and answers (503: no broker), but it has not claimed readiness.
        #expect(try d.get("/healthz").status == 503)
        var messages = notify.drain()
        #expect(!messages.contains { $0.hasPrefix("READY=1") })

        try broker.start()
        #expect(waitUntil(seconds: 30) {
            messages += notify.drain()
            return messages.contains { $0.hasPrefix("READY=1") } && messages.filter { $0 == "WATCHDOG=1" }.count >= 2
        }, "\(messages)")
        #expect(try d.get("/healthz").status == 200)

        #expect(d.stop() == 0)
        messages += notify.drain()
        #expect(messages.contains("STOPPING=1"))
    }
}
