import FleetJSON

/// What changed upstream since a delta token: users in change order (possibly the same user more
/// than once, possibly partial), and the token for next time.
public struct DirectoryChanges: Sendable {
    public var changes: [GraphUser]
    /// Store only after the changes are applied.
    public var deltaLink: String
    public var pages: Int
}

/// `/users/delta`: attribute changes (`accountEnabled`, mail, name, badge) and deletions
/// (`@removed`) between full reads. Membership is not tracked this way (Graph has no transitive
/// delta); full reads keep roles right.
extension GraphSource {
    /// "Sync from now": a deltaLink without data, taken before a full read so that nothing
    /// changed during the read is missed by the next delta round.
    func readBaseline(completion: @escaping (Result<String, DirectoryError>) -> Void) {
        let url = settings.graphURL + "/v1.0/users/delta?$deltatoken=latest&$select=" + memberSelect
        walk(url, collected: [], pages: 0) { result in completion(result.map(\.deltaLink)) }
    }

    /// Reads every page after `link` (a stored deltaLink) up to the next deltaLink. A 410 or
    /// `syncStateNotFound`/`resyncRequired` fails with ``DirectoryError/Code/resyncRequired``:
    /// the caller then reads everything again.
    public func readChanges(since link: String, completion: @escaping (Result<DirectoryChanges, DirectoryError>) -> Void) {
        walk(link, collected: [], pages: 0, completion: completion)
    }

    private func walk(
        _ url: String, collected: [GraphUser], pages: Int,
        completion: @escaping (Result<DirectoryChanges, DirectoryError>) -> Void
    ) {
        client.memberPage(url, what: "GET users/delta") { [self] result in
            switch result {
            case .failure(let error): completion(.failure(error))
            case .success(let page):
                var users = collected
                users += page.users
                if let next = page.nextLink { return walk(next, collected: users, pages: pages + 1, completion: completion) }
                guard let delta = page.deltaLink else {
                    return completion(.failure(DirectoryError(.upstream, operation: "GET users/delta",
                        reason: "the last page has neither @odata.nextLink nor @odata.deltaLink")))
                }
                completion(.success(DirectoryChanges(changes: users, deltaLink: delta, pages: pages + 1)))
            }
        }
    }
}
