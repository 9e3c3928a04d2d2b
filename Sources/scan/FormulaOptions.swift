import ArgumentParser
import Foundation
import ScanCore

/// The options that say what to scan: the formula, its inputs and the universe (`scan run`,
/// `scan live start`).
struct FormulaOptions: ParsableArguments {
    @Option(name: .long, help: "The formula text.")
    var formula: String?

    @Option(name: .long, help: "A file holding the formula.")
    var formulaFile: String?

    @Option(name: .long, help: "The formula's name (default: the file's base name, else 'scan').")
    var name: String?

    @Option(name: .long, help: "Explicit symbols, comma-separated (wins over market/sector/cap filters).")
    var symbols: [String] = []

    @Option(name: .long, help: "A market to include (repeatable).")
    var market: [String] = []

    @Option(name: .long, help: "A sector to include (repeatable).")
    var sector: [String] = []

    @Option(name: .long, help: "Minimum market capitalisation.")
    var minMarketCap: String?

    @Option(name: .long, help: "Maximum market capitalisation.")
    var maxMarketCap: String?

    @Option(name: .long, help: "Symbols to leave out, comma-separated.")
    var exclude: [String] = []

    @Option(name: .long, help: "Override a formula input: name=value, value a number or true/false (repeatable).")
    var param: [String] = []

    /// The formula (its source still empty when it is in `--formula-file`; see ``source()``).
    func parsedFormula() throws -> Formula {
        if formula != nil && formulaFile != nil { throw ValidationError("give --formula or --formula-file, not both") }
        if formula == nil && formulaFile == nil {
            throw ValidationError("a formula is needed: --formula TEXT or --formula-file FILE")
        }
        let formulaName =
            name ?? formulaFile.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent } ?? "scan"
        return Formula(name: formulaName, source: formula ?? "")
    }

    /// The formula's text: `--formula`, or the file of `--formula-file` (read off the cooperative pool).
    func source() async throws -> String {
        guard let file = formulaFile else { return formula ?? "" }
        do {
            return try await Blocking.run { try String(contentsOfFile: file, encoding: .utf8) }
        } catch {
            throw ValidationError("--formula-file '\(file)': cannot read it (\(error.localizedDescription))")
        }
    }

    func parameters() throws -> [String: ParameterValue] {
        var parameters: [String: ParameterValue] = [:]
        for p in param {
            let (k, v) = try RunCommand.parameter(p)
            parameters[k] = v
        }
        return parameters
    }

    func criteria() throws -> SymbolCriteria {
        let minCap = try minMarketCap.map { try RunCommand.number($0, option: "--min-market-cap") }
        let maxCap = try maxMarketCap.map { try RunCommand.number($0, option: "--max-market-cap") }
        if let minCap, let maxCap, minCap > maxCap {
            throw ValidationError("--min-market-cap is larger than --max-market-cap")
        }
        let explicit = RunCommand.list(symbols)
        return SymbolCriteria(
            symbols: explicit.isEmpty ? nil : explicit,
            markets: market.isEmpty ? nil : market,
            sectors: sector.isEmpty ? nil : sector,
            minMarketCap: minCap,
            maxMarketCap: maxCap,
            exclude: RunCommand.list(exclude)
        )
    }
}
