@testable import DirectoryCache
import FleetJSON
import Testing

/// The byte-level page decoder (``GraphMemberPage``) against the tree decoder it replaces on the
/// loop (``GraphPage`` + ``GraphUser/decode(_:badgeAttribute:)``): same users, same skips, same
/// links, same refusals — for the documented page shapes and for what a tenant may send.
@Suite struct GraphPageParserTests {
    struct Shape: CustomTestStringConvertible, Sendable {
        var name: String
        var body: String
        var testDescription: String { name }
    }

    /// Page shapes after directory_samples/graph__* (ids and links shortened), plus edge cases.
    static let shapes: [Shape] = [
        Shape(name: "transitiveMembers docs example", body: """
            {"value": [{"@odata.type": "#microsoft.graph.user", "id": "11111111-2222", "mail": "group1@contoso.com"}]}
            """),
        Shape(name: "members page 1 with nextLink, a guest, a nested group and a device", body: """
            {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects(id,mail)",
             "@odata.nextLink": "https://graph.microsoft.com/v1.0/groups/1111/members?$top=999&$skiptoken=RFNwdAIAAQAAAD8",
             "value": [
              {"@odata.type": "#microsoft.graph.user", "id": "693acd06", "userPrincipalName": "AdeleV@contoso.com",
               "mail": "AdeleV@contoso.com", "displayName": "Adele Vance", "accountEnabled": true, "employeeId": "100234"},
              {"@odata.type": "#microsoft.graph.user", "id": "49320844", "userPrincipalName": "guest_fabrikam.com#EXT#@contoso.onmicrosoft.com",
               "mail": "guest@fabrikam.com", "displayName": "Guest User", "accountEnabled": true, "employeeId": null},
              {"@odata.type": "#microsoft.graph.group", "id": "4d0e", "displayName": "Executives", "mail": "exec@contoso.com"},
              {"@odata.type": "#microsoft.graph.device", "id": "8c5b", "displayName": "ROOM-DISPLAY-01"},
              {"@odata.type": "#microsoft.graph.orgContact", "id": "c0c0", "mail": "vendor@example.com"}
             ]}
            """),
        Shape(name: "delta page with @removed and a partial object, deltaLink", body: """
            {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users",
             "@odata.deltaLink": "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=MF1LuFYbK6Lw4",
             "value": [
              {"displayName": "MOD Administrator", "givenName": "MOD", "surname": "Administrator", "id": "25dcffff"},
              {"id": "8ffff70c", "@removed": {"reason": "changed"}},
              {"id": "8ffff70d", "@removed": {"reason": "deleted"}, "accountEnabled": false}
             ]}
            """),
        Shape(name: "delta with $select of the offline fields and extension attributes", body: """
            {"@odata.nextLink": "https://graph.microsoft.com/v1.0/users/delta?$skiptoken=pqwSUjGYvb3jQpbw",
             "value": [
              {"id": "59bb3898", "userPrincipalName": "AdeleV@contoso.com", "mail": "AdeleV@contoso.com",
               "displayName": "Adele Vance", "accountEnabled": true, "employeeId": "100234", "userType": "Member",
               "onPremisesExtensionAttributes": {"extensionAttribute1": "BADGE-0004512", "extensionAttribute2": null,
                                                 "extensionAttribute15": "X"}},
              {"id": "59bb3899", "mail": "b@contoso.com", "onPremisesExtensionAttributes": null},
              {"id": "59bb389a", "mail": "c@contoso.com", "onPremisesExtensionAttributes": {}}
             ]}
            """),
        Shape(name: "no changes: empty value and a deltaLink", body: """
            {"@odata.deltaLink": "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=abc", "value": []}
            """),
        Shape(name: "an empty page that still has a nextLink", body: #"{"value": [], "@odata.nextLink": "https://x/next?$skiptoken=1"}"#),
        Shape(name: "odd values: wrong types, escapes, repeated members, items that are not objects", body: #"""
            {"value": [
              {"id": "u1", "mail": 5, "displayName": ["x"], "accountEnabled": "yes", "employeeId": 7},
              {"id": "u\u0032", "mail": "A\u00e9@contoso.com", "displayName": "Tab\tName \ud83d\ude00", "accountEnabled": null},
              {"id": "u3", "mail": "first@contoso.com", "mail": "second@contoso.com", "accountEnabled": true, "accountEnabled": false},
              {"@odata.type": 3, "id": "u4", "mail": "typed@contoso.com"},
              {"@odata.type": "#microsoft.graph.user", "@odata.type": "#microsoft.graph.group", "id": "u5"},
              {"id": ""}, {"id": null, "mail": "nobody@contoso.com"}, {"mail": "noid@contoso.com"},
              "a string", 12, null, [1, 2], {}
            ], "value2": {"ignored": [true]}, "@odata.nextLink": null}
            """#),
        Shape(name: "links before and after value, value given twice", body: """
            {"@odata.nextLink": "https://x/1", "value": [{"id": "old"}], "extra": [], "value": [{"id": "new", "mail": "n@c.com"}],
             "@odata.nextLink": "https://x/2"}
            """),
    ]

    static func treeDecode(_ body: [UInt8], _ badge: BadgeAttribute) throws(DirectoryError) -> (users: [GraphUser], skipped: Int, next: String?, delta: String?) {
        let page = try GraphPage.decode(body, what: "test")
        var users: [GraphUser] = []
        var skipped = 0
        for item in page.items {
            if let user = GraphUser.decode(item, badgeAttribute: badge) { users.append(user) } else { skipped += 1 }
        }
        return (users, skipped, page.nextLink, page.deltaLink)
    }

    @Test(arguments: shapes, [BadgeAttribute.employeeID, .extensionAttribute(1), .extensionAttribute(15)])
    func decodesLikeTheTree(shape: Shape, badge: BadgeAttribute) throws {
        let body = Array(shape.body.utf8)
        let tree = try Self.treeDecode(body, badge)
        let page = try GraphMemberPage.decode(body, what: "test", badgeAttribute: badge)
        #expect(page.users == tree.users)
        #expect(page.skipped == tree.skipped)
        #expect(page.nextLink == tree.next)
        #expect(page.deltaLink == tree.delta)
    }

    @Test func readsWhatTheShapesSay() throws {
        let members = try GraphMemberPage.decode(Array(Self.shapes[1].body.utf8), what: "t", badgeAttribute: .employeeID)
        #expect(members.users.map(\.id) == ["693acd06", "49320844"])
        #expect(members.users[0].badge == .some("100234"))
        #expect(members.users[1].badge == .some(nil))
        #expect(members.skipped == 3)
        #expect(members.nextLink?.hasSuffix("$skiptoken=RFNwdAIAAQAAAD8") == true)

        let delta = try GraphMemberPage.decode(Array(Self.shapes[2].body.utf8), what: "t", badgeAttribute: .employeeID)
        #expect(delta.users.map(\.removed) == [false, true, true])
        // A partial object carries only what changed: the rest stays "not sent".
        #expect(delta.users[0].mail == nil)
        #expect(delta.users[0].displayName == .some("MOD Administrator"))
        #expect(delta.deltaLink?.hasSuffix("$deltatoken=MF1LuFYbK6Lw4") == true)

        let extensions = try GraphMemberPage.decode(Array(Self.shapes[3].body.utf8), what: "t", badgeAttribute: .extensionAttribute(1))
        #expect(extensions.users.map(\.badge) == [.some("BADGE-0004512"), .some(nil), .some(nil)])

        let odd = try GraphMemberPage.decode(Array(Self.shapes[6].body.utf8), what: "t", badgeAttribute: .employeeID)
        #expect(odd.users.map(\.id) == ["u1", "u2", "u3", "u4"])
        #expect(odd.users[1].mail == .some("Aé@contoso.com"))
        #expect(odd.users[2].mail == .some("second@contoso.com"))
        #expect(odd.users[2].accountEnabled == .some(false))
        #expect(odd.nextLink == nil)
    }

    /// Refusals name the problem and its byte, as the tree decoder's do.
    @Test(arguments: [
        ("", "the answer is not JSON (byte 0: unexpected end of input)"),
        (#"{"value": [{"id": "u1",}]}"#, "the answer is not JSON (byte 23: expected string key)"),
        (#"{"value": [{"id": "u1"}], "@odata.nextLink": "x"} trailing"#, "the answer is not JSON (byte 50: unexpected data after value)"),
        (#"{"error": {"code": "x"}}"#, #"the answer has no "value" array"#),
        (#"{"value": {"id": "u1"}}"#, #"the answer has no "value" array"#),
        (#"[{"id": "u1"}]"#, #"the answer has no "value" array"#),
        (#"{"value": [{"id": "u1", "mail": "\x"}]}"#, "the answer is not JSON (byte 33: invalid escape)"),
    ])
    func refusesWhatTheTreeRefuses(body: String, reason: String) {
        var tree: DirectoryError?
        do { _ = try Self.treeDecode(Array(body.utf8), .employeeID) } catch { tree = error }
        var fast: DirectoryError?
        do { _ = try GraphMemberPage.decode(Array(body.utf8), what: "t", badgeAttribute: .employeeID) } catch { fast = error }
        #expect(fast?.reason == reason)
        #expect(tree?.reason == reason)
        #expect(fast?.code == .upstream)
    }

    /// A full page as the stand-in and Graph send it (999 users) decodes to 999 users.
    @Test func aFullPageOf999Users() throws {
        let items = (0..<999).map { i in
            ##"{"@odata.type":"#microsoft.graph.user","id":"u-\##(i)","mail":"user\##(i)@contoso.com","displayName":"User \##(i)","userPrincipalName":"user\##(i)@contoso.com","accountEnabled":\##(i % 7 != 0),"employeeId":"E\##(i)"}"##
        }
        let body = Array(#"{"@odata.nextLink":"https://graph/next?$skiptoken=abc","value":[\#(items.joined(separator: ","))]}"#.utf8)
        let page = try GraphMemberPage.decode(body, what: "t", badgeAttribute: .employeeID)
        #expect(page.users.count == 999)
        #expect(page.users == (try Self.treeDecode(body, .employeeID)).users)
        #expect(page.users[7].accountEnabled == .some(false))
        #expect(page.users[998].badge == .some("E998"))
    }
}
