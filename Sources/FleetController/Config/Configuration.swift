import CFleetShims
import FleetLoop
import TOMLKit

/// The daemon's settings. Parsing (types, locations) and validation (cross-field rules) are separate
/// steps; SIGHUP reload runs the same path.
struct Configuration {
    struct Broker {
        var host = "127.0.0.1"
        var port = 1883
        var socket: String?
        var username: String?
        var passwordFile: String?
        var topicPrefix = "fc/v1"
        var clientID: String?
    }

    struct Source {
        var name: String
        var kind: String
        var path: String?
        var interval: Duration = .seconds(60)
        var roleGroups: [String: String] = [:]
        /// Keys of cloud sources (tenant_id, client_id, …), kept as given for the source that reads them.
        var settings: [String: String] = [:]
        var line: Int?
    }

    struct Device {
        var id: String
        var kind: String
        var resource: String
        var name: String?
        var minimumRole: String?
        var actions: [String]?
    }

    struct Sensor {
        var devEUI: String
        var vendor: String
        var model: String
        var resource: String
        var line: Int?
    }

    struct Subscription {
        var topic: String
        var format: String
    }

    var file = "(embedded defaults)"
    var site = "hq"
    var stateDir: String
    var broker = Broker()
    var httpHost = "127.0.0.1"
    var httpPort: UInt16 = 8080
    var sources: [Source] = []
    var devices: [Device] = []
    var sensors: [Sensor] = []
    var subscriptions: [Subscription] = []
    var maxCacheAge: Duration = .seconds(7 * 86400)
    /// deny_all_but_admin | deny_all | allow_all: what a cache past max_cache_age still allows.
    var stalePolicy = "deny_all_but_admin"
    var maxDeactivationShare = 0.2
    var auditRetention: Duration = .seconds(90 * 86400)
    var logLevel = "info"

    /// With no file: state in $STATE_DIRECTORY (systemd) or ./var, broker on 127.0.0.1:1883, HTTP on
    /// 127.0.0.1:8080, no directory source.
    static func embeddedDefaults(environment: [String: String]) -> Configuration {
        let state = environment["STATE_DIRECTORY"].flatMap { $0.split(separator: ":").first.map(String.init) } ?? "./var"
        return Configuration(stateDir: state)
    }

    static func load(path: String, environment: [String: String]) throws(ConfigError) -> Configuration {
        let text: String
        do { text = try readTextFile(path) } catch {
            throw ConfigError(file: path, line: nil, key: nil, message: "cannot read: \(error)")
        }
        return try parse(text: text, file: path, environment: environment)
    }

