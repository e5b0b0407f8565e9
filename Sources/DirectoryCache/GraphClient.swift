import FleetJSON
import FleetLoop
import Logging

/// The settings of one `kind = "graph"` source (`[[directory.sources]]` keys in DESIGN).
public struct GraphSettings: Sendable, Equatable {
    public var name: String
    public var tenantID: String
    public var clientID: String
    /// Read at every token request, so a rotated secret takes effect without a restart. Never logged.
    public var clientSecretFile: String
    public var loginURL: String
    public var graphURL: String
    public var badgeAttribute: BadgeAttribute
    /// Role → group display name; the M365 defaults ("UMA Admin" …) for roles not configured.
    public var roleGroups: [Role: String]
    /// `$top` for member pages (Graph's maximum is 999).
    public var pageSize: Int
    public var retry: RetryPolicy

    public init(
        name: String, tenantID: String, clientID: String, clientSecretFile: String,
        loginURL: String = "https://login.microsoftonline.com", graphURL: String = "https://graph.microsoft.com",
        badgeAttribute: BadgeAttribute = .employeeID, roleGroups: [Role: String] = [:], pageSize: Int = 999,
        retry: RetryPolicy = RetryPolicy()
    ) {
        self.name = name
        self.tenantID = tenantID
        self.clientID = clientID
        self.clientSecretFile = clientSecretFile
        self.loginURL = Self.trimSlash(loginURL)
        self.graphURL = Self.trimSlash(graphURL)
        self.badgeAttribute = badgeAttribute
        var groups: [Role: String] = [:]
        for role in Role.allCases { groups[role] = roleGroups[role] ?? role.displayName }
        self.roleGroups = groups
        self.pageSize = min(max(pageSize, 1), 999)
        self.retry = retry
    }

    private static func trimSlash(_ url: String) -> String {
        var url = url
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }
}

/// Graph's HTTP side for one source: the app-only token (client credentials, renewed from
/// `expires_in`) and GETs that follow the throttling rules. Runs on the loop; every call ends in
/// its completion, later.
final class GraphClient {
    let settings: GraphSettings
    private let http: HTTPClient
    private let reactor: Reactor
    private let logger: Logger
    /// 0..<1 for backoff jitter; tests pin it.
    var random: () -> Double = { Double.random(in: 0..<1) }
    private var token: (value: String, renewAt: Instant)?
    private(set) var requestsSent = 0
    private(set) var throttledAnswers = 0
    /// Every wait taken before a retry, newest last (bounded), for tests and status.
    private(set) var waits: [Duration] = []

    init(settings: GraphSettings, http: HTTPClient, reactor: Reactor, logger: Logger) {
        self.settings = settings
        self.http = http
        self.reactor = reactor
        self.logger = logger
    }

    /// GETs `url` with the token; the final answer (any status but the throttling ones, which are
    /// retried) or the reason there is none.
    func get(_ url: String, what: String, completion: @escaping (Result<HTTPResponse, DirectoryError>) -> Void) {
        withToken { [self] result in
            switch result {
            case .failure(let error): completion(.failure(error))
            case .success(let bearer):
                let request = HTTPRequest(url: url, headers: [
                    ("Authorization", "Bearer \(bearer)"), ("Accept", "application/json"),
                    // Background sync yields to interactive traffic of the same app when throttled.
                    ("x-ms-throttle-priority", "Low"),
                ], timeout: settings.retry.requestTimeout, maxResponseBytes: 64 << 20)
                send(request, what: what, attempt: 1) { [self] answer in
                    // An expired or revoked token: fetch a fresh one once.
                    if case .success(let response) = answer, response.status == 401, token != nil {
                        token = nil
                        withToken { [self] renewed in
                            switch renewed {
                            case .failure(let error): completion(.failure(error))
                            case .success(let fresh):
                                var again = request
                                again.headers[0] = ("Authorization", "Bearer \(fresh)")
                                send(again, what: what, attempt: 1, completion: completion)
                            }
                        }
                        return
                    }
                    completion(answer)
                }
            }
        }
    }

    /// GETs a collection page and decodes it; non-2xx answers become errors that say what to do.
    func page(_ url: String, what: String, completion: @escaping (Result<GraphPage, DirectoryError>) -> Void) {
        get(url, what: what) { result in
            completion(result.flatMap { response in
                guard response.status == 200 else { return .failure(Self.failure(response, what: what)) }
                return Result { () throws(DirectoryError) in try GraphPage.decode(response.body, what: what) }
            })
        }
    }

    /// GETs a page of users and decodes only their selected fields (``GraphMemberPage``).
    func memberPage(_ url: String, what: String, completion: @escaping (Result<GraphMemberPage, DirectoryError>) -> Void) {
        let badgeAttribute = settings.badgeAttribute
        get(url, what: what) { result in
            completion(result.flatMap { response in
                guard response.status == 200 else { return .failure(Self.failure(response, what: what)) }
                return Result { () throws(DirectoryError) in
                    try GraphMemberPage.decode(response.body, what: what, badgeAttribute: badgeAttribute)
                }
            })
        }
    }

