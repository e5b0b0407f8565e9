import FleetJSON

/// The VS people counters and occupancy sensors (sensors.md §1.2, the `vs-series/*` READMEs and
/// the VS121/VS34x uplink docs). Little-endian except the VS121 region mask.
///
/// Normalized readings: `people_in`/`people_out` are the *period* counts (deltas, so the
/// controller can sum them per resource); cumulative totals stay fields. A VS133/VS135 counts up
/// to four lines; only line 1 becomes readings here, the room's door by convention, because summing
/// lines would count a person who crosses two lines twice. A room with two doors lists its lines
/// in the claim, and ingest sums those from the fields (`CountedLines`).
extension Milesight {
    private static let peopleIn = MilesightValue(
        name: "people_in", encoding: .u16, kind: .peopleIn, unit: ReadingUnit.people)
    private static let peopleOut = MilesightValue(
        name: "people_out", encoding: .u16, kind: .peopleOut, unit: ReadingUnit.people)
    private static let u8 = MilesightValue(name: "", encoding: .u8)
    private static let u16 = MilesightValue(name: "", encoding: .u16)
    private static let u32 = MilesightValue(name: "", encoding: .u32)

    // MARK: VS121

    /// VS121 AI workplace occupancy sensor:
    ///
    ///     04 C9 4  people_count_all u8, region_count u8, region mask u16 BIG-endian (bit n → region_{n+1})
    ///     05 CC 4  people_in, people_out (int16, period)
    ///     06 CD 1  people_count_max u8
    ///     07 D5 8  region_1_count ... region_8_count u8;  08 D5 8  region_9 ... region_16
    ///     09...0C DA 8  people-flow matrix a_to_a ... d_to_d u16
    ///     0D CC 4  people_total_in, people_total_out u16
    ///     0E E4 5  dwell: region id u8 (0 all), avg u16, max u16
    ///     0F 85 4  timestamp u32
    ///     10 F7 4  line_in, line_out u16 (firmware 7.0.85 and later)
    ///     20 CE …  history: timestamp u32, data type u8, a body per type the reference does not
    ///              give — the walk stops there with a warning.
    static let vs121 = MilesightModel(
        "VS121",
        channels: peopleCounterAttributes + [shortSerial] + [
            MilesightChannel(id: 0x04, type: 0xC9, length: 4) { reader, output throws(DecodeError) in
                let count = Int(try reader.u8())
                let regions = Int(try reader.u8())
                let mask = try reader.u16(.big)
                output.fields["people_count_all"] = .number(Double(count))
                output.fields["region_count"] = .number(Double(regions))
                for region in 0..<min(regions, 16) {
                    output.fields["region_\(region + 1)"] = .number(Double(mask >> region & 1))
                }
                output.measurements += [
                    Measurement(kind: .peopleCount, value: Double(count), unit: ReadingUnit.people),
                    Measurement(kind: .occupancy, value: count > 0 ? 1 : 0, unit: ReadingUnit.state),
                ]
            },
            .init(id: 0x05, type: 0xCC, values: [
                .init(name: "people_in", encoding: .i16, kind: .peopleIn, unit: ReadingUnit.people),
                .init(name: "people_out", encoding: .i16, kind: .peopleOut, unit: ReadingUnit.people),
            ]),
            .init(id: 0x06, type: 0xCD, values: [u8.named("people_count_max")]),
            .init(id: 0x07, type: 0xD5, values: (1...8).map { u8.named("region_\($0)_count") }),
            .init(id: 0x08, type: 0xD5, values: (9...16).map { u8.named("region_\($0)_count") }),
        ] + zip(0x09...0x0C, ["a", "b", "c", "d"]).map { id, from in
            MilesightChannel(id: UInt8(id), type: 0xDA, values: ["a", "b", "c", "d"].map { u16.named("\(from)_to_\($0)") })
        } + [
            .init(id: 0x0D, type: 0xCC, values: [u16.named("people_total_in"), u16.named("people_total_out")]),
            dwell(id: 0x0E, prefix: "region", allName: ""),
            .init(id: 0x0F, type: 0x85, values: [u32.named("timestamp")]),
            .init(id: 0x10, type: 0xF7, values: [u16.named("line_in"), u16.named("line_out")]),
            MilesightChannel(id: 0x20, type: 0xCE, length: 5) { reader, output throws(DecodeError) in
                let time = try reader.u32()
                let type = try reader.u8()
                output.stop(
                    "VS121 history record of type \(type) at \(time): its layout is not in the reference; "
                        + "stopped with \(reader.remaining) bytes undecoded")
            },
        ])

