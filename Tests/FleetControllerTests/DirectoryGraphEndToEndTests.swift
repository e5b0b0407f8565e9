import CFleetShims
@testable import DirectoryCache
import FleetJSON
import FleetLoop
import FleetStore
import FleetTestSupport
import GraphStandIn
import Testing

/// The daemon against the Graph stand-in (served by this test's loop) and a real broker.
///
/// The test talks to the daemon's HTTP API through a client on the same loop as the stand-in, so
/// the daemon's Graph requests are answered while the test waits; MQTT requests go through
/// mosquitto_rr like a panel's.
final class GraphDaemon {
    let loop: Reactor
    let graph: GraphStandIn
    let client: HTTPClient
    let files = TemporaryDirectory("fc-graph-e2e")
    let daemon: DaemonHarness

    init() throws {
        loop = try Reactor()
        graph = try GraphStandIn(reactor: loop)
        graph.addExampleTenant()
        client = HTTPClient(reactor: loop)
        try files.write("secret", graph.clientSecret + "\n")
        daemon = try DaemonHarness(people: """
            email,display_name,role,badge,active
            keeper@example.com,Key Keeper,admin,K-0001,true

            """, extraConfig: """
            [[directory.sources]]
            name = "m365"
            kind = "graph"
            tenant_id = "\(graph.tenant)"
            client_id = "\(graph.clientID)"
            client_secret_file = "\(files.file("secret"))"
            login_url = "\(graph.baseURL)"
            graph_url = "\(graph.baseURL)"
            badge_attribute = "employeeId"
            interval = "1h"
            delta_interval = "1h"
            [[devices]]
            id = "door-lobby"
            kind = "checkin_panel"
            resource = "hq/lobby"
            """)
    }

    /// An admin API call, answered while the stand-in keeps serving.
    func call(_ method: String, _ path: String) throws -> (status: Int, body: JSON) {
        var result: Result<HTTPResponse, CurlError>?
        client.send(HTTPRequest(method: method, url: "http://127.0.0.1:\(daemon.httpPort)\(path)",
                                headers: [("Authorization", "Bearer \(daemon.token)")], timeout: .seconds(20))) { result = $0 }
        _ = try loop.run(until: { result != nil }, limit: .seconds(25))
        let response = try #require(result).get()
        return (response.status, try JSON.parse(response.body))
    }

    /// Starts a run of m365 (or joins the one in flight) and waits for its outcome.
    func sync(_ query: String = "") throws -> JSON {
        let (status, body) = try call("POST", "/api/v1/sync?source=m365" + query)
        try #require(status == 200 || status == 202, "\(body)")
        let run = try #require(body["runs"]?[0])
        guard run["status"] == "running", let id = run["id"]?.int else { return run }
        return try waitForRun(id)
    }

    func waitForRun(_ id: Int) throws -> JSON { try waitUntilDone("/api/v1/sync/runs/\(id)") }

    /// Polls the daemon (another process) until the run or plan at `path` is no longer running.
    func waitUntilDone(_ path: String) throws -> JSON {
        var outcome: JSON?
        var asking = false
        _ = try loop.run(until: {
            if outcome == nil && !asking {
                asking = true
                client.send(HTTPRequest(url: "http://127.0.0.1:\(daemon.httpPort)\(path)",
                                        headers: [("Authorization", "Bearer \(daemon.token)")])) { result in
                    asking = false
                    if case .success(let r) = result, let run = try? JSON.parse(r.body), run["status"] != "running" {
                        outcome = run
                    }
                }
            }
            return outcome != nil
        }, limit: .seconds(30))
        return try #require(outcome, "\(path) did not finish:\n\(daemon.log)")
    }

    /// The CLI against the daemon (blocking: only for commands that need no Graph answer).
    func cli(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let r = try ChildProcess.run(DaemonHarness.binary, arguments + ["--config", daemon.configPath], in: daemon.dir)
        return (r.status, r.output)
    }

