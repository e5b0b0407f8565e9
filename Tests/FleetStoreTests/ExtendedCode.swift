
/// Extended result codes are function-like macros in sqlite3.h, which Swift does not import.
enum ExtendedCode {
    static let constraintNotNull: Int32 = 19 | (5 << 8)
    static let constraintPrimaryKey: Int32 = 19 | (6 << 8)
    static let constraintForeignKey: Int32 = 19 | (3 << 8)
}
