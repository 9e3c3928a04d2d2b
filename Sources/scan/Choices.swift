import ArgumentParser
import MarketData
import ScanCore
import ScanOutput

// The options whose values are a fixed set: parsed (and listed in --help) by ArgumentParser.

extension OutputFormat: ExpressibleByArgument {}
extension Timeframe: ExpressibleByArgument {}
extension ScanMode: ExpressibleByArgument {}
extension ScanStatus: ExpressibleByArgument {}
extension BarFileLayout: ExpressibleByArgument {}
extension TextEncoding: ExpressibleByArgument {}
extension StudyEntry: ExpressibleByArgument {}

/// `--format` of the commands that print a document rather than a result: a table or its JSON.
enum DocumentFormat: String, CaseIterable, ExpressibleByArgument {
    case table
    case json
}
