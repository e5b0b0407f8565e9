@testable import DirectoryCache
import FleetJSON
import Testing

@Suite struct GraphModelTests {
    @Test(arguments: [
        ("2.128", 2.128 as Double?), ("5", 5), ("0", 0), (" 0.5 ", 0.5),
        ("Wed, 21 Oct 2015 07:28:00 GMT", nil), ("-1", nil), ("", nil), ("1e3", nil),
    ])
    func retryAfterIsFractionalSeconds(header: String, seconds: Double?) {
        #expect(RetryPolicy.seconds(retryAfter: header) == seconds)
    }

    @Test(arguments: [
        // attempt, Retry-After, jitter unit, expected wait in ms (nil = give up)
        (1, "2.128" as String?, 0.0, 2128 as Int?), (1, nil, 0.0, 500), (1, nil, 0.999_999, 1000),
        (3, nil, 0.5, 3000), (6, nil, 0.5, nil), (1, "121", 0.5, nil), (9, nil, 0.5, nil),
    ])
    func backoffDoublesWithJitterAndHonoursRetryAfter(attempt: Int, header: String?, unit: Double, ms: Int?) {
        let policy = RetryPolicy(maxAttempts: 6, baseDelay: .seconds(1), maxDelay: .seconds(120))
        let wait = policy.delay(afterAttempt: attempt, retryAfter: header, unit: unit)
        #expect(wait.map { Int(($0 / .milliseconds(1)).rounded()) } == ms)
    }

    @Test(arguments: [
        ("employeeId", BadgeAttribute.employeeID as BadgeAttribute?),
        ("onPremisesExtensionAttributes.extensionAttribute1", .extensionAttribute(1)),
        ("onPremisesExtensionAttributes.extensionAttribute15", .extensionAttribute(15)),
        ("onPremisesExtensionAttributes.extensionAttribute16", nil), ("employeeid", nil), ("mail", nil),
    ])
    func badgeAttributeConfig(text: String, parsed: BadgeAttribute?) {
        #expect(BadgeAttribute(config: text) == parsed)
        if let parsed { #expect(parsed.description == text) }
    }

    /// Items as the graph__* samples show them.
    @Test(arguments: [
        (##"{"@odata.type":"#microsoft.graph.user","id":"693a","userPrincipalName":"AdeleV@contoso.com","mail":"AdeleV@contoso.com","displayName":"Adele Vance","accountEnabled":true,"employeeId":"100234"}"##,
         "adelev@contoso.com" as String?, "100234" as String?, true),
        (##"{"@odata.type":"#microsoft.graph.user","id":"4932","userPrincipalName":"guest_fabrikam.com#EXT#@contoso.onmicrosoft.com","mail":"guest@fabrikam.com","accountEnabled":true,"employeeId":null}"##,
         "guest@fabrikam.com", nil, true),
        (##"{"id":"8afc","userPrincipalName":"Adams@Contoso.com","mail":null,"displayName":"Conf Room Adams","accountEnabled":false}"##,
         "adams@contoso.com", nil, false),
        (##"{"@odata.type":"#microsoft.graph.group","id":"4d0e","displayName":"Executives"}"##, nil, nil, false),
        (##"{"@odata.type":"#microsoft.graph.device","id":"8c5b","displayName":"ROOM-DISPLAY-01"}"##, nil, nil, false),
        (##"{"id":"8ffff70c","@removed":{"reason":"changed"}}"##, nil, nil, false),
    ])
    func membersDecodeToPeopleOrAreSkipped(item: String, email: String?, badge: String?, active: Bool) throws {
        let user = GraphUser.decode(try JSON.parse(item), badgeAttribute: .employeeID)
        let person = try? user?.person(roles: [.user]).get()
        #expect(person?.email == email)
        #expect(person?.badge == badge)
        #expect((person?.active ?? false) == active)
    }

    @Test func aPartialDeltaObjectKeepsWhatItDoesNotCarry() throws {
        let full = try #require(GraphUser.decode(try JSON.parse(
            #"{"id":"u1","mail":"a@contoso.com","displayName":"A","accountEnabled":true,"employeeId":"B1"}"#),
            badgeAttribute: .employeeID))
        let partial = try #require(GraphUser.decode(try JSON.parse(#"{"id":"u1","accountEnabled":false}"#),
                                                    badgeAttribute: .employeeID))
        let merged = full.merged(with: partial)
        #expect(merged.mail == .some("a@contoso.com"))
        #expect(merged.badge == .some("B1"))
        #expect(merged.accountEnabled == .some(false))
        let cleared = merged.merged(with: try #require(GraphUser.decode(try JSON.parse(#"{"id":"u1","employeeId":null}"#),
                                                                        badgeAttribute: .employeeID)))
        #expect(cleared.badge == .some(nil))
    }

    @Test(arguments: [
        (["UMA Admin", "UMA User"], "displayName in ('UMA Admin','UMA User')"),
        (["O'Brien's"], "displayName in ('O''Brien''s')"),
    ])
    func displayNameFilterQuotesODataLiterals(names: [String], filter: String) {
        #expect(URLText.displayNameFilter(names) == filter)
    }

    @Test(arguments: [
        (410, "", true), (400, "SyncStateNotFound", true), (400, "syncStateNotFound", true),
        (400, "resyncRequired", true), (400, "Request_UnsupportedQuery", false), (404, "", false),
    ])
    func resyncSignals(status: Int, code: String, resync: Bool) {
        #expect(GraphErrorBody.isResync(status: status, code: code) == resync)
    }

    @Test func errorBodiesOfBothEndpointsReadAsOneLine() {
        let token = GraphErrorBody(Array(#"{"error":"invalid_scope","error_description":"AADSTS70011: bad scope.\r\nTrace ID: 255d"}"#.utf8))
        #expect(token.summary == "invalid_scope: AADSTS70011: bad scope.")
        let graph = GraphErrorBody(Array(#"{"error":{"code":"TooManyRequests","message":"Please retry again later."}}"#.utf8))
        #expect(graph.summary == "TooManyRequests: Please retry again later.")
        #expect(URLText.host("https://graph.microsoft.com/v1.0/groups?$x=1") == "graph.microsoft.com")
    }
}
