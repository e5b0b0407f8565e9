import CFleetShims
@testable import DirectoryCache
import FleetJSON
import FleetLoop
import FleetStore
import FleetTestSupport
import GraphStandIn
import Testing

/// The daemon is stopped (SIGTERM) while it applies a confirmed held run of thousands of people:
/// after the restart the run is held again with its answer, doors decide as before the
/// confirmation, and confirming again applies it whole.
@Suite(.serialized) struct DirectoryInterruptedConfirmationEndToEndTests {
    /// 8,000 people synced, then 5,500 of them disabled: a held run, confirmed with slices 50 ms
    /// apart (so the apply lasts seconds), and `signal` a few slices into it (SIGKILL: a crash).
    /// Returns the run, its held reason and the config without the slice gap.
    private func confirmAndStopMidApply(
        _ t: GraphDaemon, signal: Int32 = SIGTERM
    ) throws -> (id: Int, heldReason: String, config: String) {
        // u-0…u-9 are Admins; badges E0…E7999.
        t.graph.addSyntheticTenant(users: 8_000)
        try t.daemon.start()
        #expect(try t.sync()["status"] == "succeeded")
        for i in 1_000..<6_500 { t.graph.updateUser("u-\(i)", [("accountEnabled", false)]) }
        let held = try t.sync()
        let id = try #require(held["id"]?.int)
        #expect(held["status"] == "held", "\(held)")
        // No sync at the next start replaces the held run before it is confirmed again.
        #expect(try t.call("POST", "/api/v1/sync/pause").status == 200)

        let config = try readFile(t.daemon.configPath)
        try writeFile(t.daemon.configPath, config + "\n[directory]\nslice_gap = \"50ms\"\n")
        t.daemon.signal(SIGHUP)
        #expect(waitUntil(seconds: 10) { t.daemon.log.contains("configuration reloaded") })
        let confirming = try t.call("POST", "/api/v1/sync/runs/\(id)/apply")
        #expect(confirming.status == 202 && confirming.body["status"] == "running", "\(confirming.body)")
        // The run shows the apply's progress; a few slices in, the next table is being built.
        #expect(waitUntil(seconds: 30) {
            ((try? t.call("GET", "/api/v1/sync/runs/\(id)").body["apply_slices"]?.int) ?? 0) >= 3
        })
        if signal == SIGTERM {
            #expect(t.daemon.stop() == 0)
        } else {
            t.daemon.signal(signal)
            #expect(t.daemon.stop() != 0)
        }

        // Stopped mid-apply: the next table half built beside an untouched live one.
        let store = try DirectoryStore(path: t.daemon.dir + "/state/directory.sqlite")
        #expect(try store.db.queryOne("SELECT count(*) FROM sqlite_master WHERE name = 'users_next'")?.int64(0) == 1)
        #expect(try store.activeCount(source: "m365") == 8_000)
        #expect(try store.run(id: Int64(id))?.status == .running)
        return (id, try #require(held["reason"]?.string), config)
    }

    /// Every decision after the confirmation applied whole.
    private func expectConfirmed(_ t: GraphDaemon, _ applied: JSON) throws {
        #expect(applied["status"] == "succeeded", "\(applied)")
        #expect(applied["counts"]?["deactivations"] == 5_500, "\(applied)")
        #expect(applied["reason"]?.string?.hasPrefix("confirmed by an admin after being held") == true)
        for badge in ["E1000", "E3000", "E6499"] {
            let d = try t.authorize(badge)
            #expect(d["decision"] == "deny" && d["reason"] == "inactive", "\(badge): \(d)")
        }
        for badge in ["E5", "E999", "E6500", "E7999"] {
            #expect(try t.authorize(badge)["decision"] == "allow", "\(badge)")
        }
    }

    @Test(arguments: [SIGTERM, SIGKILL])
    func aConfirmationCutShortByAStopIsHeldAgainAndConfirmsWholeAfterTheRestart(signal: Int32) throws {
        let t = try GraphDaemon()
        let (id, heldReason, config) = try confirmAndStopMidApply(t, signal: signal)
        try writeFile(t.daemon.configPath, config)
        try t.daemon.start(requireHealthy: false)
        let after = try t.call("GET", "/api/v1/sync/runs/\(id)").body
        #expect(after["status"] == "held", "\(after)")
        let reason = after["reason"]?.string ?? ""
        #expect(reason.hasPrefix(heldReason) && reason.contains("confirmation interrupted by a stop"), "\(reason)")
        // Nothing of the interrupted apply reached the doors.
        #expect(try t.authorize("E1000")["decision"] == "allow")
        #expect(try t.authorize("E6499")["decision"] == "allow")
        #expect("\(try t.call("GET", "/healthz").body)".contains("sync apply \(id) --force"))
        // The answer is read back from directory.sqlite in slices, then it can be confirmed.
        #expect(waitUntil(seconds: 20) {
            (try? t.call("GET", "/api/v1/sync/runs/\(id)").body["confirmable"]) == true
        })
        let again = try t.call("POST", "/api/v1/sync/runs/\(id)/apply")
        #expect(again.status == 202 || again.status == 200, "\(again.body)")
        try expectConfirmed(t, try t.waitForRun(id))
        #expect(try t.call("POST", "/api/v1/sync/resume").status == 200)
        #expect(t.daemon.stop() == 0)
    }

    @Test func withResumeConfirmationsTheRestartedDaemonAppliesItAndSaysSo() throws {
        let t = try GraphDaemon()
        let (id, _, config) = try confirmAndStopMidApply(t)
        try writeFile(t.daemon.configPath, config + "\n[directory]\nresume_confirmations = true\n")
        try t.daemon.start(requireHealthy: false)
        var applied: JSON?
        #expect(waitUntil(seconds: 30) {
            applied = try? t.call("GET", "/api/v1/sync/runs/\(id)").body
            return applied?["status"] == "succeeded"
        }, "\(String(describing: applied))")
        try expectConfirmed(t, try #require(applied))
        #expect(applied?["reason"]?.string?.hasSuffix("resumed at start") == true, "\(String(describing: applied))")
        #expect(t.daemon.log.contains("a confirmation interrupted by a stop was resumed and applied"))
        let health = "\(try t.call("GET", "/healthz").body)"
        #expect(!health.contains("held"), "\(health)")
        #expect(t.daemon.stop() == 0)
    }
}
