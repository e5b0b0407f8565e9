import FleetJSON
import FleetLoop

/// A local stand-in for the Microsoft identity platform and Microsoft Graph, on FleetLoop's
/// HTTPServer, answering the way the documented API does (reference/directory.md §1 and the
/// graph__* samples): client-credentials tokens with `expires_in`, `$filter=displayName in (…)`,
/// `transitiveMembers` flattening nested groups and returning their group objects too, `$select`,
/// `$top` up to 999 with opaque `@odata.nextLink` tokens that only work when followed exactly,
/// `/users/delta` rounds with `@removed` and deltaLinks, 410 for expired tokens, and 429 with a
/// (fractional) `Retry-After`.
///
/// Tests change the tenant between reads (`users`, `groups`, `throttle`, `stop()`), and read
/// `requests` to see what the client sent.
public final class GraphStandIn {
    public struct Group {
        public var id: String
        public var displayName: String
        /// Ids of users, groups and other objects directly in the group.
        public var members: [String]

        public init(id: String, displayName: String, members: [String] = []) {
            self.id = id
            self.displayName = displayName
            self.members = members
        }
    }

    /// What the client sent, in order.
    public struct Logged {
        public var method: String
        public var path: String
        public var query: [String: String]
        public var headers: [String: String]
    }

    public let tenant: String
    public let clientID: String
    public let clientSecret: String
    /// Users by id: Graph property names (`mail`, `accountEnabled`, `employeeId`, …).
    public var users: [String: JSONObject] = [:]
    public var groups: [String: Group] = [:]
    /// Devices, contacts and the like by id, each with its `@odata.type`.
    public var otherObjects: [String: JSONObject] = [:]
    public var tokenLifetime = 3599
    /// The next this many Graph requests answer `throttleStatus` with `Retry-After: retryAfter`.
    public var throttle = 0
    public var throttleStatus = 429
    public var retryAfter: String? = "2.128"
    public private(set) var requests: [Logged] = []
    /// Keep the request log (tests read it; a benchmark of 100,000 users turns it off).
    public var logsRequests = true
    /// Answers requests before the Graph routes when it returns a response (benchmark control).
    public var control: ((HTTPServerRequest) -> HTTPServerResponse?)?
    public private(set) var tokensIssued = 0
    public private(set) var pagesServed = 0
    public private(set) var port: UInt16 = 0
    /// `http://127.0.0.1:PORT`, for both login_url and graph_url.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    let reactor: Reactor
    private var server: HTTPServer?
    private var tokens: [String: Instant] = [:]
    private var cursors: [String: Cursor] = [:]
    private var nextToken = 0
    /// `/users/delta` state: a change log; a deltaLink names the position it was issued at.
    var changeLog: [(id: String, keys: [String]?)] = []
    /// Users per delta page (Graph chooses; `$top` is not supported on delta).
    public var deltaPageSize = 200
    /// How an expired delta token is answered: 410 Gone, or (as some tenants do) 400 with the code.
    public var deltaExpiryStatus = 410
    /// Tokens name a generation; expiring bumps it, so every token handed out before answers 410.
    var deltaGeneration = 1
    var deltaBase = 0

    struct Cursor {
        var ids: [String]
        var offset: Int
        var top: Int
        var select: [String]?
        /// Pre-rendered items (delta rounds); `ids` is unused then.
        var items: [JSON]? = nil
        /// For delta rounds: the deltaLink position to hand out at the end.
        var deltaPosition: Int?
    }

    public init(reactor: Reactor, tenant: String = "contoso.onmicrosoft.com", clientID: String = "app-1",
                clientSecret: String = "s3cret~value", port: UInt16 = 0) throws {
        self.reactor = reactor
        self.tenant = tenant
        self.clientID = clientID
        self.clientSecret = clientSecret
        try listen(port: port)
    }

    /// Listens again (after `stop()`), on the same port when it is still free.
    public func listen(port: UInt16? = nil) throws {
        var limits = HTTPServer.Limits()
        limits.maxConnections = 256
        server = try HTTPServer(reactor: reactor, host: "127.0.0.1", port: port ?? self.port, limits: limits) {
            [unowned self] request in self.handle(request)
        }
        self.port = server!.port
    }

    /// The cloud goes away: connections are refused until `listen()`.
    public func stop() {
        server?.stop()
        server = nil
    }

    /// Every issued token stops working (a revoked app secret, an expired session).
    public func revokeTokens() { tokens.removeAll() }

    // MARK: - Building a tenant

