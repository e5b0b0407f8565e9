import FleetJSON
import FleetLoop
import Logging

/// Microsoft 365 / Entra ID through Microsoft Graph (`kind = "graph"`).
///
/// A read resolves the five role groups by display name in one `$filter=displayName in (…)`
/// query (zero or several matches for a name fail the run, naming it), then reads every role
/// group's `transitiveMembers` in full, page by page along `@odata.nextLink` exactly as given.
/// Only users count; nested groups, devices and contacts are skipped, but the users inside nested
/// groups arrive in the transitive list and count. Membership is read in full every cycle because
/// Graph has no delta for transitive membership.
///
/// Every step runs on the loop; nothing blocks. The snapshot is complete only when every page of
/// every group was read; any failure fails the run and the cache stays as it was.
public final class GraphSource: DirectorySource {
    public let settings: GraphSettings
    let client: GraphClient
    let logger: Logger
    /// Where applied runs pinned the role groups (the cache's store). With it, pins survive
    /// restarts and move only when a run applies; without it (tools, tests) they live in memory
    /// and move with every resolve.
    public var pinStore: DirectoryStore?
    private var memoryPins: [Role: String] = [:]

    /// Role → group id as last pinned. A change means the group was renamed or re-created; it is
    /// logged so an operator can check that the right group now grants the role, and a missing
    /// name whose pinned group still exists is explained as a rename.
    public var pinnedGroups: [Role: String] {
        guard let pinStore else { return memoryPins }
        return (try? pinStore.groupPins(source: name)) ?? [:]
    }
    /// What the last complete read skipped, for status and tests.
    public private(set) var lastRead = ReadStats()

    public struct ReadStats: Sendable, Equatable {
        public var pages = 0
        public var users = 0
        /// Nested groups, devices, contacts and service principals in the member lists.
        public var nonUserObjects = 0
        /// Users with neither a usable `mail` nor `userPrincipalName`.
        public var withoutEmail = 0
        /// Users whose badge attribute is not a valid badge (kept, without a badge).
        public var badBadges = 0
    }

    public var name: String { settings.name }
    public var requestsSent: Int { client.requestsSent }
    public var throttledAnswers: Int { client.throttledAnswers }
    /// Waits taken before retries (Retry-After or backoff), newest last.
    public var retryWaits: [Duration] { client.waits }
    /// 0..<1 for backoff jitter; tests pin it.
    public var random: () -> Double {
        get { client.random }
        set { client.random = newValue }
    }

    let reactor: Reactor

    public init(settings: GraphSettings, http: HTTPClient, reactor: Reactor, logger: Logger) {
        self.settings = settings
        self.reactor = reactor
        self.logger = logger
        client = GraphClient(settings: settings, http: http, reactor: reactor, logger: logger)
    }

    public func read(completion: @escaping (Result<DirectorySnapshot, DirectoryError>) -> Void) {
        GraphRead(source: self, completion: completion).start()
    }

    var origin: String { "\(name) (Microsoft Graph)" }

    /// `$select` for member pages: what offline authorization needs, nothing more.
    var memberSelect: String {
        var fields = ["id", "displayName", "mail", "userPrincipalName", "accountEnabled"]
        if !fields.contains(settings.badgeAttribute.selectField) { fields.append(settings.badgeAttribute.selectField) }
        return fields.joined(separator: ",")
    }

    /// The source as reasons name it.
    public var label: SourceLabel { SourceLabel(name: name, origin: origin, adminRemedy: adminRemedy) }

    fileprivate func noticeResolved(_ resolved: [Role: String]) {
        let pinned = pinnedGroups
        for (role, id) in resolved.sorted(by: { $0.key > $1.key }) {
            if let old = pinned[role], old != id {
                logger.warning("role group changed identity", metadata: [
                    "source": "\(name)", "role": "\(role.rawValue)", "group": "\(settings.roleGroups[role] ?? "")",
                    "old_id": "\(old)", "new_id": "\(id)",
                ])
            }
        }
        if pinStore == nil { memoryPins = resolved }
    }

