import DirectoryCache

/// `[[directory.sources]]` and `[authorization]`.
extension Configuration {
    static let directoryTopLevelKeys: Set<String> = ["directory", "authorization"]

    mutating func readDirectory(_ root: TableReader) throws(ConfigError) {
        if let d = try root.subtable("directory") {
            try d.allowOnly(["sources", "inactive_retention", "checkin_url", "checkin_token_file", "slice_gap",
                             "resume_confirmations"])
            resumeConfirmations = try d.bool("resume_confirmations", default: resumeConfirmations)
            inactiveRetention = try d.duration("inactive_retention", default: inactiveRetention)
            directorySliceGap = try d.duration("slice_gap", default: directorySliceGap)
            if directorySliceGap > .seconds(1) {
                throw d.error("slice_gap", "expected at most 1s (default 1ms): a large apply takes hundreds of slices")
            }
            checkinURL = try d.string("checkin_url")
            checkinTokenFile = try d.string("checkin_token_file")
            if let url = checkinURL, !(url.hasPrefix("https://") || url.hasPrefix("http://")) {
                throw d.error("checkin_url", "expected an http(s) URL of the cloud endpoint that receives check-ins")
            }
            for s in try d.tables("sources") { sources.append(try Self.readSource(s)) }
        }
        if let a = try root.subtable("authorization") {
            try a.allowOnly(["max_cache_age", "stale_policy", "max_deactivation_share", "audit_retention"])
            maxCacheAge = try a.duration("max_cache_age", default: maxCacheAge)
            stalePolicy = try a.string("stale_policy", default: stalePolicy)
            guard ["deny_all_but_admin", "deny_all", "allow_all"].contains(stalePolicy) else {
                throw a.error("stale_policy", "expected \"deny_all_but_admin\", \"deny_all\" or \"allow_all\"")
            }
            maxDeactivationShare = try a.double("max_deactivation_share", default: 0.2, range: 0...1)
            auditRetention = try a.duration("audit_retention", default: auditRetention)
        }
    }

    private static func readSource(_ s: TableReader) throws(ConfigError) -> Source {
        let cloudKeys: Set<String> = ["tenant_id", "client_id", "client_secret_file", "login_url", "graph_url",
                                      "badge_attribute", "domain", "customer", "subject", "key_file", "org_url",
                                      "token_file", "base_url"]
        try s.allowOnly(cloudKeys.union(["name", "kind", "path", "interval", "delta_interval", "role_groups"]))
        var src = Source(name: try s.requiredString("name"), kind: try s.requiredString("kind"), line: s.locator.line(s.path))
        src.path = try s.string("path")
        src.interval = try s.duration("interval", default: src.interval)
        // Graph only: how often /users/delta is polled between full reads (0 turns it off).
        if s.has("delta_interval") {
            src.settings["delta_interval_s"] = String(try s.duration("delta_interval", default: .seconds(15)).seconds)
        }
        src.roleGroups = try s.stringMap("role_groups")
        if let g = try s.subtable("role_groups") {
            try g.allowOnly(Set(Role.allCases.map(\.rawValue)))
            for (role, name) in src.roleGroups where name.isEmpty || name.utf8.count > 256 {
                throw g.error(role, "a group display name has 1 to 256 characters")
            }
        }
        for k in cloudKeys { if let v = try s.string(k) { src.settings[k] = v } }
        return src
    }

    func validateDirectory(_ root: TableReader) throws(ConfigError) {
        var names = Set<String>()
        for (i, s) in sources.enumerated() {
            let at = "directory.sources[\(i)]"
            guard names.insert(s.name).inserted else { throw root.error(at: "\(at).name", "duplicate source name \"\(s.name)\"") }
            switch s.kind {
            case "csv":
                guard s.path != nil else { throw root.error(at: "\(at).path", "a csv source needs path = \"…/people.csv\"") }
            case "graph":
                try Self.validateGraph(s, at: at, root)
            case "google", "okta", "scim":
                throw root.error(at: "\(at).kind", "source kind \"\(s.kind)\" is not available in this build yet; use \"csv\"")
            default:
                throw root.error(at: "\(at).kind", "unknown source kind \"\(s.kind)\"; expected graph, google, okta, scim or csv")
            }
        }
    }

    /// `kind = "graph"`: the app registration's tenant, client id and secret file are required;
    /// login_url and graph_url default to the global cloud.
    private static func validateGraph(_ s: Source, at: String, _ root: TableReader) throws(ConfigError) {
        for key in ["tenant_id", "client_id", "client_secret_file"] where (s.settings[key] ?? "").isEmpty {
            throw root.error(at: "\(at).\(key)", "a graph source needs \(key) (the Entra ID app registration: tenant, application (client) id, and a file holding its client secret)")
        }
        for key in ["login_url", "graph_url"] {
            guard let url = s.settings[key] else { continue }
            guard url.hasPrefix("https://") || url.hasPrefix("http://") else {
                throw root.error(at: "\(at).\(key)", "expected an http(s) URL such as \"\(key == "login_url" ? GraphDefaults.loginURL : GraphDefaults.graphURL)\"")
            }
        }
        if let badge = s.settings["badge_attribute"], BadgeAttribute(config: badge) == nil {
            throw root.error(at: "\(at).badge_attribute", "expected \"employeeId\" or \"onPremisesExtensionAttributes.extensionAttribute1\" … \"extensionAttribute15\"")
        }
    }
}

/// The global Microsoft cloud; national clouds and tests set login_url / graph_url.
enum GraphDefaults {
    static let loginURL = "https://login.microsoftonline.com"
    static let graphURL = "https://graph.microsoft.com"
}
