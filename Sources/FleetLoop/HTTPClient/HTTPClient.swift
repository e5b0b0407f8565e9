import CFleetShims

private let curlInitialised: Void = {
    // Not thread-safe by contract; the lazy global runs it once, before the first handle exists.
    precondition(curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK, "curl_global_init failed")
}()

/// libcurl's multi interface on the reactor: curl tells us which sockets to watch and when its
/// timeout is due (CURLMOPT_SOCKETFUNCTION / TIMERFUNCTION); we feed readiness back with
/// `curl_multi_socket_action` and drain finished transfers with `curl_multi_info_read`.
/// <https://curl.se/libcurl/c/curl_multi_socket_action.html>
///
/// TLS verification stays on and proxies come from the environment (libcurl's defaults). Host names
/// other than IP literals resolve in libcurl's short-lived resolver thread; IP literals never do.
public final class HTTPClient {
    private let reactor: Reactor
    private let multi: UnsafeMutableRawPointer
    private var sockets: [curl_socket_t: RegistrationID] = [:]
    private var timeoutTimer: TimerID?
    private var transfers: [UnsafeMutableRawPointer: Transfer] = [:]
    public private(set) var completed: UInt64 = 0

    public init(reactor: Reactor) {
        _ = curlInitialised
        self.reactor = reactor
        multi = curl_multi_init()!
        let me = Unmanaged.passUnretained(self).toOpaque()
        // Setup-time setopt failures are bugs (wrong option type), not runtime conditions.
        precondition(cfs_multi_setopt_ptr(multi, CURLMOPT_SOCKETDATA, me) == CURLM_OK)
        precondition(cfs_multi_setopt_ptr(multi, CURLMOPT_TIMERDATA, me) == CURLM_OK)
        precondition(cfs_multi_setopt_socketfn(multi) { _, socket, what, clientp, _ in
            HTTPClient.from(clientp).watch(socket: socket, what: what)
            return 0
        } == CURLM_OK)
        precondition(cfs_multi_setopt_timerfn(multi) { _, timeoutMS, clientp in
            HTTPClient.from(clientp).setTimeout(ms: timeoutMS)
            return 0
        } == CURLM_OK)
    }

    deinit {
        for (easy, transfer) in transfers {
            curl_multi_remove_handle(multi, easy)
            transfer.release()
        }
        for (_, id) in sockets { reactor.deregister(id) }
        if let t = timeoutTimer { reactor.cancel(t) }
        curl_multi_cleanup(multi)
    }

    private static func from(_ p: UnsafeMutableRawPointer?) -> HTTPClient {
        Unmanaged<HTTPClient>.fromOpaque(p!).takeUnretainedValue()
    }

    public var inFlight: Int { transfers.count }

    /// Starts a transfer; `completion` runs on the loop when it ends, with a response (any status)
    /// or the reason no response arrived.
    public func send(_ request: HTTPRequest, completion: @escaping (Result<HTTPResponse, CurlError>) -> Void) {
        let transfer: Transfer
        do {
            transfer = try Transfer(request: request, completion: completion)
        } catch {
            completion(.failure(error))
            return
        }
        transfers[transfer.easy] = transfer
        let rc = curl_multi_add_handle(multi, transfer.easy)
        if rc != CURLM_OK {
            transfers[transfer.easy] = nil
            transfer.release()
            completion(.failure(CurlError(code: Int32(rc.rawValue), operation: "curl_multi_add_handle",
                                          url: request.url, message: String(cString: curl_multi_strerror(rc)))))
        }
    }

    // MARK: - curl → reactor

    private func watch(socket: curl_socket_t, what: CInt) {
        if what == cfs_CURL_POLL_REMOVE {
            if let id = sockets.removeValue(forKey: socket) { reactor.deregister(id) }
            return
        }
        var interest: Interest = []
        if what == cfs_CURL_POLL_IN || what == cfs_CURL_POLL_INOUT { interest.insert(.read) }
        if what == cfs_CURL_POLL_OUT || what == cfs_CURL_POLL_INOUT { interest.insert(.write) }
        if let id = sockets[socket] {
            do { try reactor.modify(id, interest: interest) } catch { failAll(error) }
            return
        }
        do {
            sockets[socket] = try reactor.register(fd: socket, interest: interest) { [unowned self] readiness in
                var mask: CInt = 0
                if readiness.contains(.readable) || readiness.contains(.hangup) { mask |= cfs_CURL_CSELECT_IN }
                if readiness.contains(.writable) { mask |= cfs_CURL_CSELECT_OUT }
                if readiness.contains(.error) { mask |= cfs_CURL_CSELECT_ERR }
                self.action(socket: socket, mask: mask)
            }
        } catch {
            failAll(error)
        }
    }

    /// curl asks for one non-repeating timer; a new call replaces the old one and -1 removes it.
    /// We never call libcurl from here: the timer fires on a later pass of the loop.
    private func setTimeout(ms: Int) {
        if let t = timeoutTimer { reactor.cancel(t); timeoutTimer = nil }
        guard ms >= 0 else { return }
        timeoutTimer = reactor.schedule(after: .milliseconds(ms)) { [unowned self] in
            self.timeoutTimer = nil
            self.action(socket: cfs_CURL_SOCKET_TIMEOUT, mask: 0)
        }
    }

    private func action(socket: curl_socket_t, mask: CInt) {
        var running: CInt = 0
        let rc = curl_multi_socket_action(multi, socket, mask, &running)
        if rc != CURLM_OK {
            failAll(CurlError(code: Int32(rc.rawValue), operation: "curl_multi_socket_action", url: "",
                              message: String(cString: curl_multi_strerror(rc))))
            return
        }
        drainFinished()
    }

    private func drainFinished() {
        var done = cfs_curl_done()
        while cfs_multi_next_done(multi, &done) == 1 {
            guard let easy = done.easy, let transfer = transfers.removeValue(forKey: easy) else {
                continue
            }
            curl_multi_remove_handle(multi, easy)
            let result = transfer.finish(code: done.result)
            transfer.release()
            completed += 1
            transfer.completion(result)
        }
    }

    /// After a multi-level failure "the state of all transfers is uncertain": end them all.
    private func failAll(_ error: any Error) {
        let message = "\(error)"
        for (easy, transfer) in transfers {
            curl_multi_remove_handle(multi, easy)
            transfer.release()
            transfer.completion(.failure(CurlError(code: -1, operation: "event loop", url: transfer.url,
                                                   message: message)))
        }
        transfers.removeAll()
    }
}

@available(*, unavailable) extension HTTPClient: Sendable {}