    public func addUser(_ id: String, mail: String?, name: String, enabled: Bool = true, employeeID: String? = nil,
                        extensionAttribute1: String? = nil) {
        var user: JSONObject = ["id": JSON(id), "displayName": JSON(name), "mail": JSON(mail),
                                "userPrincipalName": JSON(mail ?? "\(id)@contoso.onmicrosoft.com"),
                                "accountEnabled": .bool(enabled), "employeeId": JSON(employeeID),
                                "userType": "Member"]
        var attributes = JSONObject()
        for n in 1...15 { attributes["extensionAttribute\(n)"] = n == 1 ? JSON(extensionAttribute1) : .null }
        user["onPremisesExtensionAttributes"] = .object(attributes)
        users[id] = user
        changeLog.append((id, nil))
    }

    /// Changes some properties of a user and records the change for `/users/delta`.
    public func updateUser(_ id: String, _ changes: [(String, JSON)]) {
        guard var user = users[id] else { return }
        for (key, value) in changes { user[key] = value }
        users[id] = user
        changeLog.append((id, changes.map(\.0)))
    }

    /// Deletes a user: gone from every group and reported as `@removed` by delta.
    public func deleteUser(_ id: String) {
        users[id] = nil
        for key in groups.keys { groups[key]!.members.removeAll { $0 == id } }
        changeLog.append((id, []))
    }

    /// The tenant most tests use: the five role groups (one empty), a nested group with a device
    /// in it, a user known only by UPN, a disabled user, someone in two role groups, badges in
    /// employeeId (and one in extensionAttribute1), and an unrelated group.
    public func addExampleTenant() {
        let graph = self
        graph.addUser("u-ada", mail: "Ada@Contoso.com", name: "Ada Admin", employeeID: "b-0001",
                      extensionAttribute1: "X-1")
        graph.addUser("u-bob", mail: "bob@contoso.com", name: "Bob User", employeeID: "B-1001")
        graph.addUser("u-ben", mail: nil, name: "Ben UPN", employeeID: "B-1002")  // UPN only
        graph.addUser("u-mia", mail: "mia@contoso.com", name: "Mia Both", employeeID: "B-2001")
        graph.addUser("u-ned", mail: "ned@contoso.com", name: "Ned Nested", employeeID: "B-3001")
        graph.addUser("u-hal", mail: "hal@contoso.com", name: "Hal Hidden", employeeID: "B-4001")
        graph.addUser("u-dis", mail: "dis@contoso.com", name: "Dis Abled", enabled: false, employeeID: "B-5001")
        graph.addDevice("dev-1", name: "ROOM-DISPLAY-01")
        graph.addGroup("g-admin", "UMA Admin", members: ["u-ada"])
        graph.addGroup("g-adv", "UMA Advanced Manager")
        graph.addGroup("g-mgr", "UMA Manager", members: ["u-mia", "g-floor3"])
        graph.addGroup("g-floor3", "Floor 3", members: ["u-ned", "dev-1"])
        graph.addGroup("g-hidden", "UMA Hidden User", members: ["u-hal"])
        graph.addGroup("g-user", "UMA User", members: ["u-bob", "u-ben", "u-mia", "u-dis", "dev-1"])
        graph.addGroup("g-other", "Marketing", members: ["u-bob"])
    }

    /// `users` people spread over the five UMA groups (10 admins, 1 % advanced managers, 5 %
    /// managers, 1 % hidden users, the rest users), each with a mail and an employeeId badge.
    public func addSyntheticTenant(users: Int) {
        var members: [String: [String]] = [:]
        for i in 0..<users {
            let id = "u-\(i)"
            addUser(id, mail: "user\(i)@contoso.com", name: "User \(i)", employeeID: "E\(i)")
            let group = i < 10 ? "g-admin" : i % 100 == 1 ? "g-adv" : i % 20 == 2 ? "g-mgr" : i % 100 == 3 ? "g-hidden" : "g-user"
            members[group, default: []].append(id)
        }
        for (id, name) in [("g-admin", "UMA Admin"), ("g-adv", "UMA Advanced Manager"), ("g-mgr", "UMA Manager"),
                           ("g-hidden", "UMA Hidden User"), ("g-user", "UMA User")] {
            addGroup(id, name, members: members[id] ?? [])
        }
    }

    public func addGroup(_ id: String, _ name: String, members: [String] = []) {
        groups[id] = Group(id: id, displayName: name, members: members)
    }

    public func addDevice(_ id: String, name: String) {
        otherObjects[id] = ["@odata.type": "#microsoft.graph.device", "id": JSON(id), "displayName": JSON(name)]
    }

    /// The delta token handed out so far no longer works (410 SyncStateNotFound).
    public func expireDeltaTokens() {
        deltaGeneration += 1
    }

    // MARK: - Dispatch

