import FleetJSON
import FleetTestSupport
import Testing

/// `fleet-controller decode --normalized --line N …` for a VS133 / VS135: the readings a claim
/// with those lines would store, and a usage error (exit 2) where `--line` cannot change anything.
@Suite struct IngestDecodeLinesCommandTests {
    /// Line 1: totals 100 in / 90 out, period 2 in / 0 out; line 2: totals 50 / 40, period 3 / 1.
    static let twoLines = "03D26400000004D25A00000005CC0200000006D23200000007D22800000008CC03000100"

    func decode(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let dir = makeTempDir()
        defer { removeTree(dir) }
        let run = try ChildProcess.run(DaemonHarness.binary, ["decode", "--vendor", "milesight"] + arguments, in: dir)
        return (run.status, run.output)
    }

    /// (extra arguments, people_in and people_out printed)
    @Test(arguments: [
        ([], [2.0, 0.0]),  // line 1, as today
        (["--line", "1"], [2.0, 0.0]),
        (["--line", "1", "--line", "2"], [5.0, 1.0]),
        (["--line", "2"], [3.0, 1.0]),
    ])
    func normalizedReadingsSumTheListedLines(extra: [String], people: [Double]) throws {
        let run = try decode(["--model", "VS133", "--normalized"] + extra + [Self.twoLines])
        #expect(run.status == 0, "\(run.output)")
        let readings = try JSON.parse(run.output)["readings"]?.array ?? []
        let shown = ["people_in", "people_out"].compactMap { kind in
            readings.first { $0["kind"]?.string == kind }?["value"]?.double
        }
        #expect(shown == people, "\(run.output)")
    }

    /// (arguments, what stderr says); every one exits 2 and prints nothing on stdout.
    @Test(arguments: [
        (["--model", "VS133", "--line", "2", twoLines], "--line needs --normalized"),
        (["--model", "AM307", "--normalized", "--line", "1", "0367EE00"], "--line: only a VS133 or VS135 has counting lines; a AM307"),
        (["--model", "VS135", "--normalized", "--line", "5", twoLines], "--line 5: a VS135 counts lines 1 to 4"),
        (["--normalized", "--line", "1", twoLines], "--line: only a VS133 or VS135 has counting lines; give --model VS133 or VS135"),
    ])
    func lineWhereItCannotApplyIsAUsageError(arguments: [String], message: String) throws {
        let run = try decode(arguments)
        #expect(run.status == 2)
        #expect(run.output.contains("decode: " + message), "\(run.output)")
        #expect(!run.output.contains("readings"))
    }
}
