import Foundation
import ScanProtocol
import Testing

/// End-to-end tests: the built `scan`, `scan-service` and `engine-node` (`swift build` first) as real
/// processes on 127.0.0.1, each test with its own store copy and free ports. Serialized: the
/// processes share two cores. Every process is killed in a `defer`, every wait is bounded.
@Suite(.serialized) struct EndToEndTests {
    /// DESIGN §7's reference formula F1.
    static let f1 = "crossover(sma(close,5), sma(close,20)) and volume > 1.5 * sma(volume,20)"

    /// The whole synthetic history (the large fixture's bars end 2024-12-31).
    static let largeRange = ["--from", "2018-01-01", "--to", "2024-12-31"]

    static func runScanBody(
        _ formula: String = f1,
        name: String = "f1",
        range: [String]? = nil,
        wait: Bool = false
    )
        -> [String: Any]
    {
        var body: [String: Any] = ["formula": ["name": name, "source": formula], "wait": wait]
        if let range { body["date_range"] = ["from": range[1], "to": range[3]] }
        return body
    }

    /// Signals, statistics and errors equal (job id, session id, timing may differ). Failures are
    /// reported as counts and the first difference, not whole documents.
    static func expectSameResult(
        _ a: ResultDocument,
        _ b: ResultDocument,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        func summary(_ d: ResultDocument) -> String {
            "\(d.signals.totalSymbols) symbols, \(d.signals.symbolsWithMatches) with matches, \(d.signals.totalMatches) matches, "
                + "\(d.errorsCount) errors (first: \(d.errors.first.map { "\($0.symbol): \($0.message)" } ?? "none"))"
        }
        let firstDifference =
            zip(a.signals.matches, b.signals.matches).first { $0 != $1 }.map { "\($0) ≠ \($1)" }
            ?? "none in the common prefix"
        #expect(
            a.signals == b.signals,
            "\(summary(a)) vs \(summary(b)); first differing match: \(firstDifference)",
            sourceLocation: sourceLocation
        )
        #expect(
            a.statistics == b.statistics,
            "statistics differ: \(summary(a)) vs \(summary(b))",
            sourceLocation: sourceLocation
        )
        #expect(
            a.errors == b.errors && a.errorsCount == b.errorsCount,
            "errors differ: \(summary(a)) vs \(summary(b))",
            sourceLocation: sourceLocation
        )
    }

    /// Every match of `partial` is in `full`, and the partial counts are within the full ones.
    static func expectSubset(
        _ partial: ResultDocument,
        of full: ResultDocument,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let all = Set(full.signals.matches)
        let extra = partial.signals.matches.filter { !all.contains($0) }
        #expect(
            extra.isEmpty,
            "\(extra.count) matches not in the full result, first: \(String(describing: extra.first))",
            sourceLocation: sourceLocation
        )
        #expect(partial.signals.totalMatches <= full.signals.totalMatches, sourceLocation: sourceLocation)
        #expect(partial.signals.totalSymbols <= full.signals.totalSymbols, sourceLocation: sourceLocation)
    }
}
