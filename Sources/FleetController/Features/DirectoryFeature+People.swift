import DirectoryCache
import FleetJSON
import FleetLoop

/// People routes: lookups, local overrides (block, allow, restore), purges, the audit log.
extension DirectoryFeature {
    func registerPeopleRoutes(_ r: inout Router) {
        r.add("GET", "/api/v1/users") { [unowned self] req, _ in
            let found = self.cache.search(prefix: req.query["q"] ?? "", limit: req.intQuery("limit", default: 20, range: 1...100))
            return .json(200, ["users": .array(found.map { $0.json() })])
        }
        r.add("GET", "/api/v1/users/{id}") { [unowned self] _, p in self.show(p["id"]!) }
        r.add("POST", "/api/v1/users/{id}/block") { [unowned self] req, p in
            let body = (try? JSON.parse(req.body)) ?? [:]
            return self.act(p["id"]!) { () throws(DirectoryError) in
                try self.cache.block(userIDOrEmail: p["id"]!, until: body["until"]?.double, note: body["note"]?.string)
            }
        }
        r.add("POST", "/api/v1/users/{id}/allow") { [unowned self] req, p in
            let body = (try? JSON.parse(req.body)) ?? [:]
            guard let until = body["until"]?.double else {
                return .error(400, "bad_request", "allow needs {\"until\": unix seconds}: a temporary pass must end on its own")
            }
            return self.act(p["id"]!) { () throws(DirectoryError) in
                try self.cache.allow(userIDOrEmail: p["id"]!, until: until, note: body["note"]?.string)
            }
        }
        r.add("POST", "/api/v1/users/{id}/restore") { [unowned self] _, p in
            self.act(p["id"]!) { () throws(DirectoryError) in try self.cache.restore(userIDOrEmail: p["id"]!) }
        }
        r.add("POST", "/api/v1/users/{id}/purge") { [unowned self] _, p in
            do throws(DirectoryError) {
                try self.cache.purge(userIDOrEmail: p["id"]!)
                return .json(200, ["purged": JSON(p["id"]!)])
            } catch { return Self.failure(error) }
        }
        r.add("POST", "/api/v1/users/purge") { [unowned self] _, _ in
            self.purgeNow.sweep()
            return .json(202, ["status": "purging", "message": "every inactive person without an allow pass is being deleted, in slices"])
        }
        r.add("GET", "/api/v1/audit") { [unowned self] req, _ in
            let limit = req.intQuery("limit", default: 100, range: 1...10_000)
            do throws(DirectoryError) {
                if req.query["kind"] == "admin" {
                    return .json(200, ["entries": .array(try self.cache.store.adminAudit(limit: limit).map { $0.json() })])
                }
                self.cache.flushAudit()
                return .json(200, ["entries": .array(try self.cache.store.audit(limit: limit).map { $0.json() })])
            } catch { return Self.failure(error) }
        }
    }

    private func show(_ idOrEmail: String) -> HTTPServerResponse {
        guard let user = cache.user(idOrEmail: idOrEmail) else {
            return .error(404, "not_found", "no user with id or email \(idOrEmail)")
        }
        var json = user.json().object ?? JSONObject()
        json["overrides"] = .array(((try? cache.overrides(userIDOrEmail: user.id)) ?? []).map { $0.json() })
        return .json(200, .object(json))
    }

    /// Runs an override change and answers with the person as they are now.
    private func act<T>(_ idOrEmail: String, _ body: () throws(DirectoryError) -> T) -> HTTPServerResponse {
        do throws(DirectoryError) {
            _ = try body()
            return show(idOrEmail)
        } catch { return Self.failure(error) }
    }

    static func failure(_ error: DirectoryError) -> HTTPServerResponse {
        let status = switch error.code {
        case .notFound: 404
        case .conflict: 409
        case .invalidValue: 400
        default: 500
        }
        return .error(status, error.code.rawValue, error.description)
    }
}
