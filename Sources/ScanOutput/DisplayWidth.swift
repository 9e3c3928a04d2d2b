/// Terminal column widths of text: East Asian wide and fullwidth characters (Hangul, CJK, kana,
/// fullwidth forms, most emoji) take two columns, combining marks and zero-width characters none.
public enum DisplayWidth {
    /// Columns `text` takes in a terminal.
    public static func of(_ text: some StringProtocol) -> Int {
        var width = 0
        for scalar in text.unicodeScalars { width += of(scalar) }
        return width
    }

    /// Columns one scalar takes: 0, 1 or 2.
    public static func of(_ scalar: Unicode.Scalar) -> Int {
        let v = scalar.value
        if v == 0 || (0x0300...0x036F).contains(v) || (0x200B...0x200F).contains(v) || v == 0xFE0F
            || (0x1160...0x11FF).contains(v)  // Hangul Jamo medial vowels and finals combine
        {
            return 0
        }
        if v < 0x1100 { return 1 }
        switch v {
        case 0x1100...0x115F,  // Hangul Jamo initials
            0x2E80...0x303E, 0x3041...0x33FF,  // CJK radicals, punctuation, kana, compatibility
            0x3400...0x4DBF, 0x4E00...0x9FFF,  // CJK ideographs
            0xA000...0xA4CF,  // Yi
            0xA960...0xA97F,  // Hangul Jamo extended-A
            0xAC00...0xD7A3,  // Hangul syllables
            0xF900...0xFAFF,  // CJK compatibility ideographs
            0xFE30...0xFE4F,  // CJK compatibility forms
            0xFF00...0xFF60, 0xFFE0...0xFFE6,  // fullwidth forms
            0x1F300...0x1F64F, 0x1F900...0x1F9FF,  // emoji
            0x20000...0x3FFFD:  // CJK extensions
            return 2
        default:
            return 1
        }
    }

    /// `text` padded with spaces to `width` columns (left- or right-aligned); never cut.
    public static func pad(_ text: String, to width: Int, rightAligned: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - of(text)))
        return rightAligned ? fill + text : text + fill
    }

    /// `text` cut to at most `width` columns, ending in `…` when cut.
    public static func truncate(_ text: String, to width: Int) -> String {
        guard of(text) > width, width > 0 else { return text }
        var out = ""
        var used = 0
        for ch in text {
            let w = of(String(ch))
            if used + w > width - 1 { break }
            out.append(ch)
            used += w
        }
        return out + "…"
    }

    /// Rows under a header, each column padded to its widest cell (display width), two spaces apart.
    static func table(_ header: [String], _ rows: [[String]], rightAligned: Set<Int> = []) -> String {
        let widths = header.indices.map { i in
            ([header[i]] + rows.map { i < $0.count ? $0[i] : "" }).map { of($0) }.max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            cells.indices.map { i in
                pad(cells[i], to: i < widths.count ? widths[i] : 0, rightAligned: rightAligned.contains(i))
            }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}
