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
    @Argument(help: "The payload: hex or base64, or a JSON message for pressac/irisys.") var payload: String

    func run() throws {
        do {
            let vendor = vendor.lowercased()
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
                onWarning: { printError("decode: warning: \($0)") })
            print(output.serialized())
        } catch let exit as ExitCode {
            throw exit
        } catch {
            try fail("\(error)")
        }
    }

    private func fail(_ reason: String) throws {
        printError("decode: \(reason)")
        throw ExitCode(2)
    }
}
