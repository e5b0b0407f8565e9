import CFleetShims

/// libmosquitto's C callbacks. Each is a closure that captures nothing and finds its client through
/// the userdata pointer set in `init`.
extension MQTTClient {
    func installCallbacks() {
        mosquitto_connect_v5_callback_set(mosq) { _, obj, rc, _, _ in
            MQTTClient.from(obj).handleConnack(rc: rc)
        }
        mosquitto_disconnect_v5_callback_set(mosq) { _, obj, rc, _ in
            MQTTClient.from(obj).handleDisconnect(rc: rc)
        }
        mosquitto_subscribe_v5_callback_set(mosq) { _, obj, mid, _, _, _ in
            MQTTClient.from(obj).handleSuback(mid: mid)
        }
        mosquitto_publish_v5_callback_set(mosq) { _, obj, mid, _, _ in
            MQTTClient.from(obj).handlePuback(mid: mid)
        }
        mosquitto_message_v5_callback_set(mosq) { _, obj, msg, props in
            guard let m = msg?.pointee else { return }
            var message = MQTTMessage(
                topic: m.topic.map { String(cString: $0) } ?? "",
                payload: m.payloadlen > 0
                    ? Array(UnsafeRawBufferPointer(start: m.payload, count: Int(m.payloadlen))) : [],
                qos: m.qos, retain: m.retain)
            // Strings and binaries from mosquitto_property_read_* are ours to free().
            var rt: UnsafeMutablePointer<CChar>?
            if mosquitto_property_read_string(props, Int32(MQTT_PROP_RESPONSE_TOPIC.rawValue), &rt, false) != nil,
               let rt {
                message.responseTopic = String(cString: rt)
                free(rt)
            }
            var cd: UnsafeMutableRawPointer?
            var cdLen: UInt16 = 0
            if mosquitto_property_read_binary(props, Int32(MQTT_PROP_CORRELATION_DATA.rawValue), &cd, &cdLen, false) != nil,
               let cd {
                message.correlationData = Array(UnsafeRawBufferPointer(start: cd, count: Int(cdLen)))
                free(cd)
            }
            MQTTClient.from(obj).deliver(message)
        }
    }
}