    /// `E4` dwell frames: region id, average and maximum dwell (s). Region 0 means all regions.
    private static func dwell(id: UInt8, prefix: String, allName: String, suffix: String = "") -> MilesightChannel {
        MilesightChannel(id: id, type: 0xE4, length: 5) { reader, output throws(DecodeError) in
            let region = try reader.u8()
            let average = try reader.u16()
            let maximum = try reader.u16()
            let name = region == 0 ? allName : "\(prefix)_\(region)_"
            output.fields[name + suffix + "avg_dwell"] = .number(Double(average))
            output.fields[name + suffix + "max_dwell"] = .number(Double(maximum))
        }
    }

    // MARK: VS132

    /// VS132 passage counter: 03 D2 total_counter_in u32, 04 D2 total_counter_out u32,
    /// 05 CC periodic_counter_in, periodic_counter_out u16.
    static let vs132 = MilesightModel(
        "VS132",
        channels: peopleCounterAttributes + [
            .init(id: 0x03, type: 0xD2, values: [u32.named("total_counter_in")]),
            .init(id: 0x04, type: 0xD2, values: [u32.named("total_counter_out")]),
            .init(id: 0x05, type: 0xCC, values: [
                peopleIn.named("periodic_counter_in"), peopleOut.named("periodic_counter_out"),
            ]),
        ])

    // MARK: VS133 / VS135

    /// VS133 / VS135 ToF line counters (identical protocol), per line N = 1...4 at channel
    /// base b = 0x03 + 3(N−1):
    ///
    ///     b   D2 4  line_N_total_in u32 (cumulative)
    ///     b+1 D2 4  line_N_total_out u32
    ///     b+2 CC 4  line_N_period_in, line_N_period_out u16
    ///     0F  E3 4  region_1_count ... region_4_count u8
    ///     10  E4 5  region id, avg dwell u16, max dwell u16 → region_N_avg_dwell, region_N_max_dwell
    ///     11 + 3(N−1) …  the same three frames for group ("child") counting: line_N_child_*
    ///     1D  E3 4  region_N_child_count;  1E E4 5  region_N_child_avg_dwell / _max_dwell
    ///     50  FC 3  occlusion alarm: byte 1 node (0 master), byte 2 0 released / 1 triggered
    ///     20  CE 9  history: timestamp u32, data type u8 (= a live line channel id 03...0E), value
    ///
    /// The child and occlusion field names are ours: the reference names the frames, not fields.
    static let vs133 = MilesightModel("VS133", channels: vs13xChannels)
    static let vs135 = MilesightModel("VS135", channels: vs13xChannels)

    private static let vs13xChannels: [MilesightChannel] =
        peopleCounterAttributes + lineChannels(base: 0x03, infix: "")
        + lineChannels(base: 0x11, infix: "child_") + [
            .init(id: 0x0F, type: 0xE3, values: (1...4).map { u8.named("region_\($0)_count") }),
            .init(id: 0x1D, type: 0xE3, values: (1...4).map { u8.named("region_\($0)_child_count") }),
            dwell(id: 0x10, prefix: "region", allName: "region_all_"),
            dwell(id: 0x1E, prefix: "region", allName: "region_all_", suffix: "child_"),
            MilesightChannel(id: 0x50, type: 0xFC, length: 3) { reader, output throws(DecodeError) in
                try reader.skip(1)
                let node = try reader.u8()
                let state = try reader.u8()
                output.fields["occlusion_alarm"] = [
                    "node": node == 0 ? "master" : .number(Double(node)),
                    "status": .string([0: "released", 1: "triggered"][state] ?? "unknown"),
                ]
            },
            MilesightChannel(id: 0x20, type: 0xCE, length: 9) { reader, output throws(DecodeError) in
                let time = try reader.u32()
                let type = try reader.u8()
                guard let live = lineChannels(base: 0x03, infix: "").first(where: { $0.id == type }) else {
                    try reader.skip(4)
                    output.history.append(["timestamp": .number(Double(time)), "data_type": .number(Double(type))])
                    output.warnings.append("history record of unknown data type \(hex(type)) kept undecoded")
                    return
                }
                var record: JSONObject = ["timestamp": .number(Double(time))]
                let (fields, samples) = try MilesightOutput.read(live.values, from: &reader)
                for (name, value) in fields { record[name] = value }
                output.history.append(.object(record))
                output.measurements += samples.map { sample in
                    var dated = sample
                    dated.timestamp = Double(time)
                    return dated
                }
            },
        ]