    private func handle(_ request: HTTPServerRequest) -> HTTPServerResponse {
        if let answer = control?(request) { return answer }
        if logsRequests {
            requests.append(Logged(method: request.method, path: request.path, query: request.query,
                                   headers: request.headers))
        }
        if request.method == "POST" && request.path == "/\(tenant)/oauth2/v2.0/token" { return token(request) }
        guard request.path.hasPrefix("/v1.0/") else { return graphError(404, "Request_ResourceNotFound", "no such path") }
        guard let bearer = request.header("authorization"), bearer.hasPrefix("Bearer "),
              let expires = tokens[String(bearer.dropFirst(7))], reactor.clock.now < expires else {
            return graphError(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
        }
        if throttle > 0 {
            throttle -= 1
            var response = graphError(throttleStatus, "TooManyRequests", "Please retry again later.")
            if let retryAfter { response.headers.append(("Retry-After", retryAfter)) }
            response.headers.append(("x-ms-throttle-information", "ResourceUnitLimitExceeded"))
            return response
        }
        let parts = request.path.split(separator: "/").dropFirst().map(String.init)
        switch (request.method, parts.count, parts.first) {
        case ("GET", 1, "groups"): return listGroups(request)
        case ("GET", 2, "groups"):
            guard let g = groups[parts[1]] else { return graphError(404, "Request_ResourceNotFound", "Resource '\(parts[1])' does not exist") }
            return json(["id": JSON(g.id), "displayName": JSON(g.displayName)])
        case ("GET", 3, "groups") where parts[2] == "transitiveMembers": return transitiveMembers(parts[1], request)
        case ("GET", 2, "users") where parts[1] == "delta": return usersDelta(request)
        default: return graphError(400, "Request_BadRequest", "Unsupported request \(request.path)")
        }
    }

    private func token(_ request: HTTPServerRequest) -> HTTPServerResponse {
        let form = Self.parseForm(String(decoding: request.body, as: UTF8.self))
        guard form["grant_type"] == "client_credentials" else {
            return aadError(400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.", 70003)
        }
        guard form["scope"]?.hasSuffix("/.default") == true else {
            return aadError(400, "invalid_scope", "AADSTS70011: The provided value for the input parameter 'scope' is not valid.", 70011)
        }
        guard form["client_id"] == clientID else {
            return aadError(400, "unauthorized_client", "AADSTS700016: Application with identifier '\(form["client_id"] ?? "")' was not found in the directory.", 700016)
        }
        guard form["client_secret"] == clientSecret else {
            return aadError(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.", 7000215)
        }
        tokensIssued += 1
        let value = "eyJ0eXAi.standin.\(tokensIssued)"
        tokens[value] = reactor.clock.now + .seconds(tokenLifetime)
        return json(["token_type": "Bearer", "expires_in": JSON(tokenLifetime), "ext_expires_in": JSON(tokenLifetime),
                     "access_token": JSON(value)])
    }

    private func listGroups(_ request: HTTPServerRequest) -> HTTPServerResponse {
        guard let filter = request.query["$filter"], let names = Self.displayNames(filter) else {
            return graphError(400, "Request_UnsupportedQuery", "Unsupported Query.")
        }
        let wanted = Set(names.map { $0.lowercased() })
        let matches = groups.values.filter { wanted.contains($0.displayName.lowercased()) }.sorted { $0.id < $1.id }
        let items: [JSON] = matches.map { ["id": JSON($0.id), "displayName": JSON($0.displayName)] }
        return json(["@odata.context": JSON("\(baseURL)/v1.0/$metadata#groups(id,displayName)"), "value": .array(items)])
    }

    private func transitiveMembers(_ groupID: String, _ request: HTTPServerRequest) -> HTTPServerResponse {
        if let token = request.query["$skiptoken"] {
            guard request.query.count == 1, let cursor = takeCursor(token) else {
                return graphError(400, "Request_BadRequest", "Invalid $skiptoken; use the @odata.nextLink as given")
            }
            return page(cursor, path: "/v1.0/groups/\(groupID)/transitiveMembers")
        }
        guard groups[groupID] != nil else {
            return graphError(404, "Request_ResourceNotFound", "Resource '\(groupID)' does not exist or one of its queried reference-property objects are not present.")
        }
        let top = request.query["$top"].map { Int($0) ?? -1 } ?? 100
        guard (1...999).contains(top) else {
            return graphError(400, "Request_BadRequest", "Invalid page size specified: '\(top)'. Must be between 1 and 999 inclusive.")
        }
        let select = request.query["$select"].map { $0.split(separator: ",").map(String.init) }
        return page(Cursor(ids: flatten(groupID), offset: 0, top: top, select: select),
                    path: "/v1.0/groups/\(groupID)/transitiveMembers")
    }

    func takeCursor(_ token: String) -> Cursor? { cursors.removeValue(forKey: token) }

    /// Every object below `groupID`, nested groups included as objects, each once.
    func flatten(_ groupID: String) -> [String] {
        var out: [String] = []
        var seen: Set<String> = [groupID]
        var stack = [groupID]
        while let id = stack.popLast() {
            for member in groups[id]?.members ?? [] where seen.insert(member).inserted {
                out.append(member)
                if groups[member] != nil { stack.append(member) }
            }
        }
        return out
    }

    func page(_ cursor: Cursor, path: String) -> HTTPServerResponse {
        pagesServed += 1
        let total = cursor.items?.count ?? cursor.ids.count
        let end = min(cursor.offset + cursor.top, total)
        var items: [JSON] = []
        items.reserveCapacity(end - cursor.offset)
        if let rendered = cursor.items {
            items.append(contentsOf: rendered[cursor.offset..<end])
        } else {
            for id in cursor.ids[cursor.offset..<end] {
                if let object = render(id, select: cursor.select) { items.append(object) }
            }
        }
        var body: JSONObject = ["@odata.context": JSON("\(baseURL)/v1.0/$metadata#directoryObjects")]
        if end < total {
            nextToken += 1
            let token = "RFNwdAIAAQAAAD8\(nextToken)x\(total)"
            var next = cursor
            next.offset = end
            cursors[token] = next
            body["@odata.nextLink"] = JSON("\(baseURL)\(path)?$skiptoken=\(token)")
        } else if let position = cursor.deltaPosition {
            body["@odata.deltaLink"] = JSON("\(baseURL)/v1.0/users/delta?$deltatoken=\(deltaGeneration)-\(position)")
        }
        body["value"] = .array(items)
        return json(.object(body))
    }

    /// A directory object as a member list shows it, with `$select` applied to users.
    func render(_ id: String, select: [String]?, typed: Bool = true) -> JSON? {
        if let group = groups[id] {
            return ["@odata.type": "#microsoft.graph.group", "id": JSON(group.id), "displayName": JSON(group.displayName)]
        }
        if let other = otherObjects[id] { return .object(other) }
        guard let user = users[id] else { return nil }
        var out = JSONObject()
        if typed { out["@odata.type"] = "#microsoft.graph.user" }
        out["id"] = JSON(id)
        if let select {
            for field in select where field != "id" { out[field] = user[field] ?? .null }
        } else {
            for (key, value) in user where key != "id" { out[key] = value }
        }
        return .object(out)
    }

    // MARK: - Answers

    func json(_ body: JSON, status: Int = 200) -> HTTPServerResponse {
        HTTPServerResponse(status: status, headers: [("Content-Type", "application/json"),
                                                     ("request-id", "standin-\(requests.count)")], body: body.bytes)
    }

    func graphError(_ status: Int, _ code: String, _ message: String) -> HTTPServerResponse {
        json(["error": ["code": JSON(code), "message": JSON(message),
                        "innerError": ["request-id": JSON("standin-\(requests.count)"), "date": "2026-01-01T00:00:00"]]],
             status: status)
    }

    private func aadError(_ status: Int, _ error: String, _ description: String, _ code: Int) -> HTTPServerResponse {
        json(["error": JSON(error),
              "error_description": JSON("\(description)\r\nTrace ID: 255d1aef\r\nCorrelation ID: fb3d2015\r\nTimestamp: 2026-01-01 00:00:00Z"),
              "error_codes": [JSON(code)], "trace_id": "255d1aef", "correlation_id": "fb3d2015"], status: status)
    }

    // MARK: - Parsing what the client sent

    /// The names in `displayName in ('a','b')` or `displayName eq 'a'`; nil for other filters.
    static func displayNames(_ filter: String) -> [String]? {
        let chars = Array(filter)
        var names: [String] = []
        var i = 0
        let head = String(chars.prefix { $0 != "'" }).trimmingSpaces
        guard head == "displayName in (" || head == "displayName eq" else { return nil }
        while i < chars.count {
            guard chars[i] == "'" else { i += 1; continue }
            var name = ""
            i += 1
            while i < chars.count {
                if chars[i] == "'" {
                    if i + 1 < chars.count && chars[i + 1] == "'" { name.append("'"); i += 2; continue }
                    break
                }
                name.append(chars[i])
                i += 1
            }
            guard i < chars.count else { return nil }
            names.append(name)
            i += 1
        }
        return names.isEmpty ? nil : names
    }

    static func parseForm(_ body: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard kv.count == 2 else { continue }
            out[percentDecoded(kv[0])] = percentDecoded(kv[1])
        }
        return out
    }

    static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let b = utf8.popFirst() {
            if b == UInt8(ascii: "+") { bytes.append(0x20); continue }
            if b == UInt8(ascii: "%"), utf8.count >= 2,
               let v = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(v)
                utf8 = utf8.dropFirst(2)
                continue
            }
            bytes.append(b)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}

@available(*, unavailable) extension GraphStandIn: Sendable {}
