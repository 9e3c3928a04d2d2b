extension Operation {
    /// The price columns the operation reads.
    var priceReads: [PriceField] {
        func p(_ s: NumericSeries) -> [PriceField] { if case .price(let f) = s { [f] } else { [] } }
        func p(_ o: NumericOperand) -> [PriceField] { if case .series(let s) = o { p(s) } else { [] } }
        switch self {
        case .fillNumber, .fillBoolean, .booleanEqual, .logic, .not, .historyBoolean, .barssince, .selectBoolean,
            .choose, .smaAtChosen:
            return []
        case .smas(let jobs): return jobs.map(\.field)
        case .atChosen(let operation, _): return operation.priceReads
        case .arithmetic(_, let a, let b, _), .compare(_, let a, let b, _): return p(a) + p(b)
        case .unary(_, let a, _), .historyNumber(let a, _, _), .rising(_, let a, _, _): return p(a)
        case .cross(_, let a, let b, _), .selectNumber(_, let a, let b, _): return p(a) + p(b)
        case .indicator(_, let inputs, _), .chosenIndicator(_, let inputs, _, _): return inputs.flatMap(p)
        }
    }
}

extension Program {
    /// Every price column the program reads, its columns included.
    var priceFields: PriceFields {
        var fields: PriceFields = []
        for field in operations.flatMap(\.priceReads) + columns.flatMap(priceReads) {
            fields.insert(PriceFields(field))
        }
        return fields
    }

    private func priceReads(_ o: NumericOperand) -> [PriceField] {
        if case .series(.price(let f)) = o { [f] } else { [] }
    }
}

extension PriceFields {
    init(_ field: PriceField) {
        switch field {
        case .open: self = .open
        case .high: self = .high
        case .low: self = .low
        case .close: self = .close
        case .volume: self = .volume
        }
    }
}