    static func parse(text: String, file: String, environment: [String: String]) throws(ConfigError) -> Configuration {
        let table: TOMLTable
        do { table = try TOMLTable(string: text) } catch let e as TOMLParseError {
            throw ConfigError(file: file, line: e.source.begin.line, key: nil, message: "TOML syntax: \(e.description)")
        } catch {
            throw ConfigError(file: file, line: nil, key: nil, message: "TOML syntax: \(error)")
        }
        var c = embeddedDefaults(environment: environment)
        c.file = file
        let root = TableReader(table: table, path: "", file: file, locator: KeyLocator(text: text))
        try root.allowOnly(["site", "state", "broker", "http", "directory", "devices", "sensors", "ingest",
                            "authorization", "log"])
        c.site = try root.string("site", default: c.site)
        if let s = try root.subtable("state") {
            try s.allowOnly(["dir"])
            c.stateDir = try s.string("dir", default: c.stateDir)
        }
        if let b = try root.subtable("broker") { try c.readBroker(b) }
        if let h = try root.subtable("http") {
            try h.allowOnly(["listen"])
            if let listen = try h.string("listen") {
                guard let (host, port) = splitHostPort(listen) else {
                    throw h.error("listen", "expected \"IPv4:PORT\", e.g. \"127.0.0.1:8080\"")
                }
                c.httpHost = host
                c.httpPort = port
            }
        }
        if let d = try root.subtable("directory") {
            try d.allowOnly(["sources"])
            for s in try d.tables("sources") { c.sources.append(try readSource(s)) }
        }
        for d in try root.tables("devices") {
            try d.allowOnly(["id", "kind", "resource", "name", "minimum_role", "actions"])
            c.devices.append(Device(id: try d.requiredString("id"), kind: try d.requiredString("kind"),
                                    resource: try d.requiredString("resource"), name: try d.string("name"),
                                    minimumRole: try d.string("minimum_role"), actions: try d.stringArray("actions")))
        }
        for s in try root.tables("sensors") {
            try s.allowOnly(["dev_eui", "vendor", "model", "resource"])
            c.sensors.append(Sensor(devEUI: try s.requiredString("dev_eui").uppercased(),
                                    vendor: try s.requiredString("vendor").lowercased(),
                                    model: try s.requiredString("model"), resource: try s.requiredString("resource"),
                                    line: s.locator.line(s.path)))
        }
        if let i = try root.subtable("ingest") {
            try i.allowOnly(["subscriptions"])
            for s in try i.tables("subscriptions") {
                try s.allowOnly(["topic", "format"])
                c.subscriptions.append(Subscription(topic: try s.requiredString("topic"), format: try s.requiredString("format")))
            }
        }
        if let a = try root.subtable("authorization") {
            try a.allowOnly(["max_cache_age", "stale_policy", "max_deactivation_share", "audit_retention"])
            c.maxCacheAge = try a.duration("max_cache_age", default: c.maxCacheAge)
            c.stalePolicy = try a.string("stale_policy", default: c.stalePolicy)
            guard ["deny_all_but_admin", "deny_all", "allow_all"].contains(c.stalePolicy) else {
                throw a.error("stale_policy", "expected \"deny_all_but_admin\", \"deny_all\" or \"allow_all\"")
            }
            c.maxDeactivationShare = try a.double("max_deactivation_share", default: 0.2, range: 0...1)
            c.auditRetention = try a.duration("audit_retention", default: c.auditRetention)
        }
        if let l = try root.subtable("log") {
            try l.allowOnly(["level"])
            c.logLevel = try l.string("level", default: "info")
        }
        try c.validate(root)
        return c
    }

    private mutating func readBroker(_ b: TableReader) throws(ConfigError) {
        try b.allowOnly(["host", "port", "socket", "username", "password_file", "topic_prefix", "client_id",
                         "admin_username", "admin_password_file"])
        broker.host = try b.string("host", default: broker.host)
        broker.port = try b.int("port", default: broker.port, range: 1...65535)
        broker.socket = try b.string("socket")
        broker.username = try b.string("username")
        broker.passwordFile = try b.string("password_file")
        broker.topicPrefix = try b.string("topic_prefix", default: broker.topicPrefix)
        broker.clientID = try b.string("client_id")
        if broker.username != nil && broker.passwordFile == nil {
            throw b.error("username", "needs password_file beside it")
        }
        if broker.topicPrefix.isEmpty || broker.topicPrefix.hasSuffix("/") || broker.topicPrefix.contains("+")
            || broker.topicPrefix.contains("#") {
            throw b.error("topic_prefix", "must be a topic like \"fc/v1\": not empty, no trailing slash, no wildcards")
        }
    }

    private static func readSource(_ s: TableReader) throws(ConfigError) -> Source {
        let cloudKeys: Set<String> = ["tenant_id", "client_id", "client_secret_file", "login_url", "graph_url",
                                      "badge_attribute", "domain", "customer", "subject", "key_file", "org_url",
                                      "token_file", "base_url"]
        try s.allowOnly(cloudKeys.union(["name", "kind", "path", "interval", "role_groups"]))
        var src = Source(name: try s.requiredString("name"), kind: try s.requiredString("kind"), line: s.locator.line(s.path))
        src.path = try s.string("path")
        src.interval = try s.duration("interval", default: src.interval)
        src.roleGroups = try s.stringMap("role_groups")
        for k in cloudKeys { if let v = try s.string(k) { src.settings[k] = v } }
        return src
    }