    /// What `/api/v1/status` says about the directory.
    func directoryStatus() throws -> JSON { try #require(call("GET", "/api/v1/status").body["directory"]) }

    /// With the daemon stopped: every source's last successful sync moved `seconds` into the past,
    /// as if the box had been cut off from the cloud that long (the daemon runs on the real clock).
    func ageCache(by seconds: Double) throws {
        let store = try DirectoryStore(path: daemon.dir + "/state/directory.sqlite")
        for (source, at) in try store.lastSuccessfulSyncs() {
            try store.db.execute("UPDATE meta SET value = ? WHERE key = ?",
                                 [.text(String(at - seconds)), .text(DirectoryStore.lastSyncKey(source))])
        }
    }

    func authorize(_ badge: String) throws -> JSON {
        try JSON.parse(daemon.mqttRequest(device: "door-lobby", op: "authorize",
                                          body: #"{"credential":{"type":"badge","value":"\#(badge)"},"action":"checkin"}"#))
    }
}

@Suite(.serialized) struct DirectoryGraphEndToEndTests {
    @Test func aDoorKeepsDecidingRightThroughThrottlingABrokenGroupAnOutageAndARestart() throws {
        let t = try GraphDaemon()
        t.graph.updateUser("u-bob", [("userPrincipalName", "bob.user@contoso.onmicrosoft.com")])
        try t.daemon.start()
        let first = try t.sync()
        #expect(first["status"] == "succeeded", "\(first)")
        // The run at start adds everyone; a busy box may finish it before this request joins it.
        let runs = try #require(try t.call("GET", "/api/v1/sync/runs?source=m365").body["runs"]?.array)
        #expect(runs.last?["counts"]?["adds"] == 7, "\(runs)")
        #expect(first["duration_s"]?.double != nil)
        #expect(try t.authorize("B-3001")["decision"] == "allow")  // nested group member
        // A kiosk sign-in by email accepts the Entra sign-in name (UPN) as well as the mail.
        for address in ["bob@contoso.com", "Bob.User@contoso.onmicrosoft.com"] {
            let byEmail = try JSON.parse(t.daemon.mqttRequest(device: "door-lobby", op: "authorize",
                body: #"{"credential":{"type":"email","value":"\#(address)"},"action":"checkin"}"#))
            #expect(byEmail["decision"] == "allow" && byEmail["user"]?["email"] == "bob@contoso.com", "\(byEmail)")
        }
        #expect(try t.authorize("b-3001")["role"] == "manager")
        let disabled = try t.authorize("B-5001")
        #expect(disabled["decision"] == "deny" && disabled["reason"] == "inactive")
        #expect(t.graph.requests.contains { $0.path.hasSuffix("/transitiveMembers") && $0.headers["x-ms-throttle-priority"] == "Low" })

        // A panel's search box: prefix on name or email, active and visible people only.
        func search(_ q: String) throws -> [String] {
            let answer = try JSON.parse(t.daemon.mqttRequest(device: "door-lobby", op: "users.search",
                                                             body: #"{"q":"\#(q)","limit":5}"#))
            return answer["users"]?.array?.compactMap { $0["display_name"]?.string } ?? []
        }
        #expect(try search("b") == ["Ben UPN", "Bob User"])
        #expect(try search("MIA@") == ["Mia Both"])
        #expect(try search("hal").isEmpty)  // hidden: authorizable, never listed
        #expect(try search("dis").isEmpty)  // disabled upstream
        #expect(try t.authorize("B-4001")["decision"] == "allow")

        // A throttled tenant: the daemon waits as told, then completes.
        t.graph.throttle = 2
        t.graph.retryAfter = "0.25"
        let started = SystemClock().now
        let throttled = try t.sync()
        #expect(throttled["status"] == "succeeded", "\(throttled)")
        #expect(SystemClock().now.since(started) >= .milliseconds(500))

        // A disabled account reaches the door with the next delta round.
        t.graph.updateUser("u-hal", [("accountEnabled", false)])
        let delta = try t.sync("&delta=1")
        #expect(delta["status"] == "succeeded" && delta["counts"]?["mode"] == "delta", "\(delta)")
        #expect(try t.authorize("B-4001")["reason"] == "inactive")
        t.graph.updateUser("u-hal", [("accountEnabled", true)])
        #expect(try t.sync("&delta=1")["counts"]?["reactivations"] == 1)

        // A broken group (a duplicate name) fails the run; the door keeps its answers.
        t.graph.addGroup("g-dup", "UMA User", members: ["u-ned"])
        let broken = try t.sync()
        #expect(broken["status"] == "failed")
        #expect(broken["reason"]?.string?.contains("named \"UMA User\"") == true)
        #expect(try t.authorize("B-1001")["decision"] == "allow")
        t.graph.groups["g-dup"] = nil

        // A missing group (deleted in Entra) fails the run naming it; nothing changes.
        let manager = t.graph.groups.removeValue(forKey: "g-mgr")
        let missing = try t.sync()
        #expect(missing["status"] == "failed")
        #expect(missing["reason"]?.string?.contains("no group in tenant contoso.onmicrosoft.com is named \"UMA Manager\"") == true,
                "\(missing)")
        #expect(missing["reason"]?.string?.contains("(id g-mgr) is gone") == true, "\(missing)")
        #expect(try t.authorize("B-3001")["role"] == "manager")
        t.graph.groups["g-mgr"] = manager

        // An Admin group without members fails the run; the admin keeps getting in.
        t.graph.groups["g-admin"]?.members = []
        let noAdmin = try t.sync()
        #expect(noAdmin["status"] == "failed")
        #expect(noAdmin["reason"]?.string?.contains("no active Admin") == true, "\(noAdmin)")
        #expect(try t.authorize("B-0001")["decision"] == "allow")
        #expect(try t.authorize("B-1001")["decision"] == "allow")
        t.graph.groups["g-admin"]?.members = ["u-ada"]

        // An emptied group is held; the plan shows who would go; an admin confirms.
        t.graph.groups["g-user"]?.members = []
        let held = try t.sync()
        #expect(held["status"] == "held", "\(held)")
        #expect(try t.authorize("B-1001")["decision"] == "allow")
        let (planStatus, planBody) = try t.call("POST", "/api/v1/sync?source=m365&plan=1")
        #expect(planStatus == 200 || planStatus == 202)
        var plan = try #require(planBody["plans"]?[0])
        if plan["status"] == "running", let id = plan["id"]?.int { plan = try t.waitUntilDone("/api/v1/sync/plans/\(id)") }
        #expect(plan["plan"]?["verdict"] == "held")
        #expect(plan["plan"]?["deactivations"]?.array?.compactMap { $0["email"]?.string }.sorted()
                == ["bob@contoso.com", "u-ben@contoso.onmicrosoft.com"])
        let heldID = try #require(held["id"]?.int)
        let applied = try t.call("POST", "/api/v1/sync/runs/\(heldID)/apply")
        #expect(applied.status == 200 && applied.body["status"] == "succeeded", "\(applied.body)")
        #expect(try t.authorize("B-1001")["reason"] == "inactive")
        #expect(try t.call("POST", "/api/v1/sync/runs/\(heldID)/apply").status == 409)
        t.graph.groups["g-user"]?.members = ["u-bob", "u-ben", "u-mia", "u-dis"]
        #expect(try t.sync()["status"] == "succeeded")
        #expect(try t.authorize("B-1001")["decision"] == "allow")

        // The cloud goes away: the run fails, doors keep being answered from the cache.
        let port = t.graph.port
        t.graph.stop()
        let outage = try t.sync()
        #expect(outage["status"] == "failed")
        #expect(outage["reason"]?.string?.contains("cannot reach 127.0.0.1") == true)
        #expect(try t.authorize("B-3001")["decision"] == "allow")
        #expect(try t.call("GET", "/healthz").status != 200)

        // Pause survives a restart; the restarted daemon decides from directory.sqlite alone and
        // counts the cache's age from the last successful sync, not from its own start.
        #expect(try t.call("POST", "/api/v1/sync/pause").status == 200)
        let ageBefore = try #require(try t.directoryStatus()["cache_age_s"]?.double)
        #expect(t.daemon.stop() == 0)
        try t.daemon.start(requireHealthy: false)
        #expect(try t.authorize("B-3001")["decision"] == "allow")
        #expect(try t.authorize("B-9999")["reason"] == "unknown_credential")
        #expect(try #require(try t.directoryStatus()["cache_age_s"]?.double) >= ageBefore)
        #expect(try t.directoryStatus()["sync_paused"] == true)
        #expect(try t.directoryStatus()["sources"]?["m365"]?["status"] == "failed")  // the outage, from before the stop

        // Eight days without a successful sync (past max_cache_age, 7 days): only Admins get in.
        #expect(t.daemon.stop() == 0)
        try t.ageCache(by: 8 * 86_400)
        try t.daemon.start(requireHealthy: false)
        let stale = try t.authorize("B-3001")
        #expect(stale["decision"] == "deny" && stale["reason"] == "cache_stale", "\(stale)")
        #expect(try #require(stale["cache_age_s"]?.double) >= 8 * 86_400)
        #expect(try t.authorize("B-0001")["decision"] == "allow")
        #expect(try t.authorize("B-9999")["reason"] == "unknown_credential")
        let health = try t.call("GET", "/healthz")
        #expect(health.status != 200 && "\(health.body)".contains("directory cache is stale"), "\(health.body)")
        #expect(try t.call("POST", "/api/v1/sync?source=m365").status == 409)
        #expect(try t.call("POST", "/api/v1/sync/resume").status == 200)
        try t.graph.listen(port: port)
        #expect(try t.sync()["status"] == "succeeded")
        #expect(try t.authorize("B-3001")["decision"] == "allow")  // fresh again
        #expect(t.daemon.stop() == 0)
        #expect(!t.daemon.log.contains(t.graph.clientSecret))
    }

    @Test func aHeldRunAndThePinnedGroupsSurviveARestart() throws {
        let t = try GraphDaemon()
        try t.daemon.start()
        #expect(try t.sync()["status"] == "succeeded")

        // An emptied group is held; the daemon restarts during an outage; the admin confirms by id.
        t.graph.groups["g-user"]?.members = []
        let held = try t.sync()
        let heldID = try #require(held["id"]?.int)
        #expect(held["status"] == "held", "\(held)")
        #expect(t.daemon.stop() == 0)
        let port = t.graph.port
        t.graph.stop()
        try t.daemon.start(requireHealthy: false)
        #expect(try t.authorize("B-1001")["decision"] == "allow")
        #expect(try t.call("GET", "/api/v1/sync/runs/\(heldID)").body["confirmable"] == true)
        let outage = try t.sync()
        #expect(outage["status"] == "failed", "\(outage)")
        let shown = try t.cli(["sync", "apply", "\(heldID)"])
        #expect(shown.status == 3 && shown.output.contains("run \(heldID) is held"), "\(shown.output)")
        let applied = try t.cli(["sync", "apply", "\(heldID)", "--force"])
        #expect(applied.status == 0 && applied.output.contains("confirmed by an admin"), "\(applied.output)")
        #expect(try t.authorize("B-1001")["reason"] == "inactive")
        #expect(try t.authorize("B-2001")["role"] == "manager")  // Mia keeps Manager
        let again = try t.call("POST", "/api/v1/sync/runs/\(heldID)/apply")
        #expect(again.status == 409, "\(again.body)")
        #expect(try t.cli(["sync", "apply", "\(heldID)", "--force"]).status != 0)

        // The cloud is back with the group restored.
        t.graph.groups["g-user"]?.members = ["u-bob", "u-ben", "u-mia", "u-dis"]
        try t.graph.listen(port: port)
        #expect(try t.sync()["status"] == "succeeded")
        #expect(try t.authorize("B-1001")["decision"] == "allow")

        // Half the people disabled at once reach the daemon as a delta round: held, then
        // confirmed by id like a full run.
        for id in ["u-bob", "u-mia", "u-ned"] { t.graph.updateUser(id, [("accountEnabled", false)]) }
        let heldDelta = try t.sync("&delta=1")
        #expect(heldDelta["status"] == "held" && heldDelta["counts"]?["mode"] == "delta", "\(heldDelta)")
        #expect(try t.authorize("B-1001")["decision"] == "allow")
        let deltaID = try #require(heldDelta["id"]?.int)
        // The delta timer reads the same changes again: the first held run stays the one to confirm.
        let heldAgain = try t.sync("&delta=1")
        #expect(heldAgain["status"] == "held" && heldAgain["id"]?.int != deltaID, "\(heldAgain)")
        #expect("\(try t.call("GET", "/healthz").body)".contains("sync apply \(deltaID) --force"))
        let confirmed = try t.call("POST", "/api/v1/sync/runs/\(deltaID)/apply")
        #expect(confirmed.status == 200 && confirmed.body["counts"]?["deactivations"] == 3, "\(confirmed.body)")
        #expect(try t.authorize("B-1001")["reason"] == "inactive")
        for id in ["u-bob", "u-mia", "u-ned"] { t.graph.updateUser(id, [("accountEnabled", true)]) }
        #expect(try t.sync("&delta=1")["counts"]?["reactivations"] == 3)

        // The Manager group is renamed while the daemon is down: the restarted daemon still knows
        // which group it used, says so, and changes nothing.
        #expect(t.daemon.stop() == 0)
        t.graph.groups["g-mgr"]?.displayName = "UMA Managers"
        try t.daemon.start(requireHealthy: false)
        let renamed = try t.sync()
        #expect(renamed["status"] == "failed")
        #expect(renamed["reason"]?.string?.contains("(id g-mgr) was renamed to \"UMA Managers\"") == true, "\(renamed)")
        #expect(try t.authorize("B-3001")["role"] == "manager")
        #expect(try t.authorize("B-3001")["decision"] == "allow")
        #expect(t.daemon.stop() == 0)
    }
}
