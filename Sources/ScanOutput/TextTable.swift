/// Rows of cells as aligned text columns (by display width, so Korean text lines up).
public enum TextTable {
    /// The header and rows, two spaces between columns; the columns in `rightAligned` are right-aligned.
    public static func render(header: [String], rows: [[String]], rightAligned: Set<Int> = []) -> String {
        let widths = header.indices.map { i in
            ([header[i]] + rows.map { $0[i] }).map { DisplayWidth.of($0) }.max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            var text = ""
            for i in cells.indices {
                if i > 0 { text += "  " }
                text += DisplayWidth.pad(cells[i], to: widths[i], rightAligned: rightAligned.contains(i))
            }
            return text.trimmingCharacters(in: .whitespaces)
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}
