import ScanCore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A one-line progress bar on stderr, for a scan (`█████░░░░ 45/90 symbols · 120/s · ETA 0:03 · 12 matches`)
/// or any other long task (`import █████░░░░ 45.0% rows`).
///
/// Redraws at most every 100 ms (and always at the end); thread-safe. Use it only when
/// ``isAvailable`` (stderr is a terminal) and nothing else is written to the terminal meanwhile.
public final class ProgressBar: Sendable {
    private struct State {
        var lastDraw: ContinuousClock.Instant?
        var drawn = false
    }

    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant
    private let state = Mutex(State())
    private let width: Int
    private let label: String?

    /// - Parameter label: shown before the bar (e.g. `import`); scans have none.
    public init(label: String? = nil, width: Int = 30) {
        self.label = label
        self.width = width
        self.start = clock.now
    }

    /// True when stderr is a terminal.
    public static var isAvailable: Bool { isatty(2) == 1 }

    /// Redraws for a scan's `progress` (throttled).
    public func update(_ progress: ScanProgress) {
        draw(final: progress.total > 0 && progress.completed >= progress.total) { elapsed in
            Self.line(progress, elapsed: elapsed, width: self.width)
        }
    }

    /// Redraws for `done` of `total` units of some other task, e.g. rows of an import (throttled).
    public func update(_ done: Int64, of total: Int64, note: String = "") {
        guard total > 0 else { return }
        let fraction = min(1, max(0, Double(done) / Double(total)))
        draw(final: done >= total) { _ in
            let permille = Int((fraction * 1000).rounded(.down))
            return [self.label, Self.bar(fraction, width: self.width), "\(permille / 10).\(permille % 10)%", note]
                .compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
        }
    }

    private func draw(final: Bool, _ text: @Sendable (Duration) -> String) {
        let now = clock.now
        let line: String? = state.withLock { s in
            if let last = s.lastDraw, now - last < .milliseconds(100), !final { return nil }
            s.lastDraw = now
            s.drawn = true
            return text(now - start)
        }
        if let line { emit("\r" + line + "\u{1B}[K") }
    }

    /// `width` cells, the first `fraction` of them filled.
    static func bar(_ fraction: Double, width: Int) -> String {
        let filled = min(width, max(0, Int((fraction * Double(width)).rounded(.down))))
        return String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
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
        let bar = bar(fraction, width: width)
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
