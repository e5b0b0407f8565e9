import CFleetShims

/// One easy handle with its request buffers, the response being received, and the completion.
/// libcurl holds a pointer to this object (WRITEDATA/HEADERDATA) while the transfer runs.
final class Transfer {
    let easy: UnsafeMutableRawPointer
    let url: String
    let completion: (Result<HTTPResponse, CurlError>) -> Void
    private let maxBytes: Int
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let requestBody: UnsafeMutableBufferPointer<UInt8>
    private var body: [UInt8] = []
    private var headers: [(String, String)] = []
    private var overflowed = false

    init(request: HTTPRequest, completion: @escaping (Result<HTTPResponse, CurlError>) -> Void) throws(CurlError) {
        guard let easy = curl_easy_init() else {
            throw CurlError(code: -1, operation: "curl_easy_init", url: request.url, message: "out of memory")
        }
        self.easy = easy
        self.url = request.url
        self.completion = completion
        self.maxBytes = request.maxResponseBytes
        // libcurl reads the body during the transfer: keep our own copy alive until release().
        requestBody = .allocate(capacity: max(request.body.count, 1))
        _ = requestBody.initialize(from: request.body)

        let me = Unmanaged.passUnretained(self).toOpaque()
        func set(_ option: CURLoption, long value: Int) {
            precondition(cfs_easy_setopt_long(easy, option, value) == CURLE_OK, "setopt \(option)")
        }
        func set(_ option: CURLoption, string: String) {
            // CURLOPT string options are copied by libcurl (since 7.17), so a temporary is fine.
            precondition(string.withCString { cfs_easy_setopt_ptr(easy, option, $0) } == CURLE_OK, "setopt \(option)")
        }
        set(CURLOPT_URL, string: request.url)
        set(CURLOPT_NOSIGNAL, long: 1)
        set(CURLOPT_TIMEOUT_MS, long: Int(request.timeout.milliseconds))
        set(CURLOPT_CONNECTTIMEOUT_MS, long: Int(min(request.timeout.milliseconds, 10_000)))
        set(CURLOPT_ACCEPT_ENCODING, string: "")  // whatever libcurl can decode
        set(CURLOPT_PROTOCOLS_STR, string: "http,https")
        set(CURLOPT_TCP_NODELAY, long: 1)
        switch request.method {
        case "GET": break
        case "HEAD": set(CURLOPT_NOBODY, long: 1)
        default: set(CURLOPT_CUSTOMREQUEST, string: request.method)
        }
        if !request.body.isEmpty || request.method == "POST" || request.method == "PUT" || request.method == "PATCH" {
            precondition(cfs_easy_setopt_ptr(easy, CURLOPT_POSTFIELDS, requestBody.baseAddress) == CURLE_OK)
            precondition(cfs_easy_setopt_int64(easy, CURLOPT_POSTFIELDSIZE_LARGE, Int64(request.body.count)) == CURLE_OK)
        }
        for (name, value) in request.headers {
            headerList = curl_slist_append(headerList, "\(name): \(value)")
        }
        // Without this libcurl sends "Expect: 100-continue" for larger bodies and waits a second.
        headerList = curl_slist_append(headerList, "Expect:")
        precondition(cfs_easy_setopt_ptr(easy, CURLOPT_HTTPHEADER, headerList) == CURLE_OK)

        precondition(cfs_easy_setopt_ptr(easy, CURLOPT_WRITEDATA, me) == CURLE_OK)
        precondition(cfs_easy_setopt_writefn(easy, CURLOPT_WRITEFUNCTION) { ptr, size, count, userdata in
            Unmanaged<Transfer>.fromOpaque(userdata!).takeUnretainedValue().receiveBody(ptr, size * count)
        } == CURLE_OK)
        precondition(cfs_easy_setopt_ptr(easy, CURLOPT_HEADERDATA, me) == CURLE_OK)
        precondition(cfs_easy_setopt_writefn(easy, CURLOPT_HEADERFUNCTION) { ptr, size, count, userdata in
            Unmanaged<Transfer>.fromOpaque(userdata!).takeUnretainedValue().receiveHeader(ptr, size * count)
        } == CURLE_OK)
    }

    private func receiveBody(_ ptr: UnsafeMutablePointer<CChar>?, _ n: Int) -> Int {
        guard let ptr, n > 0 else { return n }
        if body.count + n > maxBytes {
            overflowed = true
            return 0  // makes libcurl abort with CURLE_WRITE_ERROR
        }
        ptr.withMemoryRebound(to: UInt8.self, capacity: n) { body.append(contentsOf: UnsafeBufferPointer(start: $0, count: n)) }
        return n
    }

    private func receiveHeader(_ ptr: UnsafeMutablePointer<CChar>?, _ n: Int) -> Int {
        guard let ptr, n > 0 else { return n }
        let line = ptr.withMemoryRebound(to: UInt8.self, capacity: n) {
            String(decoding: UnsafeBufferPointer(start: $0, count: n), as: UTF8.self)
        }
        // A status line starts a new response (redirects, 100 Continue): keep only the last one's headers.
        if line.hasPrefix("HTTP/") { headers.removeAll(); return n }
        guard let colon = line.firstIndex(of: ":") else { return n }
        let name = String(line[..<colon])
        let value = line[line.index(after: colon)...].trimmingCharacters(in: " \t\r\n")
        headers.append((name, value))
        return n
    }

    func finish(code: CURLcode) -> Result<HTTPResponse, CurlError> {
        if overflowed {
            return .failure(CurlError(code: Int32(CURLE_WRITE_ERROR.rawValue), operation: "receive", url: url,
                                      message: "response body exceeds \(maxBytes) bytes"))
        }
        guard code == CURLE_OK else {
            return .failure(CurlError(code: Int32(code.rawValue), operation: "transfer", url: url,
                                      message: String(cString: curl_easy_strerror(code))))
        }
        var status = 0
        _ = cfs_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        return .success(HTTPResponse(status: status, headers: headers, body: body))
    }

    /// Frees the easy handle and buffers; called once, after the handle left the multi.
    func release() {
        curl_easy_cleanup(easy)
        curl_slist_free_all(headerList)
        requestBody.deallocate()
    }
}
