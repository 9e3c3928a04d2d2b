/// "Did you mean" hints by edit distance.
enum Suggestion {
    /// The closest candidate within a small edit distance (1, or 2 for names of 5+ characters).
    static func closest(to word: String, in candidates: [String]) -> String? {
        let limit = min(word.count >= 5 ? 2 : 1, word.count - 1)
        guard limit >= 1, word.count <= 64 else { return nil }
        var best: (String, Int)?
        for candidate in candidates where candidate != word {
            let d = distance(Array(word.utf8), Array(candidate.utf8))
            if d <= limit, d < (best?.1 ?? Int.max) { best = (candidate, d) }
        }
        return best?.0
    }

    /// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
    static func distance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous2 = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var d = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d = min(d, previous2[j - 2] + 1) }
                current[j] = d
            }
            (previous2, previous, current) = (previous, current, previous2)
        }
        return previous[b.count]
    }
}
