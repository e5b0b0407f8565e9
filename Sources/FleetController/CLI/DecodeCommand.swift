import ArgumentParser
import SensorIngest

/// `fleet-controller decode --vendor milesight --model AM307 [--fport 85] PAYLOAD`, and
/// `decode --vendor pressac|irisys JSON` for gateway messages.
struct DecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode one sensor payload and print it as JSON.",
        discussion: """
            A LoRaWAN payload (hex or base64) needs --model; the output uses the vendor decoder's field names and \
            units, or our readings with --normalized. For --vendor pressac or irisys a JSON gateway message is \
            read as such (Irisys takes the counter id from --topic). Warnings (parts of the payload not \
            understood) go to stderr, or into the output with --normalized. Exit code 2 when the input cannot be decoded.
            """)

    @Option(help: "milesight, pressac or irisys") var vendor: String
    @Option(help: "Device model for a LoRaWAN payload, e.g. AM307.") var model: String?
    @Option(name: .customLong("fport"), help: "LoRaWAN port.") var fPort: Int = 85
    @Option(help: "Topic a JSON gateway message arrived on (Irisys: …/<serial>/counts).") var topic: String?
    @Option(name: .customLong("time-zone"), help: "Gateway time zone for Pressac local timestamps, e.g. Europe/London or +01:00.")
    var timeZone: String?
    @Flag(help: "Print normalized readings instead of the vendor's fields.") var normalized = false
    @Option(name: .customLong("line"), help: ArgumentHelp(
        "With --normalized, a VS133/VS135: the counting line (1-4) a claim would list; repeat for several "
            + "(--line 1 --line 2) to see their summed period in/out as people_in/people_out. Default: line 1.",
        valueName: "N"))
    var lines: [Int] = []
    @Argument(help: "The payload: hex or base64, or a JSON message for pressac/irisys.") var payload: String

    func run() throws {
        do {
            let vendor = vendor.lowercased()
            if let problem = linesProblem() { return try fail(problem) }
            if vendor != "milesight", payload.first(where: { !$0.isWhitespace }).map({ $0 == "{" || $0 == "[" }) == true {
                var zone: LocalTimeZone?
                if let timeZone {
                    guard let z = LocalTimeZone(timeZone) else { return try fail("unknown time zone \(timeZone)") }
                    zone = z
                }
                print(try Envelope.decodeForCLI(vendor: vendor, payload: Array(payload.utf8), topic: topic, timeZone: zone).serialized())
                return
            }
            guard let model else { return try fail("--model is required for a LoRaWAN payload") }
            guard let bytes = SensorIngest.parsePayloadArgument(payload) else { return try fail("PAYLOAD is neither hex nor base64") }
            let output = try SensorIngest.decodeForCLI(
                vendor: vendor, model: model, fPort: fPort, payload: bytes, normalized: normalized,
                lines: lines.isEmpty ? nil : lines, onWarning: { printError("decode: warning: \($0)") })
            print(output.serialized())
        } catch let exit as ExitCode {
            throw exit
        } catch {
            try fail("\(error)")
        }
    }

    /// `--line` is a usage error (exit 2, like any input that cannot be decoded) unless it can
    /// change what is printed: normalized readings of a model with counting lines.
    private func linesProblem() -> String? {
        guard !lines.isEmpty else { return nil }
        guard normalized else {
            return "--line needs --normalized: the vendor's fields show every line already (line_N_period_in/out); "
                + "--normalized sums the listed lines as a claim with them would"
        }
        guard let model, CountedLines.applies(to: model) else {
            return "--line: only a VS133 or VS135 has counting lines; "
                + (model.map { "a \($0) counts as it is, decode it without --line" } ?? "give --model VS133 or VS135")
        }
        if let bad = lines.first(where: { !CountedLines.available.contains($0) }) {
            return "--line \(bad): a \(model.uppercased()) counts lines 1 to 4"
        }
        return nil
    }

    private func fail(_ reason: String) throws {
        printError("decode: \(reason)")
        throw ExitCode(2)
    }
}
