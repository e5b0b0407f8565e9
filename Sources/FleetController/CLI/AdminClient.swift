import ArgumentParser
import FleetJSON
import FleetLoop

/// Where the running daemon is and how to prove we are its admin: from flags, or from the same
/// config file the daemon reads (its [http] listen and $STATE/admin.token).
struct DaemonOptions: ParsableArguments {
    @Option(help: "The daemon's configuration file (to find its HTTP address and admin token).")
    var config: String?
    @Option(help: "Base URL of the daemon's HTTP API, e.g. http://127.0.0.1:8080.")
    var url: String?
    @Option(name: .customLong("token-file"), help: "File holding the admin token.")
    var tokenFile: String?

    func client() throws -> AdminClient {
        let env = processEnvironment()
        let c: Configuration
        do {
            c = try config.map { try Configuration.load(path: $0, environment: env) } ?? .embeddedDefaults(environment: env)
        } catch {
            printError("configuration error: \(error)")
            throw ExitCode(78)
        }
        let base = url ?? "http://\(c.httpHost):\(c.httpPort)"
        let path = tokenFile ?? "\(c.stateDir)/admin.token"
        guard let token = try? readTextFile(path).trimmingCharacters(in: " \n\r\t"), !token.isEmpty else {
            printError("cannot read the admin token from \(path); pass --config or --token-file")
            throw ExitCode(1)
        }
        return AdminClient(base: base, token: token)
    }
}

/// A blocking HTTP call to the daemon, run on a private reactor (the CLI is a short-lived process).
struct AdminClient {
    let base: String
    let token: String

    func call(_ method: String, _ path: String, body: JSON? = nil) throws -> JSON {
        let loop = try Reactor()
        let http = HTTPClient(reactor: loop)
        var result: Result<HTTPResponse, CurlError>?
        var headers = [("Authorization", "Bearer \(token)")]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        http.send(HTTPRequest(method: method, url: base + path, headers: headers, body: body?.bytes ?? [],
                              timeout: .seconds(30))) { result = $0 }
        _ = try loop.run(until: { result != nil }, limit: .seconds(35))
        switch result {
        case .success(let r)?:
            let json = (try? JSON.parse(r.body)) ?? JSON(r.text)
            guard (200..<300).contains(r.status) else {
                printError("error \(r.status): \(json["message"]?.string ?? r.text)")
                throw ExitCode(1)
            }
            return json
        case .failure(let e)?:
            printError("cannot reach the daemon at \(base): \(e.message). Is it running?")
            throw ExitCode(1)
        case nil:
            printError("no answer from the daemon at \(base)")
            throw ExitCode(1)
        }
    }
}

func percentEncode(_ s: String) -> String {
    var out = ""
    for b in s.utf8 {
        if (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x2d || b == 0x2e
            || b == 0x5f || b == 0x7e {
            out.unicodeScalars.append(Unicode.Scalar(b))
        } else {
            out += "%" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true)
        }
    }
    return out
}