    private static func lineChannels(base: UInt8, infix: String) -> [MilesightChannel] {
        (1...4).flatMap { line -> [MilesightChannel] in
            let id = base + UInt8(3 * (line - 1))
            let prefix = "line_\(line)_\(infix)"
            let readings = line == 1 && infix.isEmpty
            return [
                .init(id: id, type: 0xD2, values: [u32.named(prefix + "total_in")]),
                .init(id: id + 1, type: 0xD2, values: [u32.named(prefix + "total_out")]),
                .init(id: id + 2, type: 0xCC, values: [
                    readings ? peopleIn.named(prefix + "period_in") : u16.named(prefix + "period_in"),
                    readings ? peopleOut.named(prefix + "period_out") : u16.named(prefix + "period_out"),
                ]),
            ]
        }
    }

    // MARK: VS330, VS340, VS341

    /// VS330 ToF occupancy: 01 75 battery; 02 82 distance u16 (mm); 03 8E occupancy 0 vacant,
    /// 1 occupied; 04 8E calibration_status (1 success; 0 shown as "failed", our choice).
    static let vs330 = MilesightModel(
        "VS330",
        channels: attributeChannels + [
            batteryChannel,
            .init(id: 0x02, type: 0x82, values: [u16.named("distance")]),
            .init(id: 0x03, type: 0x8E, values: [
                .init(name: "occupancy", encoding: .u8, labels: occupancyLabels, kind: .occupancy, unit: ReadingUnit.state)
            ]),
            .init(id: 0x04, type: 0x8E, values: [
                .init(name: "calibration_status", encoding: .u8, labels: [0: "failed", 1: "success"])
            ]),
        ])

    /// VS340 / VS341 desk occupancy: 01 75 battery; 03 00 occupancy 0 vacant, 1 occupied.
    static let vs340 = MilesightModel("VS340", channels: vs34xChannels)
    static let vs341 = MilesightModel("VS341", channels: vs34xChannels)

    private static let vs34xChannels: [MilesightChannel] = attributeChannels + [
        batteryChannel,
        .init(id: 0x03, type: 0x00, values: [
            .init(name: "occupancy", encoding: .u8, labels: occupancyLabels, kind: .occupancy, unit: ReadingUnit.state)
        ]),
    ]

    // MARK: VS350 / VS351

    /// VS350 / VS351 passage counters:
    ///
    ///     01 75 1  battery
    ///     03 67 2  temperature
    ///     04 CC 4  total_in, total_out u16 (cumulative)
    ///     05 CC 4  period_in, period_out u16
    ///     83 67 3  temperature, temperature_alarm (1 threshold alarm)
    ///     84 CC 5  total_in, total_out, total_count_alarm
    ///     85 CC 5  period_in, period_out, period_count_alarm
    ///     20 CE 9  history: timestamp u32, 1 byte the README example shows as 00 and the
    ///              reference does not name (skipped), period_in, period_out u16
    static let vs350 = MilesightModel("VS350", channels: vs35xChannels)
    static let vs351 = MilesightModel("VS351", channels: vs35xChannels)

    private static let vs35xChannels: [MilesightChannel] = {
        let alarm: [Int: String] = [1: "threshold alarm"]
        let periodIn = peopleIn.named("period_in")
        let periodOut = peopleOut.named("period_out")
        let totals = [u16.named("total_in"), u16.named("total_out")]
        return attributeChannels + [
            batteryChannel,
            .init(id: 0x03, type: 0x67, values: [temperature]),
            .init(id: 0x04, type: 0xCC, values: totals),
            .init(id: 0x05, type: 0xCC, values: [periodIn, periodOut]),
            .init(id: 0x83, type: 0x67, values: [
                temperature, .init(name: "temperature_alarm", encoding: .u8, labels: alarm),
            ]),
            .init(id: 0x84, type: 0xCC, values: totals + [.init(name: "total_count_alarm", encoding: .u8, labels: alarm)]),
            .init(id: 0x85, type: 0xCC, values: [
                periodIn, periodOut, .init(name: "period_count_alarm", encoding: .u8, labels: alarm),
            ]),
            .init(id: 0x20, type: 0xCE, layout: .history, values: [
                timestamp, .init(name: "reserved", encoding: .reserved(1)), periodIn, periodOut,
            ]),
        ]
    }()
}
