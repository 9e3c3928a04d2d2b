#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ScanCore
import Synchronization

/// A one-line progress bar on stderr: `[######······] 45/90 symbols · 120/s · ETA 0:03 · 12 matches`.
///
/// Redraws at most every 100 ms (and always for the last symbol); thread-safe. Use it only when
/// ``isAvailable`` (stderr is a terminal) and the output is a table.
public final class ProgressBar: Sendable {
    private struct State {
        var lastDraw: ContinuousClock.Instant?
        var drawn = false
    }

    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant
    private let state = Mutex(State())
    private let width: Int

    public init(width: Int = 30) {
        self.width = width
        self.start = clock.now
    }

    /// True when stderr is a terminal.
    public static var isAvailable: Bool { isatty(2) == 1 }

    /// Redraws for `progress` (throttled).
    public func update(_ progress: ScanProgress) {
        let now = clock.now
        let line: String? = state.withLock { s in
            let final = progress.total > 0 && progress.completed >= progress.total
            if let last = s.lastDraw, now - last < .milliseconds(100), !final { return nil }
            s.lastDraw = now
            s.drawn = true
            return Self.line(progress, elapsed: now - start, width: width)
        }
        if let line { emit("\r" + line + "\u{1B}[K") }
    }

    /// Clears the bar's line (call before printing the result).
    public func finish() {
        let drawn = state.withLock { s in
            defer { s.drawn = false }
            return s.drawn
        }
        if drawn { emit("\r\u{1B}[K") }
    }

    /// The bar's text for `progress` after `elapsed`.
    static func line(_ p: ScanProgress, elapsed: Duration, width: Int) -> String {
        let fraction = p.total > 0 ? min(1, Double(p.completed) / Double(p.total)) : 1
        let filled = Int((fraction * Double(width)).rounded(.down))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let (sec, atto) = elapsed.components
        let seconds = Double(sec) + Double(atto) / 1e18
        var parts = ["\(bar) \(p.completed)/\(p.total) symbols"]
        if seconds > 0, p.completed > 0 {
            let rate = Double(p.completed) / seconds
            parts.append("\(Int(rate.rounded()))/s")
            let remaining = Double(p.total - p.completed) / rate
            parts.append("ETA \(clockText(remaining))")
        }
        parts.append("\(p.matchesSoFar) matches")
        return parts.joined(separator: " · ")
    }

    static func clockText(_ seconds: Double) -> String {
        let s = max(0, Int(seconds.rounded(.up)))
        let two = { (v: Int) in v < 10 ? "0\(v)" : "\(v)" }
        return s >= 3600 ? "\(s / 3600):\(two(s / 60 % 60)):\(two(s % 60))" : "\(s / 60):\(two(s % 60))"
    }

    private func emit(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { buf in
            guard let base = buf.baseAddress else { return }
            var offset = 0
            while offset < buf.count {
                let n = write(2, base + offset, buf.count - offset)
                if n <= 0 { break }
                offset += n
            }
        }
    }
}
