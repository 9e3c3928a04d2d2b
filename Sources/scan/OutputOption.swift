import ArgumentParser
import Foundation
import ScanCore
import ScanOutput
import ScanProtocol

/// The `--output FILE` of the commands that print a result.
struct OutputOption: ParsableArguments {
    @Option(
        name: .long,
        help:
            "Write the output to FILE instead of stdout (CSV with a funnel: also FILE's .funnel.csv and .near-misses.csv)."
    )
    var output: String?

    /// Writes `text` to the file (replacing it whole, off the cooperative pool) or to stdout.
    func write(_ text: String) async throws {
        guard let output else {
            FileHandle.standardOutput.write(Data(text.utf8))
            return
        }
        try await Self.write(text, to: output, option: "--output")
    }

    /// Writes `doc` rendered as `format`; a CSV result with a condition funnel also writes the funnel
    /// and its near misses beside `--output` (``FunnelCSV``), or says on stderr why it cannot.
    func write(_ doc: ResultDocument, as format: OutputFormat, context: OutputContext) async throws {
        if format == .csv, doc.funnel != nil {
            if let output {
                for file in FunnelCSV.companions(doc, output: output, context: context) {
                    try await Self.write(file.text, to: file.path, option: "the funnel's file")
                }
            } else {
                RunCommand.printError(
                    "note: the condition funnel is not in CSV on stdout; give --output FILE to get it in "
                        + "FILE's .funnel.csv and .near-misses.csv (or use --format json/table)"
                )
            }
        }
        try await write(ResultRenderer.render(doc, as: format, context: context))
    }

    private static func write(_ text: String, to path: String, option: String) async throws {
        do {
            try await Blocking.run { try text.write(toFile: path, atomically: true, encoding: .utf8) }
        } catch {
            throw ValidationError("\(option) '\(path)': cannot write it (\(error.localizedDescription))")
        }
    }
}
