import Dispatch
import Foundation

/// TEMPORARY timeline probes (issue 14 part 5 measurement); removed before landing.
public enum LiveTrace {
    public static let on = ProcessInfo.processInfo.environment["LIVE_TRACE"] != nil
    public static func mark(_ what: String) {
        guard on else { return }
        let t = DispatchTime.now().uptimeNanoseconds
        let tid = pthread_self() % 100_000
        FileHandle.standardError.write(Data("TRACE \(t / 1000) \(tid) \(what)\n".utf8))
    }
}
