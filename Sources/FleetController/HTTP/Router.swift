import FleetJSON
import FleetLoop

/// Method + path pattern → handler. Patterns are literal segments and `{name}` parameters:
/// `/api/v1/users/{id}`. A path that matches with another method answers 405, else 404.
struct Router {
    typealias Handler = (HTTPServerRequest, [String: String]) -> HTTPServerResponse

    private struct Route {
        var method: String
        var segments: [Substring]
        var handler: Handler
    }

    private var routes: [Route] = []

    mutating func add(_ method: String, _ pattern: String, _ handler: @escaping Handler) {
        routes.append(Route(method: method, segments: pattern.split(separator: "/"), handler: handler))
    }

    func route(_ req: HTTPServerRequest) -> HTTPServerResponse {
        let parts = req.path.split(separator: "/")
        var methodMismatch = false
        for r in routes {
            guard let params = Self.match(r.segments, parts) else { continue }
            if r.method == req.method { return r.handler(req, params) }
            methodMismatch = true
        }
        if methodMismatch { return .error(405, "method_not_allowed", "\(req.method) is not supported on \(req.path)") }
        return .error(404, "not_found", "no such endpoint: \(req.path)")
    }

    private static func match(_ pattern: [Substring], _ parts: [Substring]) -> [String: String]? {
        guard pattern.count == parts.count else { return nil }
        var params: [String: String] = [:]
        for (p, v) in zip(pattern, parts) {
            if p.first == "{" && p.last == "}" {
                params[String(p.dropFirst().dropLast())] = String(v)
            } else if p != v {
                return nil
            }
        }
        return params
    }
}

extension HTTPServerResponse {
    static func json(_ status: Int, _ body: JSON) -> HTTPServerResponse {
        HTTPServerResponse(status: status, headers: [("Content-Type", "application/json")], body: body.bytes)
    }
}

extension HTTPServerRequest {
    /// The JSON body, or the 400 response explaining why there is none.
    func jsonBody() -> (JSON?, HTTPServerResponse?) {
        guard !body.isEmpty else { return (nil, .error(400, "bad_request", "a JSON body is required")) }
        do { return (try JSON.parse(body), nil) } catch {
            return (nil, .error(400, "bad_request", "invalid JSON at byte \(error.offset): \(error.reason)"))
        }
    }

    func intQuery(_ name: String, default d: Int, range: ClosedRange<Int>) -> Int {
        min(max(Int(query[name] ?? "") ?? d, range.lowerBound), range.upperBound)
    }
}
