import CoreMetrics
import Foundation
import ProcessMemory
import ScanCore
import Synchronization

/// Gives the allocator's free memory back to the kernel after bursts (issue 16, part 8), and reports
/// what the process holds.
///
/// A burst (a flood of requests, large results read back, many chunks at once) grows glibc's arenas;
/// freed, that memory stays resident until something trims it (and `--malloc-keep-mb` keeps up to that
/// much free on purpose, ``Allocator/keepFreedMemory(trimThreshold:mmapThreshold:)``, so each scan's
/// large buffers are reused instead of faulted in afresh). The service notes each request and
/// node message (``noteActivity()``); once it has been idle for `idle`, or at the latest `maxInterval`
/// after the last trim while it stays busy, ``run()`` calls `malloc_trim(0)` (on a blocking thread:
/// it takes every arena's lock). With no activity since the last trim it does nothing.
///
/// Metrics (every tick): `marketscan_allocator_in_use_bytes` (what the program holds),
/// `marketscan_allocator_system_bytes` (what the arenas hold), `marketscan_resident_bytes` (VmRSS) —
/// in-use flat over time while resident rises means the allocator's high-water mark, in-use rising
/// means a leak.
final class MemoryReleaser: Sendable {
    private let activity = Atomic<UInt64>(0)
    /// Whether it trims (otherwise it only samples the figures).
    private let trims: Bool
    private let idle: Duration
    private let maxInterval: Duration
    private let inUse: Gauge
    private let system: Gauge
    private let resident: Gauge

    init(trims: Bool, idle: Duration, maxInterval: Duration, metrics factory: any MetricsFactory) {
        self.trims = trims
        self.idle = idle
        self.maxInterval = max(idle, maxInterval)
        inUse = Gauge(label: "marketscan_allocator_in_use_bytes", factory: factory)
        system = Gauge(label: "marketscan_allocator_system_bytes", factory: factory)
        resident = Gauge(label: "marketscan_resident_bytes", factory: factory)
    }

    /// A request or a node message arrived. Any thread; a relaxed increment.
    func noteActivity() { activity.add(1, ordering: .relaxed) }

    /// Trims and samples until cancelled.
    func run() async {
        let clock = ContinuousClock()
        // Without trims, `idle` means nothing: sample at the slow pace (`--memory-release-idle-ms 0`
        // gives an idle of 1 ms, which would sample 1,000 times a second).
        let tick = trims ? min(idle, .milliseconds(500)) : .milliseconds(500)
        var seen = activity.load(ordering: .relaxed)
        var lastActivity = clock.now
        var lastTrim = clock.now
        var dirty = false
        while !Task.isCancelled {
            try? await Task.sleep(for: tick)
            let now = clock.now
            let count = activity.load(ordering: .relaxed)
            if count != seen {
                seen = count
                lastActivity = now
                dirty = true
            }
            let trim = trims && dirty && (now - lastActivity >= idle || now - lastTrim >= maxInterval)
            let figures = try? await Blocking.run { () -> (Allocator.Statistics?, Int?) in
                if trim { Allocator.releaseFreeMemory() }
                return (Allocator.statistics(), Self.residentBytes())
            }
            if trim {
                lastTrim = now
                dirty = false
            }
            if let stats = figures?.0 {
                inUse.record(stats.inUseBytes)
                system.record(stats.systemBytes)
            }
            if let rss = figures?.1 { resident.record(rss) }
        }
    }

    /// VmRSS of this process from /proc/self/status; `nil` where there is none. Blocking (a file read).
    static func residentBytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let kb = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first
            return kb.flatMap { Int($0) }.map { $0 * 1024 }
        }
        return nil
    }
}