    /// The error for a final non-200 Graph answer.
    static func failure(_ response: HTTPResponse, what: String) -> DirectoryError {
        let body = GraphErrorBody(response.body)
        switch response.status {
        case 401, 403:
            return DirectoryError(.credentials, operation: what, reason:
                "Graph refused access (\(body.summary)); give the app the application permissions GroupMember.Read.All and User.Read.All with admin consent",
                httpStatus: response.status)
        default:
            if GraphErrorBody.isResync(status: response.status, code: body.code) {
                return DirectoryError(.resyncRequired, operation: what, reason: "the delta token expired (\(body.summary))",
                    httpStatus: response.status)
            }
            return DirectoryError(.upstream, operation: what, reason: "Graph answered \(response.status) (\(body.summary))",
                httpStatus: response.status)
        }
    }

    // MARK: - Token

    private func withToken(_ completion: @escaping (Result<String, DirectoryError>) -> Void) {
        if let token, reactor.clock.now < token.renewAt { return completion(.success(token.value)) }
        let secret: String
        do {
            secret = Person.trimmed(String(decoding: try readWholeFile(settings.clientSecretFile,
                label: "client_secret_file", maxBytes: 64 << 10), as: UTF8.self))
        } catch {
            return completion(.failure(DirectoryError(.credentials, operation: "token", reason:
                "cannot read client_secret_file \(settings.clientSecretFile): \(error.reason)")))
        }
        let form = URLText.form([
            ("client_id", settings.clientID), ("scope", settings.graphURL + "/.default"),
            ("client_secret", secret), ("grant_type", "client_credentials"),
        ])
        let url = "\(settings.loginURL)/\(URLText.encoded(settings.tenantID))/oauth2/v2.0/token"
        let request = HTTPRequest(method: "POST", url: url,
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
            body: Array(form.utf8), timeout: settings.retry.requestTimeout)
        let requested = reactor.clock.now
        send(request, what: "token", attempt: 1) { [self] result in
            completion(result.flatMap { response in
                let json = try? JSON.parse(response.body)
                guard response.status == 200, let value = json?["access_token"]?.string, !value.isEmpty else {
                    let body = GraphErrorBody(response.body)
                    return .failure(DirectoryError(.credentials, operation: "token", reason:
                        "the token request for tenant \(settings.tenantID) was refused (\(body.summary)); check tenant_id, client_id and the secret in client_secret_file",
                        httpStatus: response.status))
                }
                // Lifetimes vary (60–90 min): renew ahead of what this token says, never on a fixed hour.
                let lifetime = json?["expires_in"]?.double ?? json?["expires_in"]?.string.flatMap(Double.init) ?? 3599
                let margin = min(300, lifetime / 2)
                token = (value, requested + .nanoseconds(Int64(max(0, lifetime - margin) * 1e9)))
                return .success(value)
            })
        }
    }

    // MARK: - Sending with the throttling rules

    private func send(
        _ request: HTTPRequest, what: String, attempt: Int,
        completion: @escaping (Result<HTTPResponse, DirectoryError>) -> Void
    ) {
        requestsSent += 1
        http.send(request) { [self] result in
            switch result {
            case .success(let response) where RetryPolicy.isThrottle(response.status):
                throttledAnswers += 1
                let header = response.header("Retry-After")
                guard let wait = settings.retry.delay(afterAttempt: attempt, retryAfter: header, unit: random()) else {
                    let asked = header.map { ", Retry-After \($0) s" } ?? ""
                    return completion(.failure(DirectoryError(.throttled, operation: what, reason:
                        "Microsoft Graph is throttling this app (\(response.status) after \(attempt) attempts\(asked)); nothing changed, the next run retries",
                        httpStatus: response.status)))
                }
                retry(after: wait) { self.send(request, what: what, attempt: attempt + 1, completion: completion) }
            case .success(let response):
                completion(.success(response))
            case .failure(let error):
                guard let wait = settings.retry.delay(afterAttempt: attempt, retryAfter: nil, unit: random(),
                    attempts: settings.retry.maxNetworkAttempts)
                else {
                    return completion(.failure(DirectoryError(.network, operation: what, reason:
                        "cannot reach \(URLText.host(request.url)): \(error.message); the cache keeps serving, the next run retries")))
                }
                retry(after: wait) { self.send(request, what: what, attempt: attempt + 1, completion: completion) }
            }
        }
    }

    private func retry(after wait: Duration, _ body: @escaping () -> Void) {
        waits.append(wait)
        if waits.count > 64 { waits.removeFirst(waits.count - 64) }
        reactor.schedule(after: wait, body)
    }
}

@available(*, unavailable) extension GraphClient: Sendable {}
