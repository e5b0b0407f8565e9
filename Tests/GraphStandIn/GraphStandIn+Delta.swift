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
        if let raw = request.query["$deltatoken"] {
            guard let position = Int(raw), position >= deltaBase, position <= head else {
                return graphError(400, "Request_BadRequest", "Invalid $deltatoken")
            }
            if expiredDeltaTokens.contains(position) {
                return graphError(410, "SyncStateNotFound",
                                  "The sync state generation is not found; generation=149;[highest=157][157][155][156].")
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
