import FleetJSON
import FleetLoop

/// `/users/delta` as documented: the first round lists every user page by page and ends with a
/// deltaLink; a deltaLink lists what changed since, in change order and possibly more than once
/// per user, changed properties only for updates, `@removed` for deletions; an expired token
/// answers 410 SyncStateNotFound.
extension GraphStandIn {
    func usersDelta(_ request: HTTPServerRequest) -> HTTPServerResponse {
        let path = "/v1.0/users/delta"
        if let token = request.query["$skiptoken"] {
            guard request.query.count == 1, let cursor = takeCursor(token) else {
                return graphError(400, "Request_BadRequest", "Invalid $skiptoken; use the @odata.nextLink as given")
            }
            return page(cursor, path: path)
        }
        let head = changeLog.count + deltaBase
        if request.query["$deltatoken"] == "latest" {
            return page(Cursor(ids: [], offset: 0, top: deltaPageSize, select: nil, items: [], deltaPosition: head), path: path)
        }
        if let raw = request.query["$deltatoken"] {
            let parts = raw.split(separator: "-")
            guard parts.count == 2, let generation = Int(parts[0]), let position = Int(parts[1]),
                  position >= deltaBase, position <= head else {
                return graphError(400, "Request_BadRequest", "Invalid $deltatoken")
            }
            if generation != deltaGeneration {
                return graphError(deltaExpiryStatus, deltaExpiryStatus == 410 ? "SyncStateNotFound" : "syncStateNotFound",
                                  "The sync state generation is not found; generation=\(generation);[highest=\(deltaGeneration)].")
            }
            var items: [JSON] = []
            for change in changeLog[(position - deltaBase)...] {
                guard let user = users[change.id] else {
                    items.append(["id": JSON(change.id), "@removed": ["reason": "deleted"]])
                    continue
                }
                var partial: JSONObject = ["id": JSON(change.id)]
                for key in change.keys ?? Array(user.keys) where key != "id" { partial[key] = user[key] ?? .null }
                items.append(.object(partial))
            }
            return page(Cursor(ids: [], offset: 0, top: deltaPageSize, select: nil, items: items, deltaPosition: head),
                        path: path)
        }
        guard request.query.keys.allSatisfy({ $0 == "$select" }) else {
            return graphError(400, "Request_UnsupportedQuery", "Unsupported Query.")
        }
        let select = request.query["$select"].map { $0.split(separator: ",").map(String.init) }
        let ids = users.keys.sorted()
        let items = ids.compactMap { render($0, select: select, typed: false) }
        return page(Cursor(ids: [], offset: 0, top: deltaPageSize, select: nil, items: items, deltaPosition: head),
                    path: path)
    }
}
