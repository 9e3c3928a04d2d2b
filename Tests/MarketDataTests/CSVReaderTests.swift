import MarketData
import Testing

@Suite("CSV reader")
struct CSVReaderTests {
    @Test("records keep the line they start on across quoted line breaks and blank lines")
    func lines() throws {
        let dir = try TempDir()
        let path = try dir.write("a.csv", "\u{FEFF}a,b\r\n\"x\ny\",2\r\n\r\n\"q\"\"q\",\n3,\"tail")
        let r = try CSVReader(path: path)
        var got: [(Int, [String])] = []
        var malformations: [String?] = []
        while try r.next() {
            got.append((r.line, (0..<r.fieldCount).map(r.string)))
            malformations.append(r.malformation)
        }
        #expect(got.map(\.0) == [1, 2, 5, 6])
        #expect(got.map(\.1) == [["a", "b"], ["x\ny", "2"], ["q\"q", ""], ["3", "tail"]])
        #expect(malformations == [nil, nil, nil, "unterminated quoted field"])
    }

    @Test("numbers parse exactly like Double(String)")
    func numbers() throws {
        let dir = try TempDir()
        let values = ["0", "18.637", "-4.5", "123456789012345", "1e6", "0.1", "3.14159265358979", "1234567.891", "12."]
        let path = try dir.write("n.csv", values.joined(separator: ",") + ",abc,,.,-\n")
        let r = try CSVReader(path: path)
        #expect(try r.next())
        for (i, v) in values.enumerated() { #expect(r.double(i) == Double(v), "\(v)") }
        #expect(r.double(values.count) == nil)
        #expect(r.double(values.count + 1) == nil)
        #expect(r.double(values.count + 2) == nil)
        #expect(r.double(values.count + 3) == nil)
    }
}
