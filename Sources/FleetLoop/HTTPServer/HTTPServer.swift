import CFleetShims

/// libmicrohttpd on the reactor. MHD runs in external-epoll mode: its own epoll fd sits in our epoll
/// set, `MHD_run` runs when that fd is readable, and `MHD_get_timeout` drives one timer for idle
/// connection expiry. Handlers are synchronous and run on the loop thread.
/// <https://www.gnu.org/software/libmicrohttpd/manual/libmicrohttpd.html>
public final class HTTPServer {
    public struct Limits: Sendable {
        public var maxBodyBytes: Int = 1 << 20
        public var maxConnections: UInt32 = 64
        /// Idle connections are closed after this.
        public var connectionTimeoutSeconds: UInt32 = 30
        /// MHD's per-connection buffer for headers and the request line.
        public var connectionMemory: Int = 64 << 10
        public init() {}
    }

    public typealias Handler = (HTTPServerRequest) -> HTTPServerResponse

    private let reactor: Reactor
    private var daemon: OpaquePointer?
    private var registration: RegistrationID?
    private var timer: TimerID?
    let limits: Limits
    let handler: Handler
    public private(set) var port: UInt16 = 0
    public private(set) var requestsServed: UInt64 = 0
    public private(set) var requestsRejected: UInt64 = 0

    /// Binds `host` (an IPv4 literal) and `port` (0 picks a free one; read `port` afterwards).
    public init(reactor: Reactor, host: String, port: UInt16, limits: Limits = Limits(),
                handler: @escaping Handler) throws(SystemError) {
        self.reactor = reactor
        self.limits = limits
        self.handler = handler
        var addr = in_addr()
        guard inet_pton(AF_INET, host, &addr) == 1 else {
            throw SystemError(errno: EINVAL, operation: "http listen address \(host)")
        }
        let me = Unmanaged.passUnretained(self).toOpaque()
        cfs_set_errno(0)
        daemon = cfs_mhd_start(addr.s_addr, port, { cls, conn, url, method, _, upload, uploadSize, state in
            HTTPServer.from(cls).access(conn!, url: url, method: method, upload: upload,
                                        uploadSize: uploadSize!, state: state!)
        }, me, { _, _, state, _ in
            // Called once per request, whatever happened: release what `access` retained.
            if let raw = state?.pointee {
                Unmanaged<RequestState>.fromOpaque(raw).release()
                state?.pointee = nil
            }
        }, me, limits.maxConnections, limits.connectionTimeoutSeconds, limits.connectionMemory)
        guard let daemon else {
            let err = cfs_errno()
            throw SystemError(errno: err == 0 ? EADDRINUSE : err, operation: "http listen \(host):\(port)")
        }
        self.port = cfs_mhd_bound_port(daemon)
        let fd = cfs_mhd_epoll_fd(daemon)
        registration = try reactor.register(fd: fd, interest: .read) { [unowned self] _ in self.runDaemon() }
        runDaemon()
    }

    deinit { stop() }

    /// Closes the listener and every connection.
    public func stop() {
        if let r = registration { reactor.deregister(r); registration = nil }
        if let t = timer { reactor.cancel(t); timer = nil }
        if let d = daemon { MHD_stop_daemon(d); daemon = nil }
    }

    private static func from(_ p: UnsafeMutableRawPointer?) -> HTTPServer {
        Unmanaged<HTTPServer>.fromOpaque(p!).takeUnretainedValue()
    }

    private func runDaemon() {
        guard let daemon else { return }
        _ = MHD_run(daemon)
        if let t = timer { reactor.cancel(t); timer = nil }
        var ms: UInt64 = 0
        if MHD_get_timeout(daemon, &ms) == MHD_Result.YES {
            timer = reactor.schedule(after: .milliseconds(Int64(min(ms, 60_000)))) { [unowned self] in
                self.timer = nil
                self.runDaemon()
            }
        }
    }

    // MARK: - Request assembly

    /// What we know about a request between MHD's calls: headers, the body so far, or that it was
    /// already answered (too large).
    final class RequestState {
        var body: [UInt8] = []
        var answered = false
    }

    private func access(_ conn: OpaquePointer, url: UnsafePointer<CChar>?, method: UnsafePointer<CChar>?,
                        upload: UnsafePointer<CChar>?, uploadSize: UnsafeMutablePointer<Int>,
                        state: UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> MHD_Result {
        // First call: headers are in, no body yet. Refuse a declared oversized body before reading it.
        guard let raw = state.pointee else {
            let s = RequestState()
            state.pointee = Unmanaged.passRetained(s).toOpaque()
            if let declared = lookup(conn, .HEADER_KIND, "Content-Length").flatMap({ Int($0) }),
               declared > limits.maxBodyBytes {
                s.answered = true
                return reply(conn, tooLarge())
            }
            return .YES
        }
        let s = Unmanaged<RequestState>.fromOpaque(raw).takeUnretainedValue()
        if uploadSize.pointee > 0 {
            let n = uploadSize.pointee
            uploadSize.pointee = 0
            if s.answered { return .YES }
            if s.body.count + n > limits.maxBodyBytes {
                s.answered = true
                s.body = []
                return reply(conn, tooLarge())
            }
            upload!.withMemoryRebound(to: UInt8.self, capacity: n) {
                s.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: n))
            }
            return .YES
        }
        if s.answered { return .YES }
        s.answered = true
        var request = HTTPServerRequest(method: method.map { String(cString: $0) } ?? "GET",
                                        path: url.map { String(cString: $0) } ?? "/", body: s.body)
        request.query = values(conn, .GET_ARGUMENT_KIND, lowercase: false)
        request.headers = values(conn, .HEADER_KIND, lowercase: true)
        requestsServed += 1
        return reply(conn, handler(request))
    }

    private func tooLarge() -> HTTPServerResponse {
        requestsRejected += 1
        return .error(413, "payload_too_large", "request body exceeds \(limits.maxBodyBytes) bytes")
    }

    private func reply(_ conn: OpaquePointer, _ response: HTTPServerResponse) -> MHD_Result {
        let mhd = response.body.withUnsafeBytes { buf in
            MHD_create_response_from_buffer(buf.count, UnsafeMutableRawPointer(mutating: buf.baseAddress),
                                            .RESPMEM_MUST_COPY)
        }
        guard let mhd else { return .NO }
        for (name, value) in response.headers { _ = MHD_add_response_header(mhd, name, value) }
        let rc = MHD_queue_response(conn, UInt32(response.status), mhd)
        MHD_destroy_response(mhd)
        return rc
    }

    private func lookup(_ conn: OpaquePointer, _ kind: MHD_ValueKind, _ key: String) -> String? {
        MHD_lookup_connection_value(conn, kind, key).map { String(cString: $0) }
    }

    private final class Collector {
        var values: [String: String] = [:]
        var lowercase = false
    }

    private func values(_ conn: OpaquePointer, _ kind: MHD_ValueKind, lowercase: Bool) -> [String: String] {
        let c = Collector()
        c.lowercase = lowercase
        withExtendedLifetime(c) {
            _ = MHD_get_connection_values(conn, kind, { cls, _, key, value in
                let c = Unmanaged<Collector>.fromOpaque(cls!).takeUnretainedValue()
                guard let key else { return .YES }
                let k = String(cString: key)
                c.values[c.lowercase ? k.lowercased() : k] = value.map { String(cString: $0) } ?? ""
                return .YES
            }, Unmanaged.passUnretained(c).toOpaque())
        }
        return c.values
    }
}

@available(*, unavailable) extension HTTPServer: Sendable {}
