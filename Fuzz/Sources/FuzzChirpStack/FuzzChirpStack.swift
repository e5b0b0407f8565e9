import CFuzzDriver
import FuzzSupport

/// libFuzzer entry point: The ChirpStack v4 envelope.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = start.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? []
    FuzzChecks.envelope(.chirpstackV4, topic: "application/a/device/0101010101010101/event/up", data)
    return 0
}

/// The executable's entry point (SwiftPM's name for `main`): runs libFuzzer with our callback.
@_cdecl("FuzzChirpStack_main")
public func entryPoint(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { fuzzOneInput($0, $1) }
}
