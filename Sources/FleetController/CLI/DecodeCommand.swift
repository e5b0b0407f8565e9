import ArgumentParser
import SensorIngest

/// `fleet-controller decode --vendor milesight --model AM307 [--fport 85] PAYLOAD`.
struct DecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode one sensor payload and print it as JSON.",
        discussion: "PAYLOAD is hex or base64. The output uses the vendor decoder's field names and units; --normalized prints our readings. Exit code 2 when the payload cannot be decoded.")

    @Option(help: "milesight") var vendor: String
    @Option(help: "Device model, e.g. AM307.") var model: String
    @Option(name: .customLong("fport"), help: "LoRaWAN port.") var fPort: Int = 85
    @Flag(help: "Print normalized readings instead of the vendor's fields.") var normalized = false
    @Argument(help: "The payload, hex or base64.") var payload: String

    func run() throws {
        guard let bytes = SensorIngest.parsePayloadArgument(payload) else {
            printError("decode: PAYLOAD is neither hex nor base64")
            throw ExitCode(2)
        }
        do {
            let json = try SensorIngest.decodeForCLI(vendor: vendor, model: model, fPort: fPort, payload: bytes,
                                                     normalized: normalized)
            print(json.serialized())
        } catch {
            printError("decode: \(error)")
            throw ExitCode(2)
        }
    }
}
