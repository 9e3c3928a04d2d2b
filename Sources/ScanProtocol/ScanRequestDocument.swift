import FormulaEngine
import ScanCore

/// The wire form of a scan request (the `RUN_SCAN` body without `wait`/`request_id`, and the
/// `request` field of a SESSION document). Plain Codable data; ``validated()`` turns it into a
/// ``BatchScanRequest`` or a ``ProtocolError`` naming the field that was wrong.
public struct ScanRequestDocument: Sendable, Hashable, Codable {
    public var formula: FormulaDocument
    public var criteria: CriteriaDocument?
    public var timeframe: String?
    public var dateRange: DateRangeDocument?
    public var parameters: [String: ParameterDocument]?
    public var mode: String?
    /// The event study: `{"horizons": [1, 5, 20], "entry": "close" | "next-open"}`.
    public var study: StudyDocument?
    /// Whether to compute the condition funnel.
    public var explain: Bool?

    enum CodingKeys: String, CodingKey {
        case formula, criteria, timeframe
        case dateRange = "date_range"
        case parameters, mode, study, explain
    }

    public init(
        formula: FormulaDocument,
        criteria: CriteriaDocument? = nil,
        timeframe: String? = nil,
        dateRange: DateRangeDocument? = nil,
        parameters: [String: ParameterDocument]? = nil,
        mode: String? = nil,
        study: StudyDocument? = nil,
        explain: Bool? = nil
    ) {
        self.study = study
        self.explain = explain
        self.formula = formula
        self.criteria = criteria
        self.timeframe = timeframe
        self.dateRange = dateRange
        self.parameters = parameters
        self.mode = mode
    }

    /// The wire form of `request`.
    public init(_ request: BatchScanRequest) {
        let c = request.symbolCriteria
        self.init(
            formula: FormulaDocument(name: request.formula.name, source: request.formula.source),
            criteria: CriteriaDocument(
                symbols: c.symbols,
                markets: c.markets,
                sectors: c.sectors,
                minMarketCap: c.minMarketCap,
                maxMarketCap: c.maxMarketCap,
                exclude: c.exclude.isEmpty ? nil : c.exclude
            ),
            timeframe: request.timeframe.rawValue,
            dateRange: request.dateRange.map { DateRangeDocument(from: $0.from.description, to: $0.to.description) },
            parameters: request.parameters.isEmpty ? nil : request.parameters.mapValues(ParameterDocument.init),
            mode: request.mode.rawValue,
            study: request.study.map { StudyDocument(horizons: $0.horizons, entry: $0.entry.rawValue) },
            explain: request.explain ? true : nil
        )
    }

    /// Checks every field and builds the domain request. Throws ``ProtocolError`` (`bad_request`).
    public func validated() throws(ProtocolError) -> BatchScanRequest {
        guard !formula.source.allSatisfy(\.isWhitespace) else {
            throw .badRequest("field 'formula.source' must not be empty")
        }
        let name = formula.name ?? "formula"
        guard !name.isEmpty else { throw .badRequest("field 'formula.name' must not be empty") }

        var tf = Timeframe.daily
        if let t = timeframe {
            guard let parsed = Timeframe(rawValue: t) else {
                let all = Timeframe.allCases.map(\.rawValue).joined(separator: ", ")
                throw .badRequest("field 'timeframe' must be one of \(all) (got '\(t)')")
            }
            tf = parsed
        }
        var m = ScanMode.range
        if let s = mode {
            guard let parsed = ScanMode(rawValue: s) else {
                throw .badRequest("field 'mode' must be 'range' or 'latest' (got '\(s)')")
            }
            m = parsed
        }
        var range: DateRange?
        if let d = dateRange {
            guard let from = CalendarDay(d.from) else {
                throw .badRequest("field 'date_range.from' must be a date YYYY-MM-DD (got '\(d.from)')")
            }
            guard let to = CalendarDay(d.to) else {
                throw .badRequest("field 'date_range.to' must be a date YYYY-MM-DD (got '\(d.to)')")
            }
            guard from <= to else {
                throw .badRequest("field 'date_range': 'from' (\(from)) is after 'to' (\(to))")
            }
            range = DateRange(from: from, to: to)
        }
        var spec: StudySpec?
        if let s = study {
            var entry = StudyEntry.close
            if let e = s.entry {
                guard let parsed = StudyEntry(rawValue: e) else {
                    throw .badRequest("field 'study.entry' must be 'close' or 'next-open' (got '\(e)')")
                }
                entry = parsed
            }
            do throws(StudySpecError) {
                var horizons: [Int] = []
                for h in s.horizons {
                    guard h.isFinite, h == h.rounded(), abs(h) <= 1e9 else {
                        throw StudySpecError.notPositive(NumberText.plain(h))
                    }
                    horizons.append(Int(h))
                }
                spec = try StudySpec(horizons: horizons, entry: entry)
            } catch {
                throw .badRequest("field 'study.horizons': \(error.description)")
            }
        }
        let c = criteria ?? CriteriaDocument()
        if let lo = c.minMarketCap, let hi = c.maxMarketCap, lo > hi {
            throw .badRequest("field 'criteria': 'min_market_cap' (\(lo)) is above 'max_market_cap' (\(hi))")
        }
        return BatchScanRequest(
            symbolCriteria: SymbolCriteria(
                symbols: c.symbols,
                markets: c.markets,
                sectors: c.sectors,
                minMarketCap: c.minMarketCap,
                maxMarketCap: c.maxMarketCap,
                exclude: c.exclude ?? []
            ),
            timeframe: tf,
            dateRange: range,
            formula: Formula(name: name, source: formula.source),
            parameters: (parameters ?? [:]).mapValues(\.value),
            mode: m,
            study: spec,
            explain: explain ?? false
        )
    }
}

