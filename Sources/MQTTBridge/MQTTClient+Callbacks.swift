import CFleetShims
import Glibc

/// libmosquitto's C callbacks. Each is a closure that captures nothing and finds its client through
/// the userdata pointer set in `init`. Each ends by setting errno to EAGAIN: inside one
/// mosquitto_loop_read libmosquitto reads the next packet unless errno says EAGAIN, and our handlers
/// (SQLite, file and socket calls) leave anything there, so one call could read hundreds of queued
/// uplinks in a single 40 ms callback. `MQTTClient.service` bounds the reads per readiness itself.
extension MQTTClient {
    func installCallbacks() {
        mosquitto_connect_v5_callback_set(mosq) { _, obj, rc, _, _ in
            MQTTClient.from(obj).handleConnack(rc: rc)
            errno = EAGAIN
        }
        mosquitto_disconnect_v5_callback_set(mosq) { _, obj, rc, _ in
            MQTTClient.from(obj).handleDisconnect(rc: rc)
            errno = EAGAIN
        }
        mosquitto_subscribe_v5_callback_set(mosq) { _, obj, mid, _, _, _ in
            MQTTClient.from(obj).handleSuback(mid: mid)
            errno = EAGAIN
        }
        mosquitto_publish_v5_callback_set(mosq) { _, obj, mid, _, _ in
            MQTTClient.from(obj).handlePuback(mid: mid)
            errno = EAGAIN
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
            errno = EAGAIN
        }
    }
}
