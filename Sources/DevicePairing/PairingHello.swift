import FleetJSON

/// What an unpaired panel announces on `<prefix>/pair/hello` with the bootstrap account: its own id
/// and the password it wants, what it is, and the code and fingerprint it shows on its screen.
public struct PairingHello: Sendable, Equatable {
    public var deviceID: String
    public var kind: String
    public var model: String
    public var firmware: String
    public var password: String
    /// Normalized (no dash).
    public var code: String
    public var fingerprint: String

    public init(deviceID: String, kind: String, model: String, firmware: String, password: String, code: String,
                fingerprint: String) {
        self.deviceID = deviceID
        self.kind = kind
        self.model = model
        self.firmware = firmware
        self.password = password
        self.code = code
        self.fingerprint = fingerprint
    }

    public static let kinds: Set<String> = ["room_display", "kiosk", "checkin_panel", "people_counter", "eink_display"]
    public static let maxPayloadBytes = 4096
    /// Ids beginning with this belong to the controller's own accounts (admin, controller,
    /// bootstrap, gateways) and can never be taken by a panel.
    public static let reservedPrefix = "fc-"

    /// Decodes and validates a hello. Every rule names the field it is about.
    public static func decode(_ payload: [UInt8]) throws(PairingError) -> PairingHello {
        let op = "pair/hello"
        guard payload.count <= maxPayloadBytes else {
            throw PairingError(.invalidHello, op, "hello is \(payload.count) bytes; at most \(maxPayloadBytes)")
        }
        let json: JSON
        do { json = try JSON.parse(payload) } catch {
            throw PairingError(.invalidHello, op, "invalid JSON at byte \(error.offset): \(error.reason)")
        }
        guard json.object != nil else { throw PairingError(.invalidHello, op, "hello must be a JSON object") }
        func text(_ key: String, _ range: ClosedRange<Int>) throws(PairingError) -> String {
            guard let s = json[key]?.string else {
                throw PairingError(.invalidHello, op, "missing string", field: key)
            }
            guard range.contains(s.utf8.count), s.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) else {
                throw PairingError(.invalidHello, op, "must be \(range.lowerBound)-\(range.upperBound) printable ASCII characters",
                                   field: key)
            }
            return s
        }
        let id = try text("id", 1...64)
        guard isValidDeviceID(id) else {
            throw PairingError(.invalidHello, op, "\"\(id)\" is not a device id: 1-64 of a-z, 0-9, '-', '_', '.'", field: "id")
        }
        guard !id.hasPrefix(reservedPrefix) else {
            throw PairingError(.invalidHello, op, "ids beginning with \(reservedPrefix) are reserved", field: "id")
        }
        let kind = try text("kind", 1...32)
        guard kinds.contains(kind) else {
            throw PairingError(.invalidHello, op, "unknown kind \"\(kind)\"; expected one of \(kinds.sorted().joined(separator: ", "))",
                               field: "kind")
        }
        let model = try text("model", 1...64)
        let firmware = try text("firmware", 1...32)
        let password = try text("password", 16...128)
        let code = PairingCode.normalize(try text("code", 8...16))
        guard PairingCode.isValid(code) else {
            throw PairingError(.invalidHello, op, "must be 8 letters of BCDFGHJKLMNPQRSTVWXZ", field: "code")
        }
        let fingerprint = try text("fingerprint", 4...16)
        guard fingerprint.utf8.allSatisfy({ isAlnum($0) || $0 == 0x2d || $0 == 0x3a }) else {
            throw PairingError(.invalidHello, op, "letters, digits, '-' and ':' only", field: "fingerprint")
        }
        return PairingHello(deviceID: id, kind: kind, model: model, firmware: firmware, password: password, code: code,
                            fingerprint: fingerprint)
    }

    public var json: JSON {
        ["id": JSON(deviceID), "kind": JSON(kind), "model": JSON(model), "firmware": JSON(firmware),
         "password": JSON(password), "code": JSON(PairingCode.display(code)), "fingerprint": JSON(fingerprint)]
    }
}

/// 1-64 of a-z, 0-9, '-', '_', '.', not starting with '.': safe as a topic level, an MQTT username
/// and a dynsec role name.
public func isValidDeviceID(_ id: String) -> Bool {
    !id.isEmpty && id.utf8.count <= 64 && !id.hasPrefix(".") && id.utf8.allSatisfy {
        ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d || $0 == 0x5f || $0 == 0x2e
    }
}

func isAlnum(_ b: UInt8) -> Bool { (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) }
