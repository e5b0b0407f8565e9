import CFuzzDriver
import FuzzSupport

/// libFuzzer entry point: Milesight models: byte 0 is the fPort, the rest the payload.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = start.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? []
    FuzzChecks.decoders(vendor: "milesight", data)
    return 0
}

/// The executable's entry point (SwiftPM's name for `main`): runs libFuzzer with our callback.
@_cdecl("FuzzMilesightDecoders_main")
public func entryPoint(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { fuzzOneInput($0, $1) }
}
