import Foundation
import Testing

@testable import FormulaEngine

/// protocol/formula.md, the language reference for client authors, names every built-in.
@Suite struct FormulaReferenceTests {
    static let reference = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("protocol/formula.md")

    @Test("every function, series and keyword of the language is in protocol/formula.md")
    func everyBuiltInIsDocumented() throws {
        let text = try String(contentsOf: Self.reference, encoding: .utf8)
        for name in Builtin.allCases.map(\.rawValue) {
            #expect(text.contains("`\(name)("), "protocol/formula.md lacks the function \(name)")
        }
        for name in BuiltinSeries.allCases.map(\.rawValue) {
            #expect(text.contains("`\(name)`") || text.contains(" \(name) "), "protocol/formula.md lacks \(name)")
        }
        for keyword in ["input", "let", "signal", "column", "and", "or", "not", "true", "false"] {
            #expect(text.contains(keyword))
        }
    }

    @Test("the error example of protocol/formula.md is the compiler's text")
    func errorExample() throws {
        let text = try String(contentsOf: Self.reference, encoding: .utf8)
        let error = try #require(throws: FormulaError.self) {
            try FormulaPlan.compile(source: "smaa(close, 5) > 1", name: "f", parameters: [:])
        }
        #expect(text.contains("`\(error.description.split(separator: "\n")[0])`"))
    }
}
