// libFuzzer target: the CSV reader and the field parsers the importers apply to every row
// (numbers, dates and timestamps). Built by scripts/fuzz.sh with MarketData's CSVReader and
// MarketDataError sources and the ScanCore sources.
import Glibc
import MarketData
import ScanCore

/// One unlinked temporary file the reader opens by its /proc path, rewritten for each input.
let fuzzFile: Int32 = {
    // tmpfs when there is one: rewriting a disk file for every input costs more than the parse.
    let dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
    let path = "\(dir)/csv-fuzz-\(getpid())"
    let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
    unlink(path)
    return fd
}()

/// The input is a whole file. Every record is read; every field is read as text, as a number and as
/// a date or timestamp. A number the reader's fast path accepts must equal what Swift's own parser
/// makes of the same text.
@_cdecl("LLVMFuzzerTestOneInput")
public func csvFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard fuzzFile >= 0, ftruncate(fuzzFile, 0) == 0, pwrite(fuzzFile, data, size, 0) == size else {
        fatalError("the temporary file is unavailable")
    }
    // A small chunk size so records straddle buffer refills.
    guard let reader = try? CSVReader(path: "/proc/self/fd/\(fuzzFile)", chunkSize: 4_096) else {
        fatalError("could not open the temporary file")
    }
    var lastLine = 0
    do {
        while try reader.next() {
            guard reader.line > lastLine || reader.line == 1 else {
                fatalError("record line \(reader.line) does not follow \(lastLine)")
            }
            lastLine = reader.line
            for i in 0..<reader.fieldCount {
                let text = reader.string(i)
                if let v = reader.double(i) {
                    guard v.isFinite else { fatalError("a non-finite number from '\(text)'") }
                    if let swift = Double(text), swift != v {
                        fatalError("'\(text)' read as \(v), Swift parses \(swift)")
                    }
                }
                _ = reader.isBlank(i)
                if let stamp = BarTimestamp(parsing: text) {
                    _ = stamp.description
                }
                _ = CalendarDay(text)
            }
        }
    } catch {
        return 0
    }
    guard reader.bytesRead <= Int64(size) else { fatalError("read \(reader.bytesRead) of \(size) bytes") }
    return 0
}
