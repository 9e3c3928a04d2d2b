/// A problem with one line of an imported file.
public struct ImportIssue: Sendable, Hashable, CustomStringConvertible {
    /// The file, when an import reads several (a directory); `nil` when it is ``ImportFailure/file``.
    public var file: String?
    /// 1-based line number in the file (line 1 is the header).
    public var line: Int
    public var message: String

    public init(file: String? = nil, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { "\(file.map { "\($0) " } ?? "")line \(line): \(message)" }
}

/// An import that was refused: nothing was written. Lists the first problems by line number.
public struct ImportFailure: Error, Sendable, CustomStringConvertible {
    /// How many problems are listed at most.
    public static let listLimit = 20

    /// The file imported, or the directory of files.
    public var file: String
    /// The first ``listLimit`` problems, by file and line.
    public var problems: [ImportIssue]
    /// How many bad lines the file has in all.
    public var problemCount: Int

    public init(file: String, problems: [ImportIssue], problemCount: Int) {
        self.file = file
        self.problems = problems
        self.problemCount = problemCount
    }

    public var description: String {
        var text = "\(file): \(problemCount) bad line\(problemCount == 1 ? "" : "s"), nothing imported"
        for p in problems { text += "\n  \(p)" }
        if problemCount > problems.count { text += "\n  … and \(problemCount - problems.count) more" }
        return text
    }
}

/// Where an import is: reading and checking the file, then writing to the store.
public enum ImportPhase: String, Sendable {
    case reading
    case writing
}

/// Called as an import progresses with (phase, done, total) — bytes while reading, symbols while
/// writing. Throwing from it aborts the import; the store is left as it was.
public typealias ImportProgressHandler = (_ phase: ImportPhase, _ done: Int64, _ total: Int64) throws -> Void

enum NumberText {
    /// A number as a person writes it: `120` rather than `120.0`.
    static func format(_ v: Double) -> String {
        if v.rounded() == v && abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }
}
