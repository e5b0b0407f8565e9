import CFleetShims
import Testing
@testable import FleetLoop

/// The HTTP server and the libcurl client on one reactor: each test is a real TCP round trip on
/// loopback with both ends driven by the same loop.
@Suite struct HTTPTests {
    private func serve(_ loop: Reactor, limits: HTTPServer.Limits = .init(),
                       _ handler: @escaping HTTPServer.Handler) throws -> HTTPServer {
        try HTTPServer(reactor: loop, host: "127.0.0.1", port: 0, limits: limits, handler: handler)
    }

    private func fetch(_ loop: Reactor, _ client: HTTPClient, _ request: HTTPRequest) throws -> Result<HTTPResponse, CurlError> {
        var result: Result<HTTPResponse, CurlError>?
        client.send(request) { result = $0 }
        #expect(try loop.run(until: { result != nil }, limit: .seconds(10)))
        return try #require(result)
    }

    @Test func getWithQueryAndHeaders() throws {
        let loop = try Reactor()
        let server = try serve(loop) { req in
            HTTPServerResponse(status: 200, headers: [("X-Path", req.path)],
                               body: Array("q=\(req.query["q"] ?? "-") auth=\(req.header("Authorization") ?? "-")".utf8))
        }
        let client = HTTPClient(reactor: loop)
        let r = try fetch(loop, client, HTTPRequest(url: "http://127.0.0.1:\(server.port)/api/v1/users?q=ann",
                                                    headers: [("Authorization", "Bearer t0k")])).get()
        #expect(r.status == 200)
        #expect(r.header("x-path") == "/api/v1/users")
        #expect(r.text == "q=ann auth=Bearer t0k")
    }

    @Test func postBodyArrivesWhole() throws {
        let loop = try Reactor()
        let server = try serve(loop) { req in HTTPServerResponse(status: 201, body: req.body.reversed()) }
        let client = HTTPClient(reactor: loop)
        let body = (0..<200_000).map { UInt8($0 % 251) }
        let r = try fetch(loop, client, HTTPRequest(method: "POST", url: "http://127.0.0.1:\(server.port)/x", body: body)).get()
        #expect(r.status == 201)
        #expect(r.body == body.reversed())
    }

    @Test func oversizedBodyIsRefusedWith413() throws {
        let loop = try Reactor()
        var limits = HTTPServer.Limits()
        limits.maxBodyBytes = 1000
        var handled = 0
        let server = try serve(loop, limits: limits) { _ in handled += 1; return HTTPServerResponse(status: 200) }
        let client = HTTPClient(reactor: loop)
        let r = try fetch(loop, client, HTTPRequest(method: "POST", url: "http://127.0.0.1:\(server.port)/x",
                                                    body: [UInt8](repeating: 65, count: 5000))).get()
        #expect(r.status == 413)
        #expect(r.text.contains("payload_too_large"))
        #expect(handled == 0)
        #expect(server.requestsRejected == 1)
    }

    @Test func manyConcurrentTransfersOnOneLoop() throws {
        let loop = try Reactor()
        let server = try serve(loop) { req in HTTPServerResponse(status: 200, body: Array(req.path.utf8)) }
        let client = HTTPClient(reactor: loop)
        var done: [String] = []
        for i in 0..<40 {
            client.send(HTTPRequest(url: "http://127.0.0.1:\(server.port)/n/\(i)")) { r in
                if case .success(let resp) = r { done.append(resp.text) }
            }
        }
        #expect(try loop.run(until: { done.count == 40 }, limit: .seconds(10)))
        #expect(Set(done) == Set((0..<40).map { "/n/\($0)" }))
        #expect(client.inFlight == 0)
    }

    @Test func responseLargerThanTheCapFails() throws {
        let loop = try Reactor()
        let server = try serve(loop) { _ in HTTPServerResponse(status: 200, body: [UInt8](repeating: 1, count: 100_000)) }
        let client = HTTPClient(reactor: loop)
        let r = try fetch(loop, client, HTTPRequest(url: "http://127.0.0.1:\(server.port)/big", maxResponseBytes: 10_000))
        guard case .failure(let e) = r else { Issue.record("expected failure"); return }
        #expect(e.message.contains("exceeds 10000 bytes"))
    }

    @Test func refusedConnectionIsAnErrorNotACrash() throws {
        let loop = try Reactor()
        let client = HTTPClient(reactor: loop)
        // Bind a server to learn a free port, then close it so nothing listens there.
        let port = try serve(loop) { _ in HTTPServerResponse(status: 200) }.port
        let r = try fetch(loop, client, HTTPRequest(url: "http://127.0.0.1:\(port)/", timeout: .seconds(5)))
        guard case .failure(let e) = r else { Issue.record("expected failure"); return }
        #expect(e.code == 7)  // CURLE_COULDNT_CONNECT
    }

    @Test func silentServerTimesOut() throws {
        let loop = try Reactor()
        // A listening socket nobody accepts from: the kernel completes the handshake from the backlog,
        // then no byte ever comes back.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                _ = bind(fd, $0, len); _ = listen(fd, 8); _ = getsockname(fd, $0, &len)
            }
        }
        let client = HTTPClient(reactor: loop)
        let url = "http://127.0.0.1:\(UInt16(bigEndian: addr.sin_port))/"
        let r = try fetch(loop, client, HTTPRequest(url: url, timeout: .milliseconds(200)))
        guard case .failure(let e) = r else { Issue.record("expected failure"); return }
        #expect(e.code == 28)  // CURLE_OPERATION_TIMEDOUT
    }
}