/// `{"horizons": [int, …], "entry": "close" | "next-open"}` (checked by ``ScanRequestDocument/validated()``).
public struct StudyDocument: Sendable, Hashable, Codable {
    /// Numbers, so that `1.5` is refused by ``ScanRequestDocument/validated()`` with the study's own message.
    public var horizons: [Double]
    public var entry: String?

    public init(horizons: [Int], entry: String? = nil) {
        self.horizons = horizons.map(Double.init)
        self.entry = entry
    }
}

private enum NumberText {
    static func plain(_ x: Double) -> String {
        x.isFinite && x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : String(x)
    }
}

/// `{"name", "source"}`; a missing name becomes `formula`.
public struct FormulaDocument: Sendable, Hashable, Codable {
    public var name: String?
    public var source: String

    public init(name: String?, source: String) {
        self.name = name
        self.source = source
    }
}

/// `{"symbols", "markets", "sectors", "min_market_cap", "max_market_cap", "exclude"}`, every field optional.
public struct CriteriaDocument: Sendable, Hashable, Codable {
    public var symbols: [String]?
    public var markets: [String]?
    public var sectors: [String]?
    public var minMarketCap: Double?
    public var maxMarketCap: Double?
    public var exclude: [String]?

    enum CodingKeys: String, CodingKey {
        case symbols, markets, sectors
        case minMarketCap = "min_market_cap"
        case maxMarketCap = "max_market_cap"
        case exclude
    }

    public init(
        symbols: [String]? = nil,
        markets: [String]? = nil,
        sectors: [String]? = nil,
        minMarketCap: Double? = nil,
        maxMarketCap: Double? = nil,
        exclude: [String]? = nil
    ) {
        self.symbols = symbols
        self.markets = markets
        self.sectors = sectors
        self.minMarketCap = minMarketCap
        self.maxMarketCap = maxMarketCap
        self.exclude = exclude
    }
}

/// `{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}` (checked by ``ScanRequestDocument/validated()``).
public struct DateRangeDocument: Sendable, Hashable, Codable {
    public var from: String
    public var to: String

    public init(from: String, to: String) {
        self.from = from
        self.to = to
    }
}

/// A parameter value on the wire: a JSON number or boolean.
public struct ParameterDocument: Sendable, Hashable, Codable {
    public var value: ParameterValue

    public init(_ value: ParameterValue) { self.value = value }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) {
            value = .bool(b)
        } else if let d = try? c.decode(Double.self) {
            value = .number(d)
        } else {
            throw DecodingError.typeMismatch(
                ParameterDocument.self,
                DecodingError.Context(codingPath: decoder.codingPath, debugDescription: "a number or a boolean")
            )
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch value {
        case .number(let d): try c.encode(d)
        case .bool(let b): try c.encode(b)
        }
    }
}
