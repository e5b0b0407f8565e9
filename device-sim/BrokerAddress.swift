import ArgumentParser

/// Where the broker listens: `HOST:PORT`, `[IPv6]:PORT`, a bare host (port 1883), or
/// `unix:/path/to/socket`. libmosquitto takes a Unix socket as the host with port 0.
struct BrokerAddress: ExpressibleByArgument, CustomStringConvertible {
    var host: String
    var port: Int32

    init(host: String, port: Int32) {
        self.host = host
        self.port = port
    }

    init?(argument: String) {
        if argument.hasPrefix("unix:") {
            let path = String(argument.dropFirst(5))
            guard !path.isEmpty else { return nil }
            self.init(host: path, port: 0)
            return
        }
        var hostPart = Substring(argument)
        var portPart: Substring?
        if argument.hasPrefix("[") {
            guard let close = argument.firstIndex(of: "]") else { return nil }
            hostPart = argument[argument.index(after: argument.startIndex)..<close]
            let rest = argument[argument.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { return nil }
                portPart = rest.dropFirst()
            }
        } else if let colon = argument.lastIndex(of: ":") {
            hostPart = argument[..<colon]
            portPart = argument[argument.index(after: colon)...]
        }
        guard !hostPart.isEmpty else { return nil }
        var port: Int32 = 1883
        if let portPart {
            guard let p = Int32(portPart), (1...65535).contains(p) else { return nil }
            port = p
        }
        self.init(host: String(hostPart), port: port)
    }

    var description: String { port == 0 ? "unix:\(host)" : "\(host):\(port)" }

    static var defaultValueDescription: String { "127.0.0.1:1883" }
}
