import ArgumentParser
import Foundation
import ScanCore

/// The `--output FILE` of the commands that print a result.
struct OutputOption: ParsableArguments {
    @Option(name: .long, help: "Write the output to FILE instead of stdout.")
    var output: String?

    /// Writes `text` to the file (replacing it whole, off the cooperative pool) or to stdout.
    func write(_ text: String) async throws {
        guard let output else {
            FileHandle.standardOutput.write(Data(text.utf8))
            return
        }
        do {
            try await Blocking.run { try text.write(toFile: output, atomically: true, encoding: .utf8) }
        } catch {
            throw ValidationError("--output '\(output)': cannot write it (\(error.localizedDescription))")
        }
    }
}