    var adminRemedy: String {
        let adminGroup = settings.roleGroups[.admin] ?? Role.admin.displayName
        return "add an enabled user with a mail address to the group \"\(adminGroup)\" in Entra ID (directly or through a nested group)"
    }

    fileprivate func finished(_ stats: ReadStats) { lastRead = stats }
}

@available(*, unavailable) extension GraphSource: Sendable {}

/// One full read; lives until its completion has run.
private final class GraphRead {
    let source: GraphSource
    let completion: (Result<DirectorySnapshot, DirectoryError>) -> Void
    var settings: GraphSettings { source.settings }
    var graph: String { settings.graphURL + "/v1.0" }
    var groups: [JSON] = []
    /// Role groups still to read, highest role first, and the one being read.
    var queue: [(role: Role, id: String)] = []
    var users: [String: GraphUser] = [:]
    var roles: [String: Set<Role>] = [:]
    /// First-seen order, so snapshots (and plans) come out the same way every run.
    var order: [String] = []
    var stats = GraphSource.ReadStats()
    var deltaLink: String?
    /// Role → group id of this read; the snapshot carries them to the apply that pins them.
    var resolved: [Role: String] = [:]

    init(source: GraphSource, completion: @escaping (Result<DirectorySnapshot, DirectoryError>) -> Void) {
        self.source = source
        self.completion = completion
    }

    func start() {
        source.readBaseline { [self] result in
            switch result {
            case .failure(let error): fail(error)
            case .success(let link):
                deltaLink = link
                readRoleGroups()
            }
        }
    }

    private func readRoleGroups() {
        let names = Role.allCases.reversed().compactMap { settings.roleGroups[$0] }
        var unique: [String] = []
        for name in names where !unique.contains(name) { unique.append(name) }
        let filter = URLText.encoded(URLText.displayNameFilter(unique))
        readGroups("\(graph)/groups?$filter=\(filter)&$select=id,displayName")
    }

    private func fail(_ error: DirectoryError) { completion(.failure(error)) }

    // MARK: - Role groups

    private func readGroups(_ url: String) {
        source.client.page(url, what: "GET groups") { [self] result in
            switch result {
            case .failure(let error): fail(error)
            case .success(let page):
                stats.pages += 1
                groups += page.items
                if let next = page.nextLink { return readGroups(next) }
                resolve()
            }
        }
    }

    private func resolve() {
        var resolved: [Role: String] = [:]
        var missing: [Role] = []
        for role in Role.allCases.reversed() {
            guard let name = settings.roleGroups[role] else { continue }
            let matches = groups.filter { $0["displayName"]?.string?.lowercased() == name.lowercased() }
                .compactMap { $0["id"]?.string }
            if matches.count > 1 {
                return fail(DirectoryError(.roleGroup, reason:
                    "\(matches.count) groups in tenant \(settings.tenantID) are named \"\(name)\" (ids \(matches.joined(separator: ", "))); Entra ID allows duplicate names, so rename all but one or point role_groups.\(role.rawValue) at a unique name"))
            }
            if let id = matches.first { resolved[role] = id } else { missing.append(role) }
        }
        if let role = missing.first {
            return explainMissing(role)
        }
        source.noticeResolved(resolved)
        self.resolved = resolved
        queue = Role.allCases.reversed().compactMap { role in resolved[role].map { (role, $0) } }
        nextGroup()
    }

