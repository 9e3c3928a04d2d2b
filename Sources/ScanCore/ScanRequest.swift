import FormulaEngine
import Foundation

/// Which symbols a scan covers.
///
/// An explicit `symbols` list wins; otherwise the ``SymbolRepository`` resolves by market, sector and
/// market cap (no criteria at all means every active symbol). `exclude` applies last. An explicit
/// symbol the store does not know is reported as that symbol's error, never silently dropped.
public struct SymbolCriteria: Sendable, Hashable, Codable {
    public var symbols: [String]?
    public var markets: [String]?
    public var sectors: [String]?
    public var minMarketCap: Double?
    public var maxMarketCap: Double?
    public var exclude: [String]

    public init(
        symbols: [String]? = nil,
        markets: [String]? = nil,
        sectors: [String]? = nil,
        minMarketCap: Double? = nil,
        maxMarketCap: Double? = nil,
        exclude: [String] = []
    ) {
        self.symbols = symbols
        self.markets = markets
        self.sectors = sectors
        self.minMarketCap = minMarketCap
        self.maxMarketCap = maxMarketCap
        self.exclude = exclude
    }

    /// Every active symbol.
    public static let all = SymbolCriteria()
}

/// An inclusive range of session dates.
public struct DateRange: Sendable, Hashable, Codable, CustomStringConvertible {
    public var from: CalendarDay
    public var to: CalendarDay

    public init(from: CalendarDay, to: CalendarDay) {
        self.from = from
        self.to = to
    }

    public func contains(_ day: CalendarDay) -> Bool { from <= day && day <= to }

    public var description: String { "\(from)…\(to)" }

    /// How many days before `to` a range starts when no `from` is given: the last year of data.
    public static let defaultLength = 365

    /// The one date-range rule (DESIGN §2): the bounds given, `to` defaulting to `newest` (the newest
    /// stored session of the timeframe, or today when that is unknown or the store holds none) and
    /// `from` to ``defaultLength`` days before `to`.
    /// - Throws: ``ScanError/invalidDateRange(_:)`` when `from` comes after `to`.
    public static func resolving(
        from: CalendarDay?,
        to: CalendarDay?,
        newest: CalendarDay?
    ) throws(ScanError) -> DateRange {
        let to = to ?? newest ?? CalendarDay(epochSeconds: Int64(Date().timeIntervalSince1970))
        let range = DateRange(from: from ?? to.adding(days: -defaultLength), to: to)
        guard range.from <= range.to else { throw .invalidDateRange(range) }
        return range
    }
}

/// A trader's formula: a name and its source text (DESIGN §3).
public struct Formula: Sendable, Hashable, Codable {
    public var name: String
    public var source: String

    public init(name: String, source: String) {
        self.name = name
        self.source = source
    }
}

/// Parameter values that override a formula's `input` defaults by name.
public typealias ParameterValue = FormulaValue

/// `range`: every bar in the range where a signal fires; `latest`: only each symbol's last bar in the range.
public enum ScanMode: String, Sendable, Hashable, Codable, CaseIterable {
    case range
    case latest
}

/// What a trader asks for.
public struct BatchScanRequest: Sendable, Hashable, Codable {
    public var symbolCriteria: SymbolCriteria
    public var timeframe: Timeframe
    /// `nil` means the last year of data (365 days up to the newest stored bar of the timeframe).
    public var dateRange: DateRange?
    public var formula: Formula
    public var parameters: [String: ParameterValue]
    public var mode: ScanMode
    /// The event study to run on the matches (`nil`: none).
    public var study: StudySpec?
    /// Whether to compute the condition funnel of each signal.
    public var explain: Bool

    public init(
        symbolCriteria: SymbolCriteria = .all,
        timeframe: Timeframe = .daily,
        dateRange: DateRange? = nil,
        formula: Formula,
        parameters: [String: ParameterValue] = [:],
        mode: ScanMode = .range,
        study: StudySpec? = nil,
        explain: Bool = false
    ) {
        self.symbolCriteria = symbolCriteria
        self.timeframe = timeframe
        self.dateRange = dateRange
        self.formula = formula
        self.parameters = parameters
        self.mode = mode
        self.study = study
        self.explain = explain
    }

    enum CodingKeys: String, CodingKey {
        case symbolCriteria, timeframe, dateRange, formula, parameters, mode, study, explain
    }

    /// Decodes requests stored before `study` and `explain` existed as well.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        symbolCriteria = try c.decode(SymbolCriteria.self, forKey: .symbolCriteria)
        timeframe = try c.decode(Timeframe.self, forKey: .timeframe)
        dateRange = try c.decodeIfPresent(DateRange.self, forKey: .dateRange)
        formula = try c.decode(Formula.self, forKey: .formula)
        parameters = try c.decode([String: ParameterValue].self, forKey: .parameters)
        mode = try c.decode(ScanMode.self, forKey: .mode)
        study = try c.decodeIfPresent(StudySpec.self, forKey: .study)
        explain = try c.decodeIfPresent(Bool.self, forKey: .explain) ?? false
    }
}
