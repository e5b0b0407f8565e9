import FleetJSON

extension SyncPlan {
    /// What `sync plan` shows: the verdict, the counts and who is added, deactivated, reactivated
    /// or changes role, each list cut at `limit` people (the counts stay exact).
    public func json(limit: Int = 200) -> JSON {
        func person(_ user: User) -> JSON {
            ["id": JSON(user.id), "email": JSON(user.email), "display_name": JSON(user.displayName),
             "role": JSON(user.role?.rawValue)]
        }
        func change(_ change: Change) -> JSON {
            ["id": JSON(change.after.id), "email": JSON(change.after.email),
             "from": JSON(change.before?.role?.rawValue), "to": JSON(change.after.role?.rawValue)]
        }
        let verdictName = switch verdict {
        case .ready: "ready"
        case .held: "held"
        case .failed: "failed"
        }
        return [
            "source": JSON(source),
            "verdict": JSON(verdictName),
            "reason": JSON(verdict.reason),
            "counts": counts,
            "adds": .array(adds.prefix(limit).map(person)),
            "deactivations": .array(deactivations.prefix(limit).map { person($0.after) }),
            "reactivations": .array(reactivations.prefix(limit).map { person($0.after) }),
            "role_changes": .array(roleChanges.prefix(limit).map(change)),
        ]
    }
}
