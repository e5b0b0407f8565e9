@testable import FleetController
import DirectoryCache
import Testing

/// `[[directory.sources]]` of kind graph: required keys, defaults, and errors that name the key.
@Suite struct DirectoryConfigTests {
    private static let graph = """
        [[directory.sources]]
        name = "m365"
        kind = "graph"
        tenant_id = "contoso.onmicrosoft.com"
        client_id = "11111111-2222-3333-4444-555555555555"
        client_secret_file = "/run/credentials/fleet-controller.service/graph"

        """

    private func parse(_ text: String) throws -> Configuration {
        try Configuration.parse(text: text, file: "/etc/fc.toml", environment: [:])
    }

    @Test func graphSourceGetsTheGlobalCloudAndTheUMAGroupsByDefault() throws {
        let c = try parse(Self.graph + "[directory.sources.role_groups]\nadmin = \"Door Admins\"\n")
        let settings = DirectoryFeature.graphSettings(try #require(c.sources.first))
        #expect(settings.loginURL == "https://login.microsoftonline.com")
        #expect(settings.graphURL == "https://graph.microsoft.com")
        #expect(settings.badgeAttribute == .employeeID)
        #expect(settings.roleGroups[.admin] == "Door Admins")
        #expect(settings.roleGroups[.hiddenUser] == "UMA Hidden User")
        #expect(settings.pageSize == 999)
        #expect(c.inactiveRetention == .seconds(30 * 86_400))
        #expect(DirectoryFeature.deltaInterval(try #require(c.sources.first)) == .seconds(15))
        let tuned = try parse("[directory]\ninactive_retention = \"7d\"\ncheckin_url = \"https://cloud.example/checkins\"\n"
                              + Self.graph + "delta_interval = \"0s\"\n")
        #expect(tuned.inactiveRetention == .seconds(7 * 86_400) && tuned.checkinURL == "https://cloud.example/checkins")
        #expect(DirectoryFeature.deltaInterval(try #require(tuned.sources.first)) == nil)
        #expect(c.directorySliceGap == .milliseconds(1))
        #expect(try parse("[directory]\nslice_gap = \"20ms\"\n").directorySliceGap == .milliseconds(20))
        #expect(!c.resumeConfirmations)
        #expect(try parse("[directory]\nresume_confirmations = true\n").resumeConfirmations)
    }

    @Test(arguments: [
        ("[[directory.sources]]\nname = \"m\"\nkind = \"graph\"\nclient_id = \"c\"\nclient_secret_file = \"f\"",
         "directory.sources[0].tenant_id", "tenant_id"),
        ("[[directory.sources]]\nname = \"m\"\nkind = \"graph\"\ntenant_id = \"t\"\nclient_secret_file = \"f\"",
         "directory.sources[0].client_id", "client_id"),
        ("[[directory.sources]]\nname = \"m\"\nkind = \"graph\"\ntenant_id = \"t\"\nclient_id = \"c\"",
         "directory.sources[0].client_secret_file", "client_secret_file"),
        (graph + "badge_attribute = \"onPremisesExtensionAttributes.extensionAttribute16\"",
         "directory.sources[0].badge_attribute", "extensionAttribute15"),
        (graph + "graph_url = \"graph.microsoft.us\"", "directory.sources[0].graph_url", "http(s) URL"),
        (graph + "[directory.sources.role_groups]\nboss = \"UMA Boss\"", "directory.sources[0].role_groups.boss", "unknown key"),
        ("[[directory.sources]]\nname = \"g\"\nkind = \"okta\"", "directory.sources[0].kind", "not available"),
        ("[directory]\ncheckin_url = \"ftp://cloud\"", "directory.checkin_url", "http(s) URL"),
        ("[directory]\ninactive_retention = \"a month\"", "directory.inactive_retention", "duration"),
        ("[directory]\nslice_gap = \"5s\"", "directory.slice_gap", "at most 1s"),
    ])
    func brokenGraphSourcesNameTheKey(text: String, key: String, message: String) {
        do {
            _ = try parse(text)
            Issue.record("expected an error for \(key)")
        } catch let e as ConfigError {
            #expect(e.key == key, "\(e)")
            #expect(e.message.contains(message), "\(e)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
