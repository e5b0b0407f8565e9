import FleetJSON
import FleetLoop

/// The cloud end of check-ins: records every event id it accepted; can be down or answer errors.
public final class CloudStandIn {
    let reactor: Reactor
    private var server: HTTPServer?
    public private(set) var port: UInt16 = 0
    public var status = 200
    public private(set) var accepted: [String] = []
    public private(set) var authorizations: [String] = []
    public private(set) var posts = 0

    public init(reactor: Reactor) throws {
        self.reactor = reactor
        try listen()
    }

    public func listen() throws {
        server = try HTTPServer(reactor: reactor, host: "127.0.0.1", port: port) { [unowned self] req in
            self.posts += 1
            self.authorizations.append(req.header("authorization") ?? "")
            guard self.status == 200 else {
                return HTTPServerResponse(status: self.status, headers: [("Retry-After", "0.02")], body: [])
            }
            for item in (try? JSON.parse(req.body))?["checkins"]?.array ?? [] {
                if let id = item["id"]?.string { self.accepted.append(id) }
            }
            return HTTPServerResponse(status: 200, contentType: "application/json", body: "{}")
        }
        port = server!.port
    }

    public func stop() {
        server?.stop()
        server = nil
    }

    public var url: String { "http://127.0.0.1:\(port)/v1/checkins" }
}

@available(*, unavailable) extension CloudStandIn: Sendable {}
