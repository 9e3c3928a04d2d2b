import Foundation

/// A one-line progress bar on standard error, drawn only when standard error is a terminal.
public final class TerminalProgress {
    private let label: String
    private let enabled: Bool
    private var lastPermille = -1

    /// A bar titled `label`; `enabled` defaults to whether stderr is a terminal (`isatty`).
    public init(label: String, enabled: Bool = isatty(STDERR_FILENO) != 0) {
        self.label = label
        self.enabled = enabled
    }

    /// Shows `done` of `total` (redraws at most every 0.1 %).
    public func update(_ done: Int64, of total: Int64, note: String = "") {
        guard enabled, total > 0 else { return }
        let permille = Int(min(1000, max(0, done * 1000 / total)))
        guard permille != lastPermille else { return }
        lastPermille = permille
        let width = 30
        let filled = permille * width / 1000
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let text = "\r\(label) \(bar) \(permille / 10).\(permille % 10)% \(note)\u{1B}[K"
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// Clears the bar's line.
    public func finish() {
        guard enabled, lastPermille >= 0 else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        lastPermille = -1
    }
}