    /// A missing group that was resolved before was probably renamed: say what it is called now.
    private func explainMissing(_ role: Role) {
        let name = settings.roleGroups[role] ?? role.displayName
        let base = "no group in tenant \(settings.tenantID) is named \"\(name)\" (role \(role.rawValue))"
        let remedy = "create it, or set role_groups.\(role.rawValue) to the group's name; nothing changed"
        guard let pinned = source.pinnedGroups[role] else {
            return fail(DirectoryError(.roleGroup, reason: "\(base); \(remedy)"))
        }
        source.client.get("\(graph)/groups/\(URLText.encoded(pinned))?$select=id,displayName", what: "GET group") { [self] result in
            if case .success(let response) = result, response.status == 200,
                let now = (try? JSON.parse(response.body))?["displayName"]?.string
            {
                return fail(DirectoryError(.roleGroup, reason:
                    "\(base); the group used for it until now (id \(pinned)) was renamed to \"\(now)\"; rename it back or set role_groups.\(role.rawValue) = \"\(now)\"; nothing changed"))
            }
            fail(DirectoryError(.roleGroup, reason: "\(base); the group used until now (id \(pinned)) is gone; \(remedy)"))
        }
    }

    // MARK: - Members

    private func nextGroup() {
        guard let (role, id) = queue.first else { return finish() }
        if users.isEmpty {
            // Room for a large tenant while the tables are empty: growing them later rehashes
            // 65,536 users in one loop pass. Untouched room costs address space, not memory.
            users.reserveCapacity(Self.largeTenant)
            roles.reserveCapacity(Self.largeTenant)
        }
        queue.removeFirst()
        let url = "\(graph)/groups/\(URLText.encoded(id))/transitiveMembers?$select=\(source.memberSelect)&$top=\(settings.pageSize)"
        readMembers(url, role: role)
    }

    private func readMembers(_ url: String, role: Role) {
        let what = "GET transitiveMembers of \"\(settings.roleGroups[role] ?? role.displayName)\""
        source.client.memberPage(url, what: what) { [self] result in
            switch result {
            case .failure(let error): fail(error)
            case .success(let page):
                stats.pages += 1
                stats.nonUserObjects += page.skipped
                take(page.users, role: role)
                // The whole nextLink, never a token lifted out of it; an empty page may still have one.
                if let next = page.nextLink { return readMembers(next, role: role) }
                nextGroup()
            }
        }
    }

    private func take(_ page: [GraphUser], role: Role) {
        for user in page {
            if let known = users[user.id] {
                users[user.id] = known.merged(with: user)
            } else {
                users[user.id] = user
                order.append(user.id)
            }
            roles[user.id, default: []].insert(role)
        }
    }

    /// Turns the users read into people, a slice per loop pass (100,000 users take a while),
    /// dropping each read user as it goes so both never sit in memory whole.
    private func finish() {
        people.reserveCapacity(order.count)
        convert(from: 0)
    }

    private var people: [Person] = []
    private static let largeTenant = 120_000

    private func convert(from start: Int) {
        let end = min(start + 250, order.count)
        for id in order[start..<end] {
            guard let user = users.removeValue(forKey: id) else { continue }
            let roles = roles.removeValue(forKey: id) ?? []
            switch user.person(roles: roles) {
            case .success(var person):
                person.upn = user.upnAlias(email: person.email)
                people.append(person)
            case .failure(.noEmail): stats.withoutEmail += 1
            case .failure(.badBadge):
                stats.badBadges += 1
                var bare = user
                bare.badge = .some(nil)
                if case .success(var person) = bare.person(roles: roles) {
                    person.upn = user.upnAlias(email: person.email)
                    people.append(person)
                }
            }
        }
        if end < order.count {
            return source.reactor.nextTick(after: .milliseconds(1)) { [self] in convert(from: end) }
        }
        order = []
        stats.users = people.count
        source.finished(stats)
        if stats.withoutEmail > 0 || stats.badBadges > 0 {
            source.logger.warning("graph users skipped or without badge", metadata: [
                "source": "\(source.name)", "without_email": "\(stats.withoutEmail)", "bad_badges": "\(stats.badBadges)",
            ])
        }
        var snapshot = DirectorySnapshot(source: source.name, origin: source.origin, people: people,
            isComplete: true, adminRemedy: source.adminRemedy)
        people = []
        snapshot.deltaLink = deltaLink
        snapshot.groupPins = resolved
        completion(.success(snapshot))
    }
}

@available(*, unavailable) extension GraphRead: Sendable {}
