import FleetJSON

/// The mosquitto dynamic-security commands the controller sends, as JSON (field names as the 2.0.11
/// plugin accepts them). Pure: the admin channel adds correlation data and sends them.
///
/// Mosquitto 2.0 does not substitute `%u`/`%c` in dynsec ACLs, so every panel gets its own role with
/// literal topics: `fc-dev-<id>` may publish under `<prefix>/dev/<id>/up/#` and receive and subscribe
/// under `<prefix>/dev/<id>/down/#`, nothing else.
public enum DynsecCommands {
    public static let controllerRole = "fc-controller"
    public static let bootstrapRole = "fc-pairing"

    public static func deviceRole(_ id: String) -> String { "fc-dev-\(id)" }
    public static func gatewayRole(_ name: String) -> String { "fc-gw-\(name)" }
    public static func gatewayUsername(_ name: String) -> String { "fc-gw-\(name)" }

    static func acl(_ type: String, _ topic: String, allow: Bool = true, priority: Int = 0) -> JSON {
        ["acltype": JSON(type), "topic": JSON(topic), "priority": JSON(priority), "allow": .bool(allow)]
    }

    /// Default deny for everything but unsubscribing. `mosquitto_ctrl dynsec setDefaultACLAccess` in
    /// 2.0.11 sends `"access":"deny"`, which the plugin ignores; this sends `"allow":false` itself.
    public static func defaultDeny() -> JSON {
        ["command": "setDefaultACLAccess", "acls": [
            ["acltype": "publishClientSend", "allow": false], ["acltype": "publishClientReceive", "allow": false],
            ["acltype": "subscribe", "allow": false], ["acltype": "unsubscribe", "allow": true],
        ]]
    }

    public static func createRole(_ name: String, _ acls: [JSON], text: String) -> JSON {
        ["command": "createRole", "rolename": JSON(name), "textname": JSON(text), "acls": .array(acls)]
    }

    public static func createClient(username: String, password: String, clientID: String?, role: String,
                                    text: String) -> JSON {
        var o: JSONObject = ["command": "createClient", "username": JSON(username), "password": JSON(password),
                             "textname": JSON(text), "roles": [["rolename": JSON(role), "priority": -1]]]
        if let clientID { o["clientid"] = JSON(clientID) }
        return .object(o)
    }

    public static func deleteClient(_ username: String) -> JSON { ["command": "deleteClient", "username": JSON(username)] }
    public static func deleteRole(_ name: String) -> JSON { ["command": "deleteRole", "rolename": JSON(name)] }
    public static func disableClient(_ username: String) -> JSON { ["command": "disableClient", "username": JSON(username)] }
    public static func enableClient(_ username: String) -> JSON { ["command": "enableClient", "username": JSON(username)] }
    public static func setPassword(_ username: String, _ password: String) -> JSON {
        ["command": "setClientPassword", "username": JSON(username), "password": JSON(password)]
    }
    public static func listClients() -> JSON { ["command": "listClients", "verbose": true, "count": -1, "offset": 0] }

    /// The panel's account: remove any leftover of an earlier attempt, then its role and client.
    /// One message, processed in order by the plugin; only the last two answers matter.
    public static func createDevice(id: String, password: String, prefix: String, text: String) -> [JSON] {
        let role = deviceRole(id)
        return [
            deleteClient(id), deleteRole(role),
            createRole(role, [
                acl("publishClientSend", "\(prefix)/dev/\(id)/up/#"),
                acl("subscribePattern", "\(prefix)/dev/\(id)/down/#"),
                acl("publishClientReceive", "\(prefix)/dev/\(id)/down/#"),
            ], text: "device \(id)"),
            createClient(username: id, password: password, clientID: id, role: role, text: text),
        ]
    }

    /// Deleting the client kicks its connection at once; then its role goes.
    public static func deleteDevice(id: String) -> [JSON] { [deleteClient(id), deleteRole(deviceRole(id))] }

    /// A gateway may only publish below `<prefix>/ingest/<name>/`.
    public static func createGateway(name: String, password: String, prefix: String) -> [JSON] {
        let role = gatewayRole(name), user = gatewayUsername(name)
        return [
            deleteClient(user), deleteRole(role),
            createRole(role, [acl("publishClientSend", "\(prefix)/ingest/\(name)/#")], text: "gateway \(name)"),
            createClient(username: user, password: password, clientID: nil, role: role, text: "gateway \(name)"),
        ]
    }

    public static func deleteGateway(name: String) -> [JSON] { [deleteClient(gatewayUsername(name)), deleteRole(gatewayRole(name))] }

    /// What `broker init` sets up beside the admin: default deny, the controller's own account
    /// (publish under the prefix, subscribe and receive anything: extra ingest subscriptions live
    /// outside the prefix) and the bootstrap account that may only publish hellos.
    public static func initialSetup(prefix: String, controller: (String, String), bootstrap: (String, String)) -> [JSON] {
        [
            defaultDeny(),
            createRole(controllerRole, [
                acl("publishClientSend", "\(prefix)/#"), acl("publishClientReceive", "#"),
                acl("subscribePattern", "#"), acl("unsubscribePattern", "#"),
            ], text: "fleet-controller"),
            createClient(username: controller.0, password: controller.1, clientID: nil, role: controllerRole,
                         text: "fleet-controller"),
            createRole(bootstrapRole, [acl("publishClientSend", "\(prefix)/pair/hello")], text: "pairing bootstrap"),
            createClient(username: bootstrap.0, password: bootstrap.1, clientID: nil, role: bootstrapRole,
                         text: "pairing bootstrap (publish hello only)"),
        ]
    }
}
