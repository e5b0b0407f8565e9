/// One CSV record and the physical line it starts on (quoted fields may span lines).
struct CSVRecord: Equatable {
    var line: Int
    var fields: [String]
}

/// RFC 4180 tokenizer: comma separators, CRLF or LF (or a lone CR) record ends, quoted fields
/// with doubled quotes and embedded separators or line breaks, an optional UTF-8 BOM.
///
/// It is strict on purpose: a quote inside an unquoted field or text after a closing quote is an
/// error rather than a guess, because a mis-split row would shift a badge into the role column.
/// Records whose fields are all blank (empty lines, Excel's `,,,,` rows) are dropped here.
struct CSVReader {
    private static let quote = UInt8(ascii: "\"")
    private static let comma = UInt8(ascii: ",")
    private static let cr = UInt8(ascii: "\r")
    private static let lf = UInt8(ascii: "\n")

    private let bytes: [UInt8]
    private let file: String
    private var i = 0
    private var line = 1

    /// Splits `bytes` into records; `file` only labels errors.
    static func records(_ bytes: [UInt8], file: String) throws(DirectoryError) -> [CSVRecord] {
        var reader = CSVReader(bytes: bytes, file: file)
        return try reader.readAll()
    }

    private init(bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
    }

    private mutating func readAll() throws(DirectoryError) -> [CSVRecord] {
        var records: [CSVRecord] = []
        var fields: [String] = []
        var recordLine = line
        while i < bytes.count {
            fields.append(try readField(number: fields.count + 1))
            var recordEnds = i == bytes.count
            if !recordEnds, bytes[i] == Self.comma {
                i += 1
                // "a," at the very end of the input still has a second, empty field.
                if i == bytes.count {
                    fields.append("")
                    recordEnds = true
                }
            } else if !recordEnds {
                skipLineBreak()
                recordEnds = true
            }
            if recordEnds {
                if fields.contains(where: { !Self.isBlank($0) }) {
                    records.append(CSVRecord(line: recordLine, fields: fields))
                }
                fields.removeAll(keepingCapacity: true)
                recordLine = line
            }
        }
        return records
    }

    /// Reads one field and leaves `i` on the comma, line break or end that follows it.
    private mutating func readField(number: Int) throws(DirectoryError) -> String {
        var value: [UInt8] = []
        if bytes[i] == Self.quote {
            let openedOn = line
            i += 1
            while true {
                guard i < bytes.count else {
                    throw syntax("quoted field \(number) opened on this line is never closed", at: openedOn)
                }
                let c = bytes[i]
                if c == Self.quote {
                    if i + 1 < bytes.count, bytes[i + 1] == Self.quote {
                        value.append(Self.quote)
                        i += 2
                        continue
                    }
                    i += 1
                    break
                }
                if c == Self.cr || c == Self.lf {
                    // Line breaks inside values are kept, as LF whatever the file used.
                    skipLineBreak()
                    value.append(Self.lf)
                    continue
                }
                value.append(c)
                i += 1
            }
            if i < bytes.count, !isSeparator(bytes[i]) {
                throw syntax(
                    "field \(number) has text after its closing quote; inside a quoted field write a quote as \"\"",
                    at: line)
            }
        } else {
            while i < bytes.count, !isSeparator(bytes[i]) {
                if bytes[i] == Self.quote {
                    throw syntax(
                        "field \(number) has a quote inside an unquoted value; wrap the value in quotes and double the inner quote",
                        at: line)
                }
                value.append(bytes[i])
                i += 1
            }
        }
        guard let text = String(validating: value, as: UTF8.self) else {
            throw syntax("field \(number) is not valid UTF-8; save the file as UTF-8", at: line)
        }
        return text
    }

    private func isSeparator(_ byte: UInt8) -> Bool {
        byte == Self.comma || byte == Self.cr || byte == Self.lf
    }

    /// Consumes the line break at `i`; CRLF counts as one.
    private mutating func skipLineBreak() {
        if bytes[i] == Self.cr, i + 1 < bytes.count, bytes[i + 1] == Self.lf { i += 1 }
        i += 1
        line += 1
    }

    private func syntax(_ reason: String, at errorLine: Int) -> DirectoryError {
        DirectoryError(.syntax, file: file, line: errorLine, reason: reason)
    }

    static func isBlank(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { $0.properties.isWhitespace }
    }
}
