import FleetJSON

/// One sync attempt of one source, as listed by `GET /api/v1/sync/runs`.
public struct SyncRun: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable {
        case running, succeeded, failed, held
    }

    /// Row id; nil until recorded.
    public var id: Int64?
    public var source: String
    public var status: Status
    /// Why it failed or was held, in words a person can act on; nil when it succeeded.
    public var reason: String?
    public var startedAt: Double
    public var finishedAt: Double?
    /// ``SyncPlan/counts`` of the run (`{}` when it failed before planning).
    public var counts: JSON

    public init(
        id: Int64? = nil, source: String, status: Status, reason: String? = nil, startedAt: Double,
        finishedAt: Double? = nil, counts: JSON = [:]
    ) {
        self.id = id
        self.source = source
        self.status = status
        self.reason = reason
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.counts = counts
    }

    /// `{"id","source","status","reason","started_at","finished_at","counts":{…}}`.
    public func json() -> JSON {
        [
            "id": id.map { JSON(Int($0)) } ?? .null,
            "source": JSON(source),
            "status": JSON(status.rawValue),
            "reason": JSON(reason),
            "started_at": JSON(startedAt),
            "finished_at": finishedAt.map { JSON($0) } ?? .null,
            "duration_s": finishedAt.map { JSON(((max(0, $0 - startedAt)) * 1000).rounded() / 1000) } ?? .null,
            "counts": counts,
        ]
    }
}

/// What ``DirectoryCache/syncCSV(name:path:force:)`` did.
public struct SyncRunResult: Sendable {
    /// The run as recorded.
    public var run: SyncRun
    /// The plan, when the snapshot could be read (also for held and rule-failed runs).
    public var plan: SyncPlan?
    /// The source or store error behind a failed run.
    public var error: DirectoryError?

    public init(run: SyncRun, plan: SyncPlan? = nil, error: DirectoryError? = nil) {
        self.run = run
        self.plan = plan
        self.error = error
    }

    public var status: SyncRun.Status { run.status }
    public var reason: String? { run.reason }
}

/// One authorization decision as kept in the audit log. The credential is only a salted
/// SHA-256, so the log can show "the same badge again" without holding a cloneable number.
public struct AuditEntry: Sendable, Equatable {
    public var id: Int64?
    public var ts: Double
    public var deviceID: String?
    public var credentialType: Credential.Kind
    /// Hex SHA-256 over the store's salt, the type and the normalized value.
    public var credentialHash: String
    public var userID: String?
    public var decision: Decision.Verdict
    public var reason: Decision.Reason

    public init(
        id: Int64? = nil, ts: Double, deviceID: String?, credentialType: Credential.Kind, credentialHash: String,
        userID: String?, decision: Decision.Verdict, reason: Decision.Reason
    ) {
        self.id = id
        self.ts = ts
        self.deviceID = deviceID
        self.credentialType = credentialType
        self.credentialHash = credentialHash
        self.userID = userID
        self.decision = decision
        self.reason = reason
    }
}
