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
        /// The dynsec admin account (pairing creates broker accounts with it); read in Configuration+Devices.
        var adminUsername: String?
        var adminPasswordFile: String?
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

    /// `[[resources]]`: the policy of every device on a resource or under it (`hq/12` covers
    /// `hq/12/12.04`); the most specific one applies, and a device's own keys win over it.
    struct ResourcePolicy {
        var id: String
        var minimumRole: String?
        var actions: [String]?
    }

    struct Sensor {
        var devEUI: String
        var vendor: String
        var model: String
        var resource: String
        var name: String? = nil
        var line: Int?
        /// VS133 / VS135 counting lines summed into the resource's people counts (nil: line 1).
        var lines: [Int]? = nil
    }

    struct Subscription {
        var topic: String
        var format: String
        /// The gateway's zone for naive local timestamps (Pressac), e.g. "Europe/London" or "+01:00".
        var timeZone: String? = nil
    }

    static let embeddedName = "(embedded defaults)"
    var file = Configuration.embeddedName
    var site = "hq"
    var stateDir: String
    var broker = Broker()
    var httpHost = "127.0.0.1"
    var httpPort: UInt16 = 8080
    var sources: [Source] = []
    var devices: [Device] = []
    var resources: [ResourcePolicy] = []
    var pairing = Pairing()
    var sensors: [Sensor] = []
    var subscriptions: [Subscription] = []
    var ingest = IngestSettings()
    var maxCacheAge: Duration = .seconds(7 * 86400)
    /// deny_all_but_admin | deny_all | allow_all: what a cache past max_cache_age still allows.
    var stalePolicy = "deny_all_but_admin"
    var maxDeactivationShare = 0.2
    var auditRetention: Duration = .seconds(90 * 86400)
    /// `[directory]`: inactive people are purged after this; check-ins go to checkin_url.
    var inactiveRetention: Duration = .seconds(30 * 86400)
    var checkinURL: String?
    var checkinTokenFile: String?
    /// `[directory] slice_gap`: idle loop time between two slices of large directory work (reading
    /// the cache for a plan, staging a large apply); longer leaves doors more room on a busy box.
    var directorySliceGap: Duration = .milliseconds(1)
    /// `[directory] resume_confirmations`: a confirmation a stop cut short is confirmed again at
    /// start instead of waiting held for the admin.
    var resumeConfirmations = false
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
        try root.allowOnly(Self.coreTopLevelKeys.union(directoryTopLevelKeys).union(deviceTopLevelKeys)
                            .union(ingestTopLevelKeys))
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
        try c.readDirectory(root)
        try c.readDevices(root)
        try c.readIngest(root)
        if let l = try root.subtable("log") {
            try l.allowOnly(["level"])
            c.logLevel = try l.string("level", default: "info")
        }
        try c.validateDirectory(root)
        try c.validateDevices(root)
        try c.validateIngest(root)
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

    static let coreTopLevelKeys: Set<String> = ["site", "state", "broker", "http", "log"]

}

func splitHostPort(_ s: String) -> (String, UInt16)? {
    guard let colon = s.lastIndex(of: ":"), let port = UInt16(s[s.index(after: colon)...]) else { return nil }
    let host = String(s[..<colon])
    var addr = in_addr()
    guard inet_pton(AF_INET, host, &addr) == 1 else { return nil }
    return (host, port)
}