    /// Rules across keys: unique ids, known kinds and formats, required companions.
    private func validate(_ root: TableReader) throws(ConfigError) {
        var names = Set<String>()
        for (i, s) in sources.enumerated() {
            let r = "directory.sources[\(i)]"
            func err(_ key: String, _ m: String) -> ConfigError {
                ConfigError(file: file, line: root.locator.line("\(r).\(key)"), key: "\(r).\(key)", message: m)
            }
            guard names.insert(s.name).inserted else { throw err("name", "duplicate source name \"\(s.name)\"") }
            switch s.kind {
            case "csv":
                guard s.path != nil else { throw err("path", "a csv source needs path = \"…/people.csv\"") }
            case "graph", "google", "okta", "scim":
                throw err("kind", "source kind \"\(s.kind)\" is not available in this build yet; use \"csv\"")
            default:
                throw err("kind", "unknown source kind \"\(s.kind)\"; expected graph, google, okta, scim or csv")
            }
        }
        let kinds: Set<String> = ["room_display", "kiosk", "checkin_panel", "people_counter", "eink_display"]
        var ids = Set<String>()
        for (i, d) in devices.enumerated() {
            let r = "devices[\(i)]"
            func err(_ key: String, _ m: String) -> ConfigError {
                ConfigError(file: file, line: root.locator.line("\(r).\(key)"), key: "\(r).\(key)", message: m)
            }
            guard isValidDeviceID(d.id) else {
                throw err("id", "\"\(d.id)\" is not a valid device id: 1-64 of a-z, 0-9, '-', '_', '.'")
            }
            guard ids.insert(d.id).inserted else { throw err("id", "duplicate device id \"\(d.id)\"") }
            guard kinds.contains(d.kind) else {
                throw err("kind", "unknown kind \"\(d.kind)\"; expected one of \(kinds.sorted().joined(separator: ", "))")
            }
        }
        var euis = Set<String>()
        for (i, s) in sensors.enumerated() {
            let r = "sensors[\(i)]"
            func err(_ key: String, _ m: String) -> ConfigError {
                ConfigError(file: file, line: root.locator.line("\(r).\(key)"), key: "\(r).\(key)", message: m)
            }
            guard s.devEUI.count == 16, s.devEUI.allSatisfy(\.isHexDigit) else {
                throw err("dev_eui", "expected 16 hex digits, e.g. \"24E124710C123456\"")
            }
            guard euis.insert(s.devEUI).inserted else { throw err("dev_eui", "sensor \(s.devEUI) is listed twice") }
            guard ["milesight", "pressac", "irisys"].contains(s.vendor) else {
                throw err("vendor", "unknown vendor \"\(s.vendor)\"; expected milesight, pressac or irisys")
            }
        }
        for (i, s) in subscriptions.enumerated() where !Self.ingestFormats.contains(s.format) {
            let key = "ingest.subscriptions[\(i)].format"
            throw ConfigError(file: file, line: root.locator.line(key), key: key,
                              message: "unknown format \"\(s.format)\"; expected one of \(Self.ingestFormats.joined(separator: ", "))")
        }
    }

    static let ingestFormats = ["milesight-gateway"]
}

func isValidDeviceID(_ id: String) -> Bool {
    !id.isEmpty && id.utf8.count <= 64 && id.utf8.allSatisfy {
        ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d || $0 == 0x5f || $0 == 0x2e
    } && !id.hasPrefix(".")
}

func splitHostPort(_ s: String) -> (String, UInt16)? {
    guard let colon = s.lastIndex(of: ":"), let port = UInt16(s[s.index(after: colon)...]) else { return nil }
    let host = String(s[..<colon])
    var addr = in_addr()
    guard inet_pton(AF_INET, host, &addr) == 1 else { return nil }
    return (host, port)
}
